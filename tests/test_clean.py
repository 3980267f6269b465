"""clean: hostile HTML comes out safe, benign HTML comes out byte for byte.

The hostile corpus is ``tests/hostile/<case>.in.html``, each with its golden
``<case>.out.html``. Besides the golden comparison, every output is parsed with
a WHATWG parser (selectolax/Lexbor) inside a page and its tree walked against
rules written here independently of clean's allow-lists. To re-write the
goldens after a deliberate change: ``NEWSMIRROR_UPDATE_GOLDEN=1 pytest
tests/test_clean.py``, then read the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selectolax.lexbor import LexborHTMLParser

from newsmirror.clean import (
    DEFAULT_IFRAME_HOSTS,
    MAX_TAGS,
    Cleaned,
    clean_html,
    safe_style,
    url_scheme,
)
from newsmirror.htmlrewrite import parse_srcset

HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = sorted(HOSTILE.glob("*.in.html"))
BASE_URL = "https://news.example/world/2024/article.html"
UPDATE_GOLDEN = os.environ.get("NEWSMIRROR_UPDATE_GOLDEN") == "1"
SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

# -- what safe output is, written independently of clean's allow-lists ----------------

FORBIDDEN_ELEMENTS = {
    "script", "style", "object", "embed", "applet", "param", "form", "input", "button",
    "select", "option", "textarea", "meta", "base", "link", "svg", "math", "noscript",
    "template", "frame", "frameset", "xmp", "plaintext", "noembed", "noframes", "title",
    "isindex", "keygen", "marquee", "image", "animate", "foreignobject", "mglyph",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "poster", "cite", "action", "formaction", "data", "background",
    "ping", "longdesc", "xlink:href", "codebase", "lowsrc", "dynsrc",
}  # fmt: skip
DANGEROUS_SCHEMES = {"javascript", "vbscript", "data", "file", "blob", "filesystem"}
RASTER = ("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp")


def browser_scheme(url: str) -> str:
    """The scheme as the URL Standard reads it, written without clean's helpers."""
    url = url.strip("".join(map(chr, range(33))))
    url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return match.group(1).lower() if match else ""


def assert_safe(html: str, *, substrings: bool = True) -> None:
    """``html`` parsed in a page holds nothing that runs, loads code or leaves the article.

    ``substrings``: also look for "<script", "javascript:" and "on...=" in the
    bytes, for inputs with no such text in them.
    """
    tree = LexborHTMLParser(f"<div>{html}</div><p id=after>after</p>", scripting=True)
    assert tree.root is not None and tree.body is not None
    assert not tree.root.attributes and not tree.body.attributes
    after = tree.css_first("p#after")
    assert after is not None and after.parent is not None and after.parent.tag == "body", (
        "the article leaks out of its container"
    )
    for node in tree.root.traverse():
        if node.is_comment_node:
            comment = node.comment_content or ""
            assert "<" not in comment and "--" not in comment, f"comment {comment!r}"
            continue
        tag = (node.tag or "").lower()
        assert tag not in FORBIDDEN_ELEMENTS, f"<{tag}> in {html!r}"
        for name, value in node.attributes.items():
            value = value or ""
            assert not name.startswith("on"), f"{name} on <{tag}>"
            assert name not in {"srcdoc", "formaction", "action", "xlink:href", "ping"}, name
            assert not name.startswith("data-"), name
            if name == "style":
                css = value.lower()
                for word in ("expression", "url(", "behavior", "binding", "javascript", "\\"):
                    assert word not in css, f"{word} in style {value!r}"
                assert "position" not in css, value
            if name in URL_ATTRIBUTES:
                scheme = browser_scheme(value)
                if (tag, name) == ("img", "src") and value.lower().startswith(RASTER):
                    continue
                assert scheme not in DANGEROUS_SCHEMES, f"{scheme}: in {name} of <{tag}>"
            if name == "srcset":
                for url, _ in parse_srcset(value):
                    assert browser_scheme(url) not in DANGEROUS_SCHEMES, f"{url} in srcset"
            if name == "rel":
                assert "opener" not in value.lower().split(), value
        if tag == "iframe":
            source = urlsplit(node.attributes.get("src") or "")
            assert source.scheme == "https", source
            assert source.netloc in DEFAULT_IFRAME_HOSTS, source
    if not substrings:
        return
    lowered = html.lower()
    # Substring checks too: the bytes go into Markdown files read by other parsers.
    assert "<script" not in lowered
    assert "javascript:" not in lowered and "vbscript:" not in lowered
    assert re.search(r"[\s/\"'](on\w+)\s*=", lowered) is None, lowered


