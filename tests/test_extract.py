"""Stage 4, enrich: article pages in, article bodies out.

The pages under tests/pages/ are fictional articles written for these tests,
their markup modelled on common news CMSes; pages.toml says, for each, where
its body is and which text is body and which is junk. The bodies a selector
gives are in tests/pages/expected/, compared byte for byte: each is the
page's own markup between the element's tags (numeric character references
decoded), checked against the source when it was written.
"""

from __future__ import annotations

import codecs
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from newsmirror.extract import (
    GENERAL,
    MAX_GENERAL_CHARS,
    MIN_BODY_CHARS,
    SELECTOR,
    Extraction,
    better_than_feed,
    decode_page,
    extract_article,
    validate_selector,
    visible_length,
)

PAGES = Path(__file__).parent / "pages"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads((PAGES / "pages.toml").read_text("utf-8"))
ARTICLES = [name for name, page in MANIFEST.items() if page["body"]]
URL = "https://news.example/a/1.html"


def page_bytes(name: str) -> bytes:
    return (PAGES / MANIFEST[name]["file"]).read_bytes()


def extract(name: str, *, selector: str | None) -> Extraction:
    page = MANIFEST[name]
    return extract_article(
        page_bytes(name), url=page["url"], content_type=page["content_type"], selector=selector
    )


def visible_text(html: str) -> str:
    """The text of ``html`` with all whitespace removed, to look for snippets in."""
    tree = LexborHTMLParser(html)
    assert tree.root is not None
    return "".join(tree.root.text(deep=True, separator="").split())


def squeeze(text: str) -> str:
    return "".join(text.split())


def pre_texts(html: str) -> list[str]:
    return [node.text(deep=True) for node in LexborHTMLParser(html).css("pre")]


def html_page(body: str, head: str = '<meta charset="utf-8">') -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


ARTICLE_TEXT = "".join(
    f"<p>第{n}段：这是一篇为测试写的虚构新闻，讲述一座小城的公交线路调整，以及乘客们的不同看法。</p>"
    for n in range(1, 6)
)


# --- selector: golden files ---------------------------------------------------


@pytest.mark.parametrize("name", ARTICLES)
def test_selector_gives_the_elements_own_markup(name: str) -> None:
    got = extract(name, selector=MANIFEST[name]["selector"])
    expected = (PAGES / "expected" / f"{name}.html").read_text("utf-8")
    assert got == Extraction(expected, SELECTOR, None)


def test_selector_keeps_pre_line_breaks() -> None:
    got = extract("pre", selector="div.article-content").html
    assert got is not None
    assert all(any(block in text for text in pre_texts(got)) for block in MANIFEST["pre"]["pre"])


def test_selector_takes_the_first_match_in_document_order() -> None:
    page = html_page(
        '<aside><div class="post">相关文章：另一篇报道的摘要</div></aside>'
        '<div class="post"><p>正文第一段。</p></div>'
    )
    got = extract_article(page, url=URL, content_type="text/html", selector="div.post")
    assert got.html == "相关文章：另一篇报道的摘要"
    # A selector list gives whichever element comes first on the page.
    got = extract_article(page, url=URL, content_type="text/html", selector="main, div.post")
    assert got.html == "相关文章：另一篇报道的摘要"


def test_selector_sees_the_tree_a_browser_builds() -> None:
    # A <figure> closes an open <p> (HTML Standard §13.2.6.4.7), so the figure
    # is the article's child, as in a browser's developer tools.
    page = html_page('<article><p>导语<figure><img src="a.jpg"></figure></article>')
    got = extract_article(page, url=URL, content_type=None, selector="article > figure")
    assert got.html == '<img src="a.jpg">'


def test_selector_reports_the_pages_base_url() -> None:
    page = html_page('<div id="c"><a href="b.html">链接</a></div>', head='<base href="/news/">')
    got = extract_article(page, url=URL, content_type="text/html", selector="#c")
    assert got == Extraction(
        '<a href="b.html">链接</a>', SELECTOR, None, "https://news.example/news/"
    )
    assert extract("wordpress", selector="div.entry-content").base_url is None


def test_selector_matching_nothing() -> None:
    got = extract("navigation", selector="div.article-body")
    assert got == Extraction(None, SELECTOR, "selector div.article-body matched nothing")


def test_selector_matching_an_empty_element() -> None:
    page = html_page('<div class="post"> <script>var ad = 1;</script>\n</div><p>正文</p>')
    got = extract_article(page, url=URL, content_type="text/html", selector="div.post")
    assert got == Extraction(
        None, SELECTOR, "selector div.post matched an element with no text or image"
    )


