"""htmlrewrite: attributes changed in place, every other byte kept, tags found as browsers find them."""

from __future__ import annotations

import random

import pytest
from selectolax.lexbor import LexborHTMLParser

from newsmirror.htmlrewrite import (
    count_attributes,
    format_srcset,
    iter_attributes,
    iter_start_tags,
    iter_tags,
    parse_srcset,
    quote_attribute,
    rewrite_attributes,
)


def found(html: str) -> list[tuple[str, str, str]]:
    return [(a.tag, a.name, a.value) for a in iter_attributes(html)]


# -- rewriting --------------------------------------------------------------------------


def upper_href(tag: str, name: str, value: str) -> str | None:
    return value.upper() if name == "href" else value


def test_only_the_rewritten_attribute_changes() -> None:
    html = "<P CLASS=x>text <a  title='t'  href=/a/b >link</a>\n<!-- <a href=/c> --></P>"
    assert rewrite_attributes(html, upper_href) == (
        "<P CLASS=x>text <a  title='t'  href=\"/A/B\" >link</a>\n<!-- <a href=/c> --></P>"
    )


def test_nothing_to_rewrite_returns_the_same_string() -> None:
    html = '<p><a href="/x">x</a></p>'
    assert rewrite_attributes(html, lambda tag, name, value: value) is html


def test_a_rewritten_attribute_keeps_its_name_as_written() -> None:
    assert rewrite_attributes('<a HREF="/u">', upper_href) == '<a HREF="/U">'


def test_values_are_escaped_for_double_quotes() -> None:
    assert quote_attribute("title", 'a "b" & c') == 'title="a &quot;b&quot; &amp; c"'
    assert quote_attribute("href", "/?q=<script>") == 'href="/?q=&lt;script&gt;"'
    html = "<a href='x'>"
    assert rewrite_attributes(html, lambda t, n, v: 'say "&"') == '<a href="say &quot;&amp;&quot;">'


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a x="1" href="/y">', '<a href="/y">'),
        ('<a href="/y" x="1">', '<a href="/y">'),
        ('<a x="1"href="/y">', '<a href="/y">'),
        ('<a href="/y"x="1"title=t>', '<a href="/y" title=t>'),
        ("<a x=1/>", "<a>"),  # the unquoted value was "1/"
        ("<a x=1 />", "<a />"),
        ("<a\n  x=1\n  href=/y>", "<a\n  href=/y>"),
    ],
)
def test_dropping_an_attribute_keeps_its_neighbours_apart(html: str, expected: str) -> None:
    assert rewrite_attributes(html, lambda t, n, v: None if n == "x" else v) == expected


def test_only_the_given_tags_are_rewritten() -> None:
    html = '<a href="/a"><img src="/i"></a>'
    rewritten = rewrite_attributes(html, lambda t, n, v: v + "!", tags={"img"})
    assert rewritten == '<a href="/a"><img src="/i!"></a>'


# -- what is a tag, and what is not -------------------------------------------------------

