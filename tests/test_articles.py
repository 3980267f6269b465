"""Whole, safe articles end to end: full text, filters, clean HTML, images that survive.

A real server on 127.0.0.1 serves feeds, article pages and images; the
pipeline runs against a real SQLite file; archive files are checked by parsing
them as a browser would.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from newsmirror import open_mirror
from newsmirror.clean import DEFAULT_IFRAME_HOSTS
from newsmirror.localserver import LocalServer, Request, Response, Route

from .browser import launch, needs_chromium
from .feedkit import Item, parse_html_tree, png, rss, snapshot, write_config

NOW = datetime.now(UTC).replace(microsecond=0)
SUMMARY = "<p>摘要：市图书馆将延长开放时间。</p>"
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>市图书馆延长开放时间</title></head>
<body>
<nav><a href="/">首页</a> | <a href="/city/">城市</a></nav>
<div class="post-content">
<p>市图书馆今天宣布，从下个月起，周末开放时间将延长到晚上九点。</p>
<p>馆长表示，这是根据读者问卷作出的决定，<img src="/img/reading-room.png" alt="阅览室">新的自习区也将同时开放。</p>
<p>详情请见<a href="/notice/42.html">公告</a>。</p>
<script>document.write("tracking")</script>
</div>
<footer>版权所有 城市新闻</footer>
</body></html>
"""