def test_selector_matching_an_image_only() -> None:
    page = html_page('<div class="photo"><img src="p.jpg" alt=""></div>')
    got = extract_article(page, url=URL, content_type="text/html", selector="div.photo")
    assert got.html == '<img src="p.jpg" alt="">'


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("div..post", "invalid CSS selector 'div..post'"),
        ("div[", "invalid CSS selector 'div['"),
        ("div > > p", "invalid CSS selector 'div > > p'"),
        (
            "p::first-line",
            "invalid CSS selector 'p::first-line': pseudo-elements (::before) are not elements",
        ),
        (
            "p:contains(台湾)",
            "invalid CSS selector 'p:contains(台湾)': :contains() is jQuery's, not CSS",
        ),
        ("", "empty CSS selector"),
        ("  ", "empty CSS selector"),
    ],
)
def test_invalid_selector(selector: str, message: str) -> None:
    assert validate_selector(selector) == message
    got = extract("wordpress", selector=selector)
    assert got == Extraction(None, SELECTOR, message)


@pytest.mark.parametrize(
    "selector",
    [
        "div.post-content",
        "article .entry",
        "#content",
        "main[role=main] article",
        "div:has(> h2)",
        "p:nth-of-type(2)",
        "div.a, div.b",
        ":is(article, main) p:not(.ad)",
    ],
)
def test_valid_selector(selector: str) -> None:
    assert validate_selector(selector) is None


# --- the general extractor --------------------------------------------------------


@pytest.mark.parametrize("name", ARTICLES)
def test_general_extractor_keeps_the_body_and_drops_the_rest(name: str) -> None:
    page = MANIFEST[name]
    got = extract(name, selector=None)
    assert got.method == GENERAL
    assert got.reason is None
    assert got.html is not None
    text = visible_text(got.html)
    assert [s for s in page["body"] if squeeze(s) not in text] == []
    assert [s for s in page["junk"] if squeeze(s) in text] == []
    assert [u for u in page["images"] if u not in got.html] == []
    assert [u for u in page["links"] if f'href="{u}"' in got.html] == page["links"]


def test_general_extractor_output_is_html() -> None:
    wordpress = extract("wordpress", selector=None).html
    assert wordpress is not None
    for tag in (
        "<p>",
        "<h2>",
        "<ul>",
        "<li>",
        '<blockquote class="wp-block-quote">',
        "<cite>",
        "<a href=",
    ):
        assert tag in wordpress
    images = extract("images", selector=None).html
    assert images is not None
    assert '<img src="https://img.beiwei.example/photo/2026/04/yunling-01.jpg"' in images
    assert images.count("<figcaption>") == 3
    pre = extract("pre", selector=None).html
    assert pre is not None
    assert "<pre><code>$ zpack --version\n" in pre
    assert "<code>&lt;extra&gt;</code>" in pre
    assert all(any(block in text for text in pre_texts(pre)) for block in MANIFEST["pre"]["pre"])


def test_general_extractor_emits_no_paragraph_holding_a_block() -> None:
    # readability renames a <div> holding only a heading to <p>; it is a <div> again.
    got = extract("split", selector=None).html
    assert got is not None
    assert (
        '<div dir="ltr" class="bbc-1151pbn ebmt73l0"><h2 class="bbc-w0c7c8">学生和老人的优惠</h2></div>'
        in got
    )
    assert re.search(r"<p\b[^>]*>\s*<(h[1-6]|div|ul|ol|table|figure)\b", got) is None


def test_general_extractor_on_a_page_without_an_article() -> None:
    got = extract("navigation", selector=None)
    assert got.html is None
    assert got.method == GENERAL
    assert got.reason is not None
    assert got.reason.startswith("no article found")


def test_general_extractor_on_a_page_with_little_text() -> None:
    page = html_page('<div class="content"><p>请登录后阅读。</p></div>')
    got = extract_article(page, url=URL, content_type="text/html", selector=None)
    assert got.html is None
    assert got.reason is not None
    assert got.reason.startswith("no article found")