TOKENIZATION = [
    # comments, as the HTML Standard ends them
    ("<!-- <a href=/in> --><a href=/out>", [("a", "href", "/out")]),
    ("<!--> <a href=/after-empty-comment>", [("a", "href", "/after-empty-comment")]),
    ("<!---> <a href=/after-empty-comment>", [("a", "href", "/after-empty-comment")]),
    ("<!-- x --!><a href=/after-bang>", [("a", "href", "/after-bang")]),
    ("<!-- x -- ><a href=/still-inside>", []),
    ("<!-- never closed <a href=/x>", []),
    # bogus comments: declarations, processing instructions, CDATA outside SVG
    ("<![if !supportLists]><a href=/w><![endif]>", [("a", "href", "/w")]),
    ("<![CDATA[ <a href=/in-cdata ]]><a href=/x>", [("a", "href", "/x")]),
    ("<![foo[ <a href=/x>", []),
    ("<![ <a href=/x>", []),
    ("<?php echo 1 ?><a href=/x>", [("a", "href", "/x")]),
    ("<!DOCTYPE html><a href=/x>", [("a", "href", "/x")]),
    ("</ a href=/bogus><a href=/x>", [("a", "href", "/x")]),
    ("</a href='>'><a href=/x>", [("a", "href", "/x")]),
    # raw text and RCDATA
    ("<textarea><a href=/t></textarea><a href=/x>", [("a", "href", "/x")]),
    ("<title><a href=/t></TITLE ><a href=/x>", [("a", "href", "/x")]),
    ("<noscript><a href=/n></noscript><a href=/x>", [("a", "href", "/x")]),
    ("<xmp><a href=/t></xmp/><a href=/x>", [("a", "href", "/x")]),
    ("<script/><a href=/t></script><a href=/x>", [("a", "href", "/x")]),
    ("<script></scriptx><a href=/t></script><a href=/x>", [("a", "href", "/x")]),
    ("<script></\u017fcript><a href=/t>", []),
    ("<style>x</style\n><a href=/x>", [("a", "href", "/x")]),
    ("<plaintext></plaintext><a href=/p>", []),
    # the end of the input inside a tag: no tag
    ("<a href=/x", []),
    ('<a href="/x>', []),
    ("<a href='/x>", []),
    ("<a href=/x ", []),
    # attribute syntax
    ('<img """><a href="/y">', [("img", '"""', ""), ("a", "href", "/y")]),
    ("<a =x href=/k>", [("a", "=x", ""), ("a", "href", "/k")]),
    ("<a/href=/s>", [("a", "href", "/s")]),
    ("<a href=/x/>", [("a", "href", "/x/")]),
    ("<a href=>b", [("a", "href", "")]),
    ("<a href = '/q' >", [("a", "href", "/q")]),
    ("<a title=\">\" href=/w>", [("a", "title", ">"), ("a", "href", "/w")]),
    ('<a x="y"z=1>', [("a", "x", "y"), ("a", "z", "1")]),
    ("<A HREF=/X>", [("a", "href", "/X")]),
    ("a < b <3 <> <a href=/x>", [("a", "href", "/x")]),
]  # fmt: skip


@pytest.mark.parametrize(("html", "expected"), TOKENIZATION)
def test_tags_are_found_as_a_browser_finds_them(
    html: str, expected: list[tuple[str, str, str]]
) -> None:
    assert found(html) == expected


def test_the_name_case_only_folds_in_ascii() -> None:
    # "İ".lower() would add a combining dot, and "K" (Kelvin) would become "k".
    assert [tag.name for tag in iter_start_tags("<A\u0130=1>")] == ["a\u0130=1"]
    tags = list(iter_start_tags("<DIV \u0130D=1 K\u212a=2>"))
    assert [(a.name, a.value) for a in tags[0].attributes] == [("\u0130d", "1"), ("k\u212a", "2")]


def test_start_tags_carry_their_span() -> None:
    html = 'x<p class="a">y<br/>'
    tags = list(iter_start_tags(html))
    assert [(t.name, html[t.start : t.end]) for t in tags] == [
        ("p", '<p class="a">'),
        ("br", "<br/>"),
    ]
    assert html[tags[0].attributes[0].start : tags[0].attributes[0].end] == 'class="a"'


def test_count_attributes() -> None:
    html = '<p>x<a href="/a" title=t>y</a><br><img src=i alt>'
    assert list(count_attributes(html)) == [("p", 0), ("a", 2), ("br", 0), ("img", 2)]


def test_iter_tags_lists_what_iter_start_tags_finds() -> None:
    html = '<p>x<a href="/a?b=1&amp;c" title=t>y</a><img src=i alt><br>'
    assert list(iter_tags(html)) == [
        (tag.name, [(a.name, a.value) for a in tag.attributes]) for tag in iter_start_tags(html)
    ]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("/a?x=1&amp;y=2", "/a?x=1&y=2"),
        ("/a?x=1&region=2", "/a?x=1&region=2"),  # "&reg" + letter: not a reference here
        ("/a?x=1&copy=2", "/a?x=1&copy=2"),  # "&copy" + "=": not a reference here
        ("&copy 2020", "\u00a9 2020"),
        ("&copy", "\u00a9"),
        ("&copy;2020", "\u00a92020"),
        ("&#106;&#x61;&#X76", "jav"),
        ("&#0;", "\ufffd"),
        ("&notit;", "&notit;"),  # the Standard's own example: decoded in text only
        ("&unknown;", "&unknown;"),
    ],
)
def test_character_references_in_attributes_follow_the_attribute_rules(
    raw: str, value: str
) -> None:
    assert found(f'<a href="{raw}">') == [("a", "href", value)]