def item(n: int, **changes: object) -> Item:
    values: dict[str, object] = {
        "title": f"第{n}条：市图书馆延长开放时间",
        "link": None,
        "guid": f"lib-{n}",
        "published": NOW - timedelta(hours=n),
        "description": SUMMARY,
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


def archive_texts(archive: Path) -> dict[str, str]:
    return {
        p.relative_to(archive).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(archive.rglob("*.md"))
    }


def revision_notes(store: Path) -> list[str | None]:
    with sqlite3.connect(store) as db:
        return [r[0] for r in db.execute("SELECT note FROM revisions ORDER BY article_id")]


# -- full text --------------------------------------------------------------------


def full_text_config(tmp_path: Path, feed: str, fetch: str = "") -> Path:
    """A markdown-only full-text source whose pages keep the body in div.post-content."""
    source = {
        "name": "城市新闻",
        "slug": "city",
        "url": feed,
        "layouts": ["markdown"],
        "full_text": True,
        "selector": "div.post-content",
    }
    return write_config(tmp_path, [source], extra=fetch)


def test_full_text_with_a_selector_archives_the_page_body(
    tmp_path: Path, server: LocalServer
) -> None:
    page = server.add("/news/1.html", Route(PAGE.encode(), content_type="text/html"))
    feed = server.add("/feed.xml", Route(rss([item(1, link=page)])))
    config = full_text_config(tmp_path, feed)
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
    assert (result.new, result.full_text) == (1, 1)
    text = (tmp_path / "archive/articles/city/1048575.md").read_text(encoding="utf-8")
    body = text.split("------\n\n", 1)[1]
    assert "周末开放时间将延长到晚上九点" in body and "新的自习区" in body
    assert "摘要" not in body, "the page's body replaces the feed's summary"
    assert "首页" not in body and "版权所有" not in body, "only the selected element"
    assert "<script" not in body and "tracking" not in body
    # Relative URLs are made absolute against the page.
    assert f'src="{server.url("/img/reading-room.png")}"' in body
    assert f'href="{server.url("/notice/42.html")}"' in body
    notes = revision_notes(tmp_path / "store.sqlite")
    assert notes[0] is not None and "full text (selector)" in notes[0]
    assert "<script>" in notes[0]
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        (raw,) = db.execute("SELECT raw FROM revisions").fetchone()
    assert "<script>" in raw, "the content as received is kept for the record"


def test_content_clean_already_is_stored_once(tmp_path: Path, server: LocalServer) -> None:
    body = '<p>图书馆<a href="https://news.example.org/a">周末</a>开放。</p>'
    url = server.add(
        "/feed.xml", Route(rss([Item("开放时间", "https://news.example.org/1", content=body)]))
    )
    config = write_config(tmp_path, [{"name": "城市新闻", "slug": "city", "url": url}])
    with open_mirror(config) as mirror:
        mirror.run(site=False)
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("SELECT content, raw, note FROM revisions").fetchone() == (
            body,
            None,
            None,
        )


def test_full_text_failures_keep_the_feed_content_and_say_why(
    tmp_path: Path, server: LocalServer
) -> None:
    pages = {
        "/missing.html": lambda r: Response(404, b"gone"),
        "/slow.html": lambda r: Response(
            200, PAGE.encode(), {"Content-Type": "text/html"}, delay=3
        ),
        "/pdf.html": Route(b"%PDF-1.4 binary", content_type="application/pdf"),
        "/empty.html": Route(
            b"<html><body><nav>only navigation</nav></body></html>", content_type="text/html"
        ),
        "/short.html": Route(
            b'<div class="post-content"><p>short</p></div>', content_type="text/html"
        ),
        "/huge.html": Route(b"<p>" + b"x" * (2 * 1024 * 1024) + b"</p>", content_type="text/html"),
    }
    items = []
    for n, (path, route) in enumerate(pages.items(), start=1):
        server.add(path, route)  # type: ignore[arg-type]
        items.append(item(n, link=server.url(path)))
    items.append(item(99, link=None))  # no page to fetch at all
    feed = server.add("/feed.xml", Route(rss(items)))
    config = full_text_config(tmp_path, feed, fetch="timeout = 1\nmax_bytes = 1048576")
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
    assert result.outcome == "ok" and result.new == len(items)
    assert result.kept_feed == len(items) and result.full_text == 0
    for text in archive_texts(tmp_path / "archive/articles").values():
        assert "摘要：市图书馆将延长开放时间。" in text
    notes = revision_notes(tmp_path / "store.sqlite")
    assert all(note and note.startswith("kept the feed's content") for note in notes), notes
    joined = "\n".join(n or "" for n in notes)
    for words in ("404", "timed out", "no link", "limit"):
        assert words in joined, (words, notes)


def test_filters_keep_only_some_categories(tmp_path: Path, server: LocalServer) -> None:
    feed = server.add(
        "/feed.xml",
        Route(
            rss(
                [
                    item(1, categories=["中国新闻"], description="<p>一</p>"),
                    item(2, categories=["娱乐"], description="<p>二</p>"),
                    item(3, categories=["香港"], title="广告：优惠", description="<p>三</p>"),
                    item(4, categories=["香港"], description="<p>四</p>"),
                ]
            )
        ),
    )
    config = write_config(tmp_path, [{"name": "数字时代", "slug": "cdt", "url": feed}])
    config.write_text(
        config.read_text(encoding="utf-8")
        + 'include = { category = "中国|香港" }\nexclude = { title = "^广告" }\n',
        encoding="utf-8",
    )
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
    assert (result.new, result.filtered) == (2, 2)
    texts = "".join(archive_texts(tmp_path / "archive").values())
    assert "<p>一</p>" in texts and "<p>四</p>" in texts
    assert "<p>二</p>" not in texts and "<p>三</p>" not in texts


# -- hostile HTML -------------------------------------------------------------------

HOSTILE = [
    '<p>a</p><script>alert("x")</script>',
    '<img src="x.png" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt&#x3a;alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<form action="https://evil.example/"><input name="p"></form>',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<iframe src="https://evil.example/"></iframe>',
    "<style>body{display:none}</style><p>styled</p>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<details open ontoggle="alert(1)"><summary>s</summary></details>',
]


def dangerous_things(html: str) -> list[str]:
    """What a browser would find dangerous in ``html``, found by parsing it."""
    found = []
    tree = parse_html_tree(html)
    for node in tree.root.traverse() if tree.root else []:
        tag = node.tag or ""
        if tag in {"script", "style", "form", "object", "embed", "meta", "base", "svg", "math"}:
            found.append(f"<{tag}>")
        if tag == "iframe":
            source = urlsplit((node.attributes or {}).get("src") or "")
            if source.scheme != "https" or source.hostname not in DEFAULT_IFRAME_HOSTS:
                found.append(f"<iframe src={source.geturl()}>")
            if "srcdoc" in (node.attributes or {}):
                found.append("<iframe srcdoc>")
        for name, value in (node.attributes or {}).items():
            lowered = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name.lower().startswith("on"):
                found.append(f"{tag} {name}")
            if name in {"href", "src", "action", "formaction", "data"} and lowered.startswith(
                ("javascript:", "vbscript:", "data:text")
            ):
                found.append(f"{tag} {name}={value}")
    return found


HOSTILE_CORPUS = Path(__file__).parent / "hostile"
# XML 1.0 §2.2 cannot carry these, even as character references: no feed can.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def hostile_cases() -> list[str]:
    cases = [p.read_text(encoding="utf-8") for p in sorted(HOSTILE_CORPUS.glob("*.in.html"))]
    return HOSTILE + [case for case in cases if not _NOT_XML.search(case)]


def test_hostile_html_never_reaches_a_file(tmp_path: Path, server: LocalServer) -> None:
    cases = hostile_cases()
    assert len(cases) >= 40 + len(HOSTILE)
    feed = server.add(
        "/feed.xml",
        Route(
            rss(
                [
                    # As an entity-escaped description: any markup survives the XML.
                    item(n, link=f"https://news.example.org/{n}", description=html)
                    for n, html in enumerate(cases, start=1)
                ]
            )
        ),
    )
    config = write_config(tmp_path, [{"name": "危险", "slug": "evil", "url": feed}])
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
    assert result.new == len(cases) and result.cleaned >= len(HOSTILE) - 1
    files = archive_texts(tmp_path / "archive")
    assert len(files) >= 2 * len(cases)
    for path, text in files.items():
        assert dangerous_things(text) == [], path
    assert "styled" in "".join(files.values()), "benign text around dangerous markup stays"


# -- images ---------------------------------------------------------------------------


def image_server(server: LocalServer) -> dict[str, list[int]]:
    """Two PNGs; the second answers 500 throughout the first run (two attempts)."""
    calls: dict[str, list[int]] = {"/img/a.png": [], "/img/b.png": []}

    def answer(path: str) -> object:
        def handler(request: Request) -> Response:
            calls[path].append(1)
            if path == "/img/b.png" and len(calls[path]) <= 2:
                return Response(500, b"busy")
            colour = (200, 30, 30) if path.endswith("a.png") else (30, 30, 200)
            return Response(200, png(4, 3, colour), {"Content-Type": "image/png"})

        return handler

    for path in calls:
        server.add(path, answer(path))  # type: ignore[arg-type]
    return calls


def mirror_config(tmp_path: Path, server: LocalServer) -> Path:
    content = (
        '<p>图一 <img src="/img/a.png" alt="红"></p>'
        f'<p>图二 <img src="{server.url("/img/b.png")}" alt="蓝" '
        'srcset="/img/b.png 1x, /img/a.png 2x"></p>'
    )
    feed = server.add(
        "/feed.xml",
        Route(rss([item(1, link=server.url("/news/1.html"), content=content, description=None)])),
    )
    config = write_config(tmp_path, [{"name": "图片新闻", "slug": "pics", "url": feed}])
    config.write_text(config.read_text(encoding="utf-8") + 'images = "mirror"\n', encoding="utf-8")
    return config


def test_mirror_downloads_images_once_and_retries_failures(
    tmp_path: Path, server: LocalServer
) -> None:
    calls = image_server(server)
    config = mirror_config(tmp_path, server)
    archive = tmp_path / "archive"
    with open_mirror(config) as mirror:
        first = mirror.run()
    assert (first.images.downloaded, first.images.failed) == (1, 1)
    markdown = (archive / "articles/pics/1048575.md").read_text(encoding="utf-8")
    assets = sorted(p.relative_to(archive).as_posix() for p in (archive / "assets").rglob("*.png"))
    assert len(assets) == 1
    assert f'src="../../{assets[0]}"' in markdown
    assert server.url("/img/b.png") in markdown, "not yet mirrored: the original stays"
    assert "srcset" not in markdown, "a srcset could bypass the mirror"

    with open_mirror(config) as mirror:
        second = mirror.run()
    assert (second.images.downloaded, second.images.failed) == (1, 0)
    assert len(calls["/img/a.png"]) == 1, "a good image is never fetched again"
    assert len(calls["/img/b.png"]) == 3
    markdown = (archive / "articles/pics/1048575.md").read_text(encoding="utf-8")
    jekyll = next((archive / "_posts").iterdir()).read_text(encoding="utf-8")
    assert "http://" not in markdown.split("------", 1)[1]
    assert 'src="../assets/' in jekyll and 'src="../../assets/' in markdown
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        originals = {r[0] for r in db.execute("SELECT url FROM images WHERE path IS NOT NULL")}
    assert originals == {server.url("/img/a.png"), server.url("/img/b.png")}

    before = snapshot(archive)
    with open_mirror(config) as mirror:
        mirror.run()
    assert snapshot(archive) == before


@needs_chromium
def test_mirrored_article_shows_its_images_with_the_server_stopped(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with LocalServer() as server:
        image_server(server)
        config = mirror_config(tmp_path, server)
        for _ in range(2):  # the second run mirrors the image that failed once
            with open_mirror(config) as mirror:
                mirror.run()
    # The server is gone. Show the article file as a page, from where it lies.
    archive = tmp_path / "archive"
    article = archive / "articles/pics/1048575.md"
    page = article.with_suffix(".html")
    page.write_text(article.read_text(encoding="utf-8"), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            tab = browser.new_page()
            tab.goto(page.as_uri())
            tab.wait_for_load_state("load")
            sizes = tab.eval_on_selector_all(
                "img", "images => images.map(i => [i.alt, i.naturalWidth, i.naturalHeight])"
            )
            tab.screenshot(path=str(tmp_path / "mirrored-article.png"))
        finally:
            browser.close()
    # Both decoded from the archive (a srcset candidate at 2x halves the natural size).
    assert [alt for alt, _, _ in sizes] == ["红", "蓝"]
    assert all(width > 0 and height > 0 for _, width, height in sizes), sizes