def test_general_extractor_size_limit() -> None:
    # Beyond the limit readability is not run (its work grows with size times
    # depth); scripts and styles do not count, and a selector has no limit.
    padding = "<div><span>附注</span></div>" * (MAX_GENERAL_CHARS // 25)
    page = html_page(f'<article id="a">{ARTICLE_TEXT}</article>{padding}')
    got = extract_article(page, url=URL, content_type="text/html", selector=None)
    assert got.html is None
    assert got.reason is not None
    assert got.reason.startswith("page too large for the general extractor")
    assert (
        extract_article(page, url=URL, content_type="text/html", selector="#a").html == ARTICLE_TEXT
    )
    script = f"<script>var data = '{'x' * MAX_GENERAL_CHARS}';</script>"
    page = html_page(f"<article>{ARTICLE_TEXT}</article>{script}")
    got = extract_article(page, url=URL, content_type="text/html", selector=None)
    assert got.html is not None
    assert "第5段" in got.html


# --- what is not an HTML page ---------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
JSON = '{"title": "新闻", "content": "<p>正文</p>"}'.encode()


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (PDF, "application/pdf", "not an HTML page (application/pdf)"),
        (
            PDF,
            "text/html; charset=utf-8",
            "not an HTML page (application/pdf, served as text/html)",
        ),
        (PDF, None, "not an HTML page (application/pdf)"),
        (PNG, "image/png", "not an HTML page (image/png)"),
        (PNG, "image/jpeg", "not an HTML page (image/png, served as image/jpeg)"),
        (JSON, "application/json; charset=utf-8", "not an HTML page (application/json)"),
        (JSON, "text/html", "not an HTML page (application/json, served as text/html)"),
        (JSON, None, "not an HTML page (application/json)"),
        (
            b"<rss version='2.0'><channel/></rss>",
            "application/rss+xml",
            "not an HTML page (application/rss+xml)",
        ),
        (
            b"\x00\x01\x02\x03",
            "application/octet-stream",
            "not an HTML page (application/octet-stream, and no HTML markup at its start)",
        ),
        (
            "纯文本，不是网页。".encode(),
            "text/plain; charset=utf-8",
            "not an HTML page (text/plain, and no HTML markup at its start)",
        ),
        (
            "纯文本，不是网页。".encode(),
            None,
            "not an HTML page (no Content-Type, and no HTML markup at its start)",
        ),
    ],
)
@pytest.mark.parametrize("selector", [None, "div.post"])
def test_not_an_html_page(
    body: bytes, content_type: str | None, reason: str, selector: str | None
) -> None:
    got = extract_article(body, url=URL, content_type=content_type, selector=selector)
    assert got == Extraction(None, GENERAL if selector is None else SELECTOR, reason)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/octet-stream",
        "text/xml",
        "text/html",
        "application/xhtml+xml",
    ],
)
def test_html_under_a_vague_content_type(content_type: str | None) -> None:
    page = b"\n<!-- generated -->\n" + html_page(f'<div id="c">{ARTICLE_TEXT}</div>')
    got = extract_article(page, url=URL, content_type=content_type, selector="#c")
    assert got.html == ARTICLE_TEXT


def test_xhtml_served_as_xml() -> None:
    page = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
    )
    page += f'<div id="c">{ARTICLE_TEXT}</div></body></html>'.encode()
    assert (
        extract_article(page, url=URL, content_type="application/xml", selector="#c").html
        == ARTICLE_TEXT
    )


@pytest.mark.parametrize("body", [b"", b"  \r\n\t", codecs.BOM_UTF8 + b"\n"])
@pytest.mark.parametrize("selector", [None, "div.post"])
def test_empty_page(body: bytes, selector: str | None) -> None:
    got = extract_article(body, url=URL, content_type="text/html", selector=selector)
    assert got == Extraction(None, GENERAL if selector is None else SELECTOR, "empty page")


# --- decoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "text/html", "text/html; charset=utf-8", "text/html; charset=ISO-8859-1"]
)
def test_gbk_page_declared_gb2312_in_meta(content_type: str | None) -> None:
    # 镕 is in GBK, not in GB2312: the page is read as GB18030, whatever the
    # HTTP header says when that codec cannot read it.
    text, codec = decode_page(page_bytes("gbk"), content_type)
    assert codec == "gb18030"
    assert "本网记者 王镕" in text
    got = extract_article(
        page_bytes("gbk"), url=URL, content_type=content_type, selector="#articleContent"
    )
    assert got.html == (PAGES / "expected" / "gbk.html").read_text("utf-8")


def test_big5_page() -> None:
    text, codec = decode_page(page_bytes("big5"), "text/html")
    assert codec == "cp950"
    assert "夜市攤商聯名陳情" in text


def test_http_charset_comes_before_meta() -> None:
    page = '<html><head><meta charset="big5"></head><body><p>稻谷</p></body></html>'.encode(
        "gb18030"
    )
    assert decode_page(page, "text/html; charset=GBK") == (page.decode("gb18030"), "gb18030")