# -- the hostile corpus -----------------------------------------------------------------


def golden_path(case: Path) -> Path:
    return case.with_name(case.name.removesuffix(".in.html") + ".out.html")


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def test_the_hostile_corpus_is_large_and_complete() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert golden_path(case).exists() or UPDATE_GOLDEN, f"no golden for {case.name}"
    goldens = set(HOSTILE.glob("*.out.html"))
    assert goldens <= {golden_path(case) for case in CASES}, "a golden without its case"


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.name.removesuffix(".in.html"))
def test_hostile_case(case: Path) -> None:
    hostile = read(case)
    cleaned = clean_html(hostile, base_url=BASE_URL)
    golden = golden_path(case)
    if UPDATE_GOLDEN:
        golden.write_bytes(cleaned.html.encode("utf-8"))
    assert cleaned.html == read(golden)
    assert_safe(cleaned.html)
    assert cleaned.changed and cleaned.removed, "something hostile went unreported"
    # Cleaning is idempotent: clean output is benign, so it stays byte for byte.
    again = clean_html(cleaned.html, base_url=BASE_URL)
    assert again == Cleaned(cleaned.html, ())


# -- benign HTML: byte for byte --------------------------------------------------------

BENIGN = [
    '<p>台湾外长吴钊燮(中)与美国在台协会台北办事处处长<a href="https://example.com/a?x=1&amp;y=2">链接</a></p>',
    "<P>Upper-case tags, <B>bold</B>, a line<BR>break and <br/> another</P>",
    "<p class=lead id=top>unquoted attributes, <img src=https://example.com/a.jpg width=100% alt=''>",
    "<p title='single quotes'>&nbsp;entities: &copy; &#169; &#xA9; &mdash; &lt;tag&gt; a & b</p>",
    "<p>paragraphs<p>without end tags<ul><li>one<li>two</ul>",
    "<table border=1><tr><th>head<td>cell<tr><td colspan=2>wide</table>",
    "<!-- more --><p>a comment kept</p><!--[if !supportLists]-->Word's<!--[endif]-->",
    '<figure><picture><source srcset="https://example.com/a.webp 1x, https://example.com/a@2x.webp 2x" type="image/webp"><img src="https://example.com/a.jpg" alt=""></picture><figcaption>说明</figcaption></figure>',
    '<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>',
    '<video controls poster="https://example.com/p.jpg" width="640"><source src="https://example.com/v.mp4" type="video/mp4"><track src="https://example.com/v.vtt" kind="subtitles" srclang="zh"></video>',
    '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==" alt="pixel">',
    "<p><ruby>漢<rp>(</rp><rt>hàn</rt><rp>)</rp></ruby> <font color=red size=4>旧式</font><center>居中</center></p>",
    '<div><small style="color: #999;">图片说明</small> <span style="font-weight:bold; color: rgb(153, 0, 0)">red</span></div>',
    '<p><span aria-hidden="true" role="presentation">★</span><a href="#fn1" id="ref1">[1]</a></p><ol><li id="fn1">note</li></ol>',
    '<details open><summary>More</summary><blockquote cite="https://example.com/q"><q>quote</q></blockquote></details>',
    '<p lang="en" dir="ltr"><time datetime="2020-07-15T21:40:09Z">July</time> <abbr title="Global Cooperation and Training Framework">GCTF</abbr> <mark>x</mark><sub>2</sub><sup>3</sup></p>',
    "<p>Windows line ends\r\n<br>\r\nkept</p>\r\n",
    '<a href="https://example.com/" target="_blank" rel="noopener nofollow">new tab</a> <a href="mailto:news@example.com">mail</a> <a href="tel:+86-10-1234">call</a>',
    '<hr/><img src="https://example.com/a.png" /><p>self-closing void elements</p>',
    "<pre><code>if (a &lt; b) { return; }\n  indented</code></pre>",
    "<p>A < B and C > D in text</p>",
]