def test_a_url_with_a_legacy_entity_name_survives_a_rewrite() -> None:
    html = '<a href="/s?q=1&region=eu">x</a>'
    rewritten = rewrite_attributes(html, lambda t, n, v: "https://e.example" + v)
    assert rewritten == '<a href="https://e.example/s?q=1&amp;region=eu">x</a>'


def test_pathological_input_is_scanned_in_linear_time() -> None:
    # Each of these used to be quadratic for a regex-driven search.
    for html in ("<!--" * 20_000, '<a x="' * 20_000, "<a" * 30_000, "<!x" * 20_000):
        assert found(html) == []
    (tag,) = iter_start_tags("<a " + "x " * 50_000 + ">")
    assert len(tag.attributes) == 50_000


def test_the_tokenizer_agrees_with_a_browser_engine() -> None:
    """Random tag soup: the attributes found are the ones Lexbor puts on elements."""
    pieces = [
        "<", ">", '"', "'", "=", " ", "/", "!", "-", "?", "img", "span", "x", "y", "&amp;",
        "&copy", "&copy=", "\n", "<!--", "-->", "--!>", "<textarea>", "</textarea>",
        "<title>", "</title>", "<img ", "<span ", "</span>", "<xmp>", "</xmp >",
        "<![CDATA[", "]]>", "<!x", "</ ", "\t", "src", "=a", "1",
    ]  # fmt: skip
    generator = random.Random(20240715)
    checked = 0
    for _ in range(3_000):
        html = "".join(generator.choice(pieces) for _ in range(generator.randint(1, 30)))
        ours = []
        for tag in iter_start_tags(html):
            if tag.name in ("img", "span"):
                first: dict[str, str] = {}
                for attribute in tag.attributes:
                    first.setdefault(attribute.name, attribute.value)
                ours.append((tag.name, sorted(first.items())))
        tree = LexborHTMLParser(html, scripting=True)
        assert tree.root is not None
        theirs = [
            (node.tag, sorted((k, v or "") for k, v in node.attributes.items()))
            for node in tree.root.traverse()
            if node.tag in ("img", "span")
        ]
        assert ours == theirs, html
        checked += len(ours)
    assert checked > 500


# -- srcset ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("srcset", "candidates"),
    [
        ("a.jpg 1x, b.jpg 2x", [("a.jpg", "1x"), ("b.jpg", "2x")]),
        ("a.jpg, b.jpg 2x", [("a.jpg", ""), ("b.jpg", "2x")]),
        ("a.jpg,b.jpg 2x", [("a.jpg,b.jpg", "2x")]),  # a comma inside a URL is the URL's
        ("  a.jpg  480w ,\n b.jpg 800w  ", [("a.jpg", "480w"), ("b.jpg", "800w")]),
        ("data:image/png;base64,AAA= 1x", [("data:image/png;base64,AAA=", "1x")]),
        ("图片\u3000一.jpg 1x", [("图片\u3000一.jpg", "1x")]),  # U+3000 is not a separator
        ("a.jpg\u00a0b.jpg", [("a.jpg\u00a0b.jpg", "")]),
        (",,, ", []),
        ("", []),
    ],
)
def test_parse_srcset(srcset: str, candidates: list[tuple[str, str]]) -> None:
    assert parse_srcset(srcset) == candidates


def test_format_srcset() -> None:
    assert format_srcset([("a.jpg", "1x"), ("b.jpg", "")]) == "a.jpg 1x, b.jpg"