def test_utf8_wins_over_a_wrong_declaration() -> None:
    page = html_page(
        "<p>稻谷收购价</p>",
        head='<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
    )
    text, codec = decode_page(page, "text/html; charset=gbk")
    assert codec == "utf-8"
    assert "稻谷收购价" in text


def test_undeclared_gbk_page_is_detected() -> None:
    page = re.sub(rb"<meta http-equiv[^>]*>", b"", page_bytes("gbk"))
    text, codec = decode_page(page, "text/html")
    assert codec in {"gb18030", "gbk", "gb2312"}
    assert "稻谷收购价比去年每斤高出一毛" in text


def test_a_servers_default_iso_8859_1_is_the_last_word() -> None:
    # Tomcat and others say ISO-8859-1 of every page: the page's <meta>, or
    # detection, is believed first.
    page = re.sub(rb"<meta http-equiv[^>]*>", b"", page_bytes("gbk"))
    for body in (page_bytes("gbk"), page):
        text, _ = decode_page(body, "text/html; charset=ISO-8859-1")
        assert "稻谷收购价比去年每斤高出一毛" in text


def test_a_stray_byte_does_not_overrule_the_declaration() -> None:
    # 0x80 is the euro sign in Windows' GBK, undecodable in Python's codecs;
    # a page cut by the fetcher's size limit ends in half a character.
    rice = "稻谷".encode("gbk")
    page = page_bytes("gbk").replace(rice, b"\x80" + rice, 1) + rice[:1]
    text, codec = decode_page(page, None)
    assert codec == "gb18030"
    assert text.count("\ufffd") == 2
    assert "本网记者 王镕" in text
    utf8 = html_page(ARTICLE_TEXT) + "稻".encode()[:2]
    assert decode_page(utf8, None)[1] == "utf-8"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_page_with_bom(codec: str) -> None:
    page = "\ufeff<!DOCTYPE html><html><body><div id='c'>台湾新闻</div></body></html>".encode(codec)
    assert extract_article(page, url=URL, content_type=None, selector="#c").html == "台湾新闻"


def test_meta_utf16_means_utf8() -> None:
    page = html_page("<p>新闻</p>", head='<meta charset="utf-16">')
    assert decode_page(page, None) == (page.decode(), "utf-8")


# --- better_than_feed ------------------------------------------------------------


def test_extraction_longer_than_the_feed_replaces_it() -> None:
    full = extract("wordpress", selector="div.entry-content").html
    assert full is not None
    summary = "<p>开了二十六年的新华路书店将在月底关门。</p>"
    assert better_than_feed(full, summary)
    assert better_than_feed(full, "")


def test_extraction_shorter_than_the_feed_does_not() -> None:
    full = extract("wordpress", selector="div.entry-content").html
    assert full is not None
    assert not better_than_feed(summary := "<p>开了二十六年的新华路书店将在月底关门。</p>", full)
    assert not better_than_feed(summary, summary)  # as long: the feed is kept


def test_better_than_feed_counts_visible_characters() -> None:
    # Markup, scripts and whitespace (full-width and no-break spaces too) are not text.
    feed = "<div>\n  <p>　　一二三&nbsp;四</p>\n<script>var padding = 1234567890;</script></div>"
    assert visible_length(feed) == 4
    assert visible_length("<p>台湾 Taiwan</p><style>p {}</style>") == 8
    twenty = "<p>" + "字" * MIN_BODY_CHARS + "</p>"
    assert better_than_feed(twenty, feed)
    # A line such as a paywall's or an error's never replaces anything.
    assert not better_than_feed("<p>" + "字" * (MIN_BODY_CHARS - 1) + "</p>", "")


# --- what it never does ----------------------------------------------------------


@pytest.fixture
def io_events() -> Iterator[list[str]]:
    """Audit events (CPython's, PEP 578) that open a file or a socket, while the test runs."""
    events: list[str] = []
    _AUDIT.append(events)
    try:
        yield events
    finally:
        _AUDIT.remove(events)


_AUDIT: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _AUDIT and (event == "open" or event.startswith(("socket.", "urllib.", "http."))):
        _AUDIT[-1].append(f"{event} {args!r:.200}")


sys.addaudithook(_audit)


def test_extraction_opens_no_file_and_no_socket(io_events: list[str]) -> None:
    pages = {name: page_bytes(name) for name in MANIFEST}
    # The first general extraction imports readability: that reads files, once.
    extract_article(pages["wordpress"], url=URL, content_type=None, selector=None)
    io_events.clear()
    for name, page in pages.items():
        for selector in (MANIFEST[name]["selector"], None):
            extract_article(page, url=MANIFEST[name]["url"], content_type=None, selector=selector)
    assert io_events == []