@pytest.mark.parametrize("html", BENIGN)
def test_benign_html_is_kept_byte_for_byte(html: str) -> None:
    cleaned = clean_html(html, base_url=BASE_URL)
    assert cleaned.html == html
    assert cleaned.removed == ()
    assert not cleaned.changed


def test_text_without_markup_is_returned_as_it_is() -> None:
    text = "纯文本，没有标签 & no markup"
    assert clean_html(text, base_url=None) == Cleaned(text, ())


def seed_content(name: str) -> tuple[str, str]:
    """(the article URL, the content) of a seed: what follows its header."""
    if not SEEDS.exists():
        pytest.skip(f"{SEEDS} not present (../shared sits beside the checkout in CI only)")
    text = (SEEDS / name).read_text(encoding="utf-8")
    header, _, body = text.partition("------\n\n")
    url = re.findall(r"\]\((https?://[^)]+)\)", header)[-1]
    if body.startswith("<div>\n"):
        body = body[len("<div>\n") : -len("\n</div>\n")]
    return url, body


@pytest.mark.parametrize("name", ["000_0cb905bc6b557fb5.txt", "004_4f5272d95a507ae4.txt"])
def test_seed_content_comes_out_byte_for_byte(name: str) -> None:
    url, content = seed_content(name)
    cleaned = clean_html(content, base_url=url)
    assert cleaned == Cleaned(content, ())


def test_seed_004_keeps_its_inline_style_and_proxied_image() -> None:
    url, content = seed_content("004_4f5272d95a507ae4.txt")
    assert '<small style="color: #999;">' in content
    cleaned = clean_html(content, base_url=url)
    assert '<small style="color: #999;">' in cleaned.html
    assert '<img src="https://images.weserv.nl?url=gdb.voanews.com/' in cleaned.html


# -- URLs made absolute -----------------------------------------------------------------

ABSOLUTIZED = [
    ('<a href="/a/1.html">x</a>', '<a href="https://news.example/a/1.html">x</a>'),
    ("<a HREF='next.html' title=t>x</a>", '<a HREF="https://news.example/world/2024/next.html" title=t>x</a>'),
    ('<img src="../img/a.jpg" alt="a">', '<img src="https://news.example/world/img/a.jpg" alt="a">'),
    ("<img src=a.jpg srcset='a.jpg 1x,/b.jpg 2x'>",
     '<img src="https://news.example/world/2024/a.jpg" srcset="https://news.example/world/2024/a.jpg 1x, https://news.example/b.jpg 2x">'),
    ('<video poster="p.jpg"><source src="v.mp4" type="video/mp4"></video>',
     '<video poster="https://news.example/world/2024/p.jpg"><source src="https://news.example/world/2024/v.mp4" type="video/mp4"></video>'),
    ('<blockquote cite="/source">q</blockquote>', '<blockquote cite="https://news.example/source">q</blockquote>'),
    ('<a href="//cdn.example/x">x</a>', '<a href="https://cdn.example/x">x</a>'),
    ('<a href="?page=2">x</a>', '<a href="https://news.example/world/2024/article.html?page=2">x</a>'),
    ('<img src="  /padded.jpg ">', '<img src="https://news.example/padded.jpg">'),
    ('<img src="\\\\cdn.example\\x.jpg">', '<img src="https://cdn.example/x.jpg">'),
    ('<a href="/search?q=a&amp;region=1&copy=2">x</a>',
     '<a href="https://news.example/search?q=a&amp;region=1&amp;copy=2">x</a>'),
]  # fmt: skip


@pytest.mark.parametrize(("html", "expected"), ABSOLUTIZED)
def test_relative_urls_become_absolute_and_nothing_else_changes(html: str, expected: str) -> None:
    cleaned = clean_html(html, base_url=BASE_URL)
    assert cleaned.html == expected
    assert cleaned.removed == ()


KEPT_AS_THEY_ARE = [
    '<a href="#fn1">1</a>',
    '<a href="">empty</a>',
    '<a href="https://other.example/x">abs</a>',
    '<a href="mailto:a@example.com">m</a>',
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
]


@pytest.mark.parametrize("html", KEPT_AS_THEY_ARE)
def test_fragments_absolute_urls_and_data_images_stay(html: str) -> None:
    assert clean_html(html, base_url=BASE_URL).html == html


def test_the_base_scheme_goes_to_scheme_relative_urls() -> None:
    html = '<img src="//cdn.example/a.jpg">'
    cleaned = clean_html(html, base_url="http://plain.example/a")
    assert cleaned.html == '<img src="http://cdn.example/a.jpg">'


def test_without_a_base_relative_urls_stay_and_scheme_relative_ones_get_https() -> None:
    html = '<a href="/a">a</a><img src="b.jpg"><img src="//cdn.example/c.jpg">'
    expected = '<a href="/a">a</a><img src="b.jpg"><img src="https://cdn.example/c.jpg">'
    for base in (None, "", "not a url", "/relative/base", "javascript:alert(1)"):
        assert clean_html(html, base_url=base).html == expected


def test_absolutizing_then_cleaning_touches_only_what_it_must() -> None:
    html = "<p class=a>Keep <b>this</b></p><img src=x.jpg onerror=alert(1) width=10>"
    cleaned = clean_html(html, base_url=BASE_URL)
    assert cleaned.html == (
        '<p class="a">Keep <b>this</b></p>'
        '<img src="https://news.example/world/2024/x.jpg" width="10">'
    )
    assert cleaned.removed == ("onerror attribute",)


# -- iframes --------------------------------------------------------------------------


def test_an_iframe_from_an_allowed_host_stays() -> None:
    html = (
        '<p>v</p><iframe src="https://player.vimeo.com/video/1" width=640 allowfullscreen></iframe>'
    )
    assert clean_html(html, base_url=BASE_URL) == Cleaned(html, ())


def test_an_iframe_from_another_host_goes_with_a_note() -> None:
    html = '<iframe src="https://player.example/embed/1"></iframe><p>after</p>'
    cleaned = clean_html(html, base_url=BASE_URL)
    assert cleaned.html == "<p>after</p>"
    assert cleaned.removed == ("<iframe> from player.example",)


def test_iframe_hosts_can_be_chosen() -> None:
    html = '<iframe src="https://player.example/embed/1"></iframe>'
    hosts = ["Player.Example"]
    assert clean_html(html, base_url=None, iframe_hosts=hosts).html == html
    youtube = '<iframe src="https://www.youtube.com/embed/x"></iframe>'
    assert clean_html(youtube, base_url=None, iframe_hosts=hosts).html == ""
    assert clean_html(youtube, base_url=None, iframe_hosts=()).html == ""


def test_iframe_hosts_must_be_a_collection() -> None:
    with pytest.raises(TypeError):
        clean_html("<p>x</p>", base_url=None, iframe_hosts="www.youtube.com")


def test_every_default_iframe_host_works_over_https_only() -> None:
    for host in DEFAULT_IFRAME_HOSTS:
        https = f'<iframe src="https://{host}/embed/1"></iframe>'
        assert clean_html(https, base_url=None).html == https
        http = f'<iframe src="http://{host}/embed/1"></iframe>'
        assert clean_html(http, base_url=None).html == ""


# -- notes --------------------------------------------------------------------------------

NOTES = [
    ("<p>a<script>x()</script></p>", ("<script>",)),
    ("<img src=x onerror=alert(1) onload=alert(2)>", ("onerror attribute", "onload attribute")),
    ('<a href="javascript:alert(1)">x</a>', ("javascript: URL in href",)),
    ('<iframe src="https://evil.example/x"></iframe>', ("<iframe> from evil.example",)),
    ("<form><input><button>b</button></form>", ("<form>", "<input>", "<button>")),
    ('<p style="color:red;position:fixed">x</p>', ("unsafe CSS in style",)),
    ("<b>unclosed", ("unclosed or stray tags (re-serialized)",)),
    ("<!-- <b> -->", ("comments",)),
]


@pytest.mark.parametrize(("html", "notes"), NOTES)
def test_removed_says_what_went(html: str, notes: tuple[str, ...]) -> None:
    cleaned = clean_html(html, base_url=BASE_URL)
    assert cleaned.removed == notes
    assert cleaned.changed


# -- inputs no article should have --------------------------------------------------------


def test_lone_surrogates_are_replaced() -> None:
    cleaned = clean_html("<p>a\udc80b</p>", base_url=None)
    assert cleaned.html == "<p>a\ufffdb</p>"
    assert cleaned.removed == ("invalid characters",)
    cleaned.html.encode("utf-8")


def test_nul_characters_never_reach_the_output() -> None:
    cleaned = clean_html("<p>a\0b</p>", base_url=None)
    assert "\0" not in cleaned.html
    assert "NUL characters" in cleaned.removed


def test_too_many_tags_are_shown_as_text_without_parsing() -> None:
    html = "<div>" * (MAX_TAGS + 1)
    cleaned = clean_html(html, base_url=None)
    assert cleaned.html == "&lt;div&gt;" * (MAX_TAGS + 1)
    assert cleaned.removed == (f"all markup ({MAX_TAGS + 1:,} tags, more than {MAX_TAGS:,})",)


def test_a_tag_with_thousands_of_attributes_is_shown_as_text() -> None:
    html = "<p " + " ".join(f"a{i}=1" for i in range(12_000)) + ">x</p>"
    cleaned = clean_html(html, base_url=None)
    assert cleaned.html.startswith("&lt;p a0=1 a1=1")
    assert cleaned.removed == ("all markup (<p> with 12,000 attributes)",)


def test_deeply_nested_markup_under_the_limit_is_cleaned() -> None:
    html = "<div>" * 2_000 + "<script>x()</script>"
    cleaned = clean_html(html, base_url=None)
    assert "<script" not in cleaned.html
    assert cleaned.html.count("<div>") == 2_000


# -- the helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("https://x", "https"),
        (" \x01javascript:alert(1)", "javascript"),
        ("java\tscript:x", "javascript"),
        ("java\nscript:x", "javascript"),
        ("JaVaScRiPt:x", "javascript"),
        ("ja vascript:x", None),
        ("java\x01script:x", None),
        ("/a:b", None),
        ("1ab:x", None),
        ("a+b.c-d:x", "a+b.c-d"),
        ("\u0130ttp://x", None),
        ("//host:80/", None),
    ],
)
def test_url_scheme_reads_like_a_browser(url: str, scheme: str | None) -> None:
    assert url_scheme(url) == scheme


@pytest.mark.parametrize(
    ("style", "kept"),
    [
        ("color: #999;", "color: #999;"),
        ("COLOR: Red; Font-Weight: bold", "COLOR: Red; Font-Weight: bold"),
        ("color: rgb(1, 2, 3); font-family: '微软雅黑', Arial", "color: rgb(1, 2, 3); font-family: '微软雅黑', Arial"),
        ("color: red; position: fixed", "color: red"),
        ("margin: 0 -1000px; color: red", "color: red"),
        ("background: url(https://x.example/a.png)", None),
        ("width: expression(alert(1))", None),
        ("color: red; behavior: url(a.htc)", "color: red"),
        ("background: u\\72l(x)", None),
        ("width: calc(1px + 2px)", None),
        ("color: rgb(rgb(1,2,3))", None),
        ("font-family: 'a\\'", None),
        ("color: red /* comment */", None),
        ("c\u212aolor: red", None),
        ("bac\u212aground-color: red", None),
        ("", ""),
    ],
)  # fmt: skip
def test_safe_style_keeps_only_plain_declarations(style: str, kept: str | None) -> None:
    assert safe_style(style) == kept
