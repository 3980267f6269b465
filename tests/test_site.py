"""The static site: every page kind, relative links that resolve, nothing loaded from
another host, valid feeds, the archive's time zone, and incremental builds that render
only what changed (checked against a full build of the same store).

Stores are real SQLite files, filled by a real run against feeds served on 127.0.0.1
or through the Store's own methods; no mocks.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from newsmirror import open_mirror
from newsmirror.config import Config, parse_config
from newsmirror.decide import Candidate, fingerprint
from newsmirror.localserver import LocalServer, Request, Response, Route
from newsmirror.site import build_site
from newsmirror.site.content import embeds_as_links
from newsmirror.site.feeds import xml_text
from newsmirror.site.plan import (
    PAGE_SIZE,
    Entry,
    Page,
    SiteIndex,
    all_pages,
    count_pages,
    select_pages,
)
from newsmirror.store import Store, open_store

from .feedkit import Item, png, rss, snapshot, write_config

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
# The search widget's files are written by site/searchindex.py's index_site, after the build.
SEARCH_INDEX = "search-index/"


# -- helpers ---------------------------------------------------------------------------------


def store_config(
    tmp_path: Path,
    sources: dict[str, str],
    images: dict[str, str] | None = None,
    **archive: object,
) -> Config:
    """A config of ``sources`` (slug → name; ``images``: slug → policy), paths under ``tmp_path``."""
    data = {
        "archive": {"path": "archive", "store": "store.sqlite", **archive},
        "site": {"path": "site", "title": "测试镜像"},
        "source": [
            {"name": name, "slug": slug, "url": f"https://{slug}.example.org/feed.xml"}
            | ({"images": images[slug]} if images and slug in images else {})
            for slug, name in sources.items()
        ],
    }
    return parse_config(data, tmp_path / "newsmirror.toml")


def open_with_sources(config: Config) -> Store:
    store = open_store(config.archive.store)
    store.sync_sources((s.slug, s.name, s.url) for s in config.sources)
    return store


def candidate(n: int, published: datetime, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "key": f"key-{n}",
        "guid": f"guid-{n}",
        "link": f"https://news.example.org/a/{n}.html",
        "title": f"第{n}条新闻：城市图书馆延长开放时间",
        "content": f"<p>第{n}段正文，讲述市民的周末。</p>",
        "author": None,
        "categories": ("本地",),
        "published_at": published,
        "date_from_feed": True,
    }
    values.update(changes)
    values["fingerprint"] = fingerprint(
        str(values["title"]), str(values["link"]), str(values["content"])
    )
    return Candidate(**values)  # type: ignore[arg-type]


def insert(store: Store, slug: str, n: int, published: datetime, **changes: object) -> int:
    with store.transaction() as db:
        return store.insert_article(db, slug, candidate(n, published, **changes), published)


def html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def tree(path: Path) -> LexborHTMLParser:
    return LexborHTMLParser(path.read_text(encoding="utf-8"))


def is_external(url: str) -> bool:
    """A URL that would make the browser ask another host (``data:`` asks no one)."""
    url = url.strip().lower()
    if url.startswith("data:"):
        return False
    return url.startswith("//") or bool(re.match(r"^[a-z][a-z0-9+.-]*:", url))


def srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


def loads(page: LexborHTMLParser) -> Iterator[tuple[str, str, str]]:
    """(tag, attribute, URL) of everything a browser would fetch for the page by itself."""
    for node in page.css("*"):
        attributes = node.attributes
        for name in ("src", "poster", "data"):
            if attributes.get(name):
                yield node.tag, name, str(attributes[name])
        for name in ("srcset", "imagesrcset"):
            if attributes.get(name):
                for url in srcset_urls(str(attributes[name])):
                    yield node.tag, name, url
        if node.tag == "link" and attributes.get("href"):
            yield node.tag, "href", str(attributes["href"])
        if attributes.get("style"):
            for match in _CSS_URL.finditer(str(attributes["style"])):
                yield node.tag, "style", match.group(1) or match.group(2)
        if node.tag == "style":
            for match in _CSS_URL.finditer(node.text()):
                yield node.tag, "css", match.group(1) or match.group(2)


def references(page: LexborHTMLParser) -> Iterator[str]:
    """Every URL the page links to or loads."""
    for _, _, url in loads(page):
        yield url
    for node in page.css("a[href], form[action]"):
        yield str(node.attributes.get("href") or node.attributes.get("action"))


def changed_files(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]]):
    return {path for path in after if before.get(path) != after[path]}


# -- the pure selection of pages ----------------------------------------------------------------


def entries(*rows: tuple[int, str, str]) -> list[Entry]:
    """(id, source, day) → entries published at noon of the day, in id order within it."""
    return [
        Entry(i, source, f"标题{i}", int(datetime.fromisoformat(day).timestamp() * 1000) + i, day)
        for i, source, day in rows
    ]


def paths(pages: set[Page]) -> set[str]:
    return {path for page in pages for path in page.paths}


ALWAYS = {
    "index.html",
    "about.html",
    "search.html",
    "feed.atom",
    "feed.json",
    "sources/a/index.html",
    "sources/b/index.html",
}


def test_selection_for_a_new_article_at_the_end() -> None:
    rows = entries((1, "a", "2026-11-01"), (2, "b", "2026-11-01"), (3, "a", "2026-11-02"))
    new = entries((4, "a", "2026-11-02"))
    index = SiteIndex(rows + new, ["a", "b"], page_size=2)
    assert paths(select_pages(index, [4], [4])) == ALWAYS | {
        "articles/a/4.html",
        "articles/a/3.html",  # its older neighbour in the source links to it now
        "days/2026-11-02.html",
        "days/index.html",  # counts changed
        "sources/a/2026-11.html",
        "sources/a/feed.atom",
        "sources/a/feed.json",
        "pages/2.html",  # the slice holding it
    }


def test_selection_for_an_updated_article() -> None:
    rows = entries(
        (1, "a", "2026-10-30"),
        (2, "b", "2026-10-31"),
        (3, "a", "2026-11-01"),
        (4, "a", "2026-11-02"),
        (5, "b", "2026-11-03"),
    )
    index = SiteIndex(rows, ["a", "b"], page_size=2)
    # Known to the site already (not new): nothing shifts, no day or month is new.
    assert paths(select_pages(index, [3], [])) == ALWAYS | {
        "articles/a/3.html",
        "articles/a/1.html",
        "articles/a/4.html",
        "days/2026-11-01.html",
        "sources/a/2026-11.html",
        "sources/a/feed.atom",
        "sources/a/feed.json",
        "pages/2.html",
    }


def test_selection_for_an_old_article_found_late_shifts_later_pages_only() -> None:
    rows = entries(*((i, "a", f"2026-11-{i:02d}") for i in range(1, 11)))
    late = entries((11, "b", "2026-11-04"))  # ranked 4th of 11: page 2 with 3 a page
    index = SiteIndex(rows + late, ["a", "b"], page_size=3)
    selected = paths(select_pages(index, [11], [11]))
    numbered = {p for p in selected if p.startswith("pages/")}
    assert numbered == {"pages/2.html", "pages/3.html", "pages/4.html"}
    # Its day existed already: the neighbouring days do not change. Its source's
    # month is new: that source has no other month to link to it.
    assert {p for p in selected if p.startswith("days/")} == {
        "days/2026-11-04.html",
        "days/index.html",
    }
    assert "articles/a/4.html" not in selected, "another source's neighbour"


def test_selection_for_a_new_day_and_month_includes_their_neighbours() -> None:
    rows = entries((1, "a", "2026-10-30"), (2, "a", "2026-11-05"))
    new = entries((3, "a", "2026-11-02"))
    index = SiteIndex(rows + new, ["a", "b"], page_size=50)
    selected = paths(select_pages(index, [3], [3]))
    assert {"days/2026-10-30.html", "days/2026-11-02.html", "days/2026-11-05.html"} <= selected
    assert "sources/a/2026-10.html" not in selected, "the month 2026-11 was there already"

    new_month = entries((4, "a", "2026-12-01"))
    index = SiteIndex(rows + new + new_month, ["a", "b"], page_size=50)
    selected = paths(select_pages(index, [4], [4]))
    assert {"sources/a/2026-11.html", "sources/a/2026-12.html"} <= selected


def test_selection_when_the_last_page_fills_includes_the_page_before() -> None:
    rows = entries(*((i, "a", "2026-11-01") for i in range(1, 5)))  # two full pages of 2
    new = entries((5, "a", "2026-11-01"))
    index = SiteIndex(rows + new, ["a", "b"], page_size=2)
    numbered = {p for p in paths(select_pages(index, [5], [5])) if p.startswith("pages/")}
    assert numbered == {"pages/2.html", "pages/3.html"}  # page 2 links to the new page 3


def test_selection_with_nothing_changed_and_unknown_ids() -> None:
    index = SiteIndex(entries((1, "a", "2026-11-01")), ["a", "b"])
    assert paths(select_pages(index, [], [])) == ALWAYS
    assert paths(select_pages(index, [99], [99])) == ALWAYS  # e.g. an unconfigured source's
    assert len(all_pages(index)) == count_pages(index)


def test_numbered_pages_count_from_the_oldest() -> None:
    rows = entries(*((i, "a", "2026-11-01") for i in range(1, 2 * PAGE_SIZE + 2)))
    index = SiteIndex(reversed(rows), ["a"])
    assert index.pages == 3
    assert [e.id for e in index.page_entries(1)] == list(range(1, PAGE_SIZE + 1))
    assert [e.id for e in index.page_entries(3)] == [2 * PAGE_SIZE + 1]


# -- a site built from a real run --------------------------------------------------------------


KEEP_BODY = (
    '<p>城市新闻正文。<img src="https://img.example.org/city/1.jpg" alt="街景"></p>'
    '<p><iframe src="https://www.youtube.com/embed/abc123" width="560" height="315"></iframe></p>'
    '<video src="https://media.example.org/clip.mp4" controls></video>'
    '<p>见<a href="https://other.example.org/x">相关报道</a>。</p>'
)


def serve_feeds(server: LocalServer, count: int = 4) -> tuple[str, str]:
    def image(request: Request) -> Response:
        colour = (200, 30, 30) if request.path.endswith("a.png") else (30, 30, 200)
        return Response(200, png(4, 3, colour), {"Content-Type": "image/png"})

    server.add("/img/a.png", image)
    server.add("/img/b.png", image)
    city = [
        Item(
            title=f"第{n}条：城市图书馆延长开放时间",
            link=f"https://city.example.org/news/{n}.html",
            guid=f"city-{n}",
            published=NOW - timedelta(hours=5 * n),
            content=KEEP_BODY,
        )
        for n in range(1, count + 1)
    ]
    pics = [
        Item(
            title=f"图片新闻{n}",
            link=server.url(f"/news/{n}.html"),
            guid=f"pics-{n}",
            published=NOW - timedelta(hours=7 * n),
            content=(
                f'<p>图一 <img src="/img/a.png" alt="红"></p>'
                f'<figure><img src="{server.url("/img/b.png")}" alt="蓝" '
                'srcset="/img/b.png 1x, /img/a.png 2x"><figcaption>说明</figcaption></figure>'
            ),
        )
        for n in range(1, count + 1)
    ]
    return (
        server.add("/city.xml", Route(rss(city, title="城市新闻"))),
        server.add("/pics.xml", Route(rss(pics, title="图片新闻"))),
    )


def run_and_build(tmp_path: Path, server: LocalServer) -> tuple[Path, Config]:
    city, pics = serve_feeds(server)
    config_path = write_config(
        tmp_path,
        [
            {"name": "城市新闻", "slug": "city", "url": city},
            {"name": "图片新闻", "slug": "pics", "url": pics, "images": "mirror"},
            {"name": "停刊报", "slug": "dead", "url": server.url("/gone.xml")},
        ],
    )
    with open_mirror(config_path) as mirror:
        report = mirror.run(now=NOW)
        assert [r.slug for r in report.results if r.failed] == ["dead"], report.results
        assert report.images.failed == 0
        build_site(mirror.store, mirror.config, now=NOW)
        return mirror.config.site.path, mirror.config


def article_ids(tmp_path: Path) -> dict[str, list[int]]:
    """Source → its article ids, oldest first."""
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        rows = db.execute("SELECT source, id FROM articles ORDER BY published_at, id").fetchall()
    found: dict[str, list[int]] = {}
    for source, article_id in rows:
        found.setdefault(source, []).append(article_id)
    return found


def test_a_run_gives_every_page_kind(tmp_path: Path, server: LocalServer) -> None:
    site, _ = run_and_build(tmp_path, server)
    ids = article_ids(tmp_path)
    newest_city = ids["city"][-1]
    day = (NOW - timedelta(hours=5)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    expected = [
        "index.html",
        "pages/1.html",
        "sources/city/index.html",
        f"sources/city/{day[:7]}.html",
        "sources/city/feed.atom",
        "sources/city/feed.json",
        "sources/pics/index.html",
        "days/index.html",
        f"days/{day}.html",
        f"articles/city/{newest_city}.html",
        "about.html",
        "search.html",
        "feed.atom",
        "feed.json",
        "static/style.css",
    ]
    for path in expected:
        assert (site / path).is_file(), path
    for page in html_pages(site):
        text = page.read_text(encoding="utf-8")
        assert text.startswith('<!doctype html>\n<html lang="zh-CN">'), page
        assert 'search.html"' in text, f"{page}: every header links to the search page"

    article = tree(site / f"articles/city/{newest_city}.html")
    assert article.css_first("h1").text() == "第1条：城市图书馆延长开放时间"
    source_link = article.css_first(".meta a")
    assert (source_link.text(), source_link.attributes["href"]) == (
        "城市新闻",
        "../../sources/city/index.html",
    )
    assert article.css_first(".original a").attributes["href"] == (
        "https://city.example.org/news/1.html"
    )
    published, archived = (t.attributes["datetime"] for t in article.css(".times time"))
    assert published == (NOW - timedelta(hours=5)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    assert archived == NOW.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    assert "城市新闻正文。" in article.css_first(".content").text()
    older = article.css_first(".prevnext a.older").attributes["href"]
    assert older == f"../../articles/city/{ids['city'][-2]}.html"
    assert article.css_first(".prevnext a.newer") is None, "the newest has no newer"

    home = tree(site / "index.html")
    titles = [a.text() for a in home.css(".items a.title")]
    assert len(titles) == 8 and titles[0] == "第1条：城市图书馆延长开放时间"
    days = (site / "days/index.html").read_text(encoding="utf-8")
    assert f'href="{day}.html"' in days
    about = tree(site / "about.html")
    rows = {r.css_first("th a").text(): r.text() for r in about.css("tbody tr")}
    assert set(rows) == {"城市新闻", "图片新闻", "停刊报"}
    assert "正常" in rows["城市新闻"] and "4" in rows["城市新闻"]
    assert "连续失败 1 次" in rows["停刊报"] and "HTTP 404" in rows["停刊报"]
    # A source with no article yet still has its page and (empty) feeds.
    assert "还没有文章" in (site / "sources/dead/index.html").read_text(encoding="utf-8")
    assert json.loads((site / "sources/dead/feed.json").read_text(encoding="utf-8"))["items"] == []
    etree.fromstring((site / "sources/dead/feed.atom").read_bytes())
    assert (
        about.css_first("time").attributes["datetime"]
        == NOW.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    )
    search = (site / "search.html").read_text(encoding="utf-8")
    assert 'class="search-widget"' in search


def test_every_relative_link_resolves(tmp_path: Path, server: LocalServer) -> None:
    site, _ = run_and_build(tmp_path, server)
    checked = 0
    for page in html_pages(site):
        for url in references(tree(page)):
            if is_external(url) or url.startswith(("#", "data:")) or not url:  # "": the page
                continue
            target = unquote(urlsplit(url).path)
            resolved = (page.parent / target).resolve()
            if resolved.relative_to(site.resolve()).as_posix().startswith(SEARCH_INDEX):
                continue
            assert resolved.is_file(), f"{page.relative_to(site)}: {url}"
            checked += 1
    assert checked > 100


def test_no_page_loads_anything_from_another_host(tmp_path: Path, server: LocalServer) -> None:
    site, _ = run_and_build(tmp_path, server)
    for page in html_pages(site):
        for tag, attribute, url in loads(tree(page)):
            if not is_external(url):
                continue
            where = page.relative_to(site).as_posix()
            # The only exception: images of a source whose policy is "keep".
            assert (tag, attribute) == ("img", "src"), f"{where}: <{tag} {attribute}={url}>"
            assert where.startswith("articles/city/"), f"{where}: {url}"
            assert url == "https://img.example.org/city/1.jpg"
    css = (site / "static/style.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css
    assert '"PingFang SC"' in css and '"Noto Sans CJK SC"' in css
    assert "prefers-color-scheme: dark" in css

    # Embedded players became links to them; the original's links stay links.
    ids = article_ids(tmp_path)
    article = tree(site / f"articles/city/{ids['city'][0]}.html")
    embeds = {a.attributes["href"] for a in article.css(".content a.embed")}
    assert embeds == {"https://www.youtube.com/embed/abc123", "https://media.example.org/clip.mp4"}
    assert article.css(".content iframe, .content video") == []


def test_mirrored_images_are_in_the_site(tmp_path: Path, server: LocalServer) -> None:
    site, _ = run_and_build(tmp_path, server)
    archive = tmp_path / "archive"
    ids = article_ids(tmp_path)
    for article_id in ids["pics"]:
        page = tree(site / f"articles/pics/{article_id}.html")
        sources = [img.attributes["src"] for img in page.css(".content img")]
        assert len(sources) == 2
        for src in sources:
            assert src.startswith("../../assets/"), src
            local = (site / "articles/pics" / src).resolve()
            assert local.read_bytes() == (archive / local.relative_to(site.resolve())).read_bytes()
        for img in page.css(".content img[srcset]"):
            urls = srcset_urls(img.attributes["srcset"])
            assert urls and all(url.startswith("../../assets/") for url in urls), urls
    # The feeds point at the site's copies too, relative to the feed file.
    feed = etree.fromstring((site / "sources/pics/feed.atom").read_bytes())
    content = feed.find(f"{ATOM}entry/{ATOM}content").text
    assert 'src="../../assets/' in content and "127.0.0.1" not in content


# -- feeds -----------------------------------------------------------------------------------


def test_feeds_are_valid_and_hold_the_newest_100(tmp_path: Path) -> None:
    config = store_config(tmp_path, {"a": "甲报", "b": "乙台"})
    store = open_with_sources(config)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(130):
        insert(
            store,
            "a" if n % 3 else "b",
            n,
            start + timedelta(hours=n),
            title=f"第{n}条 <b>&amp;\x0b\x1f 控制字符",
            content=f"<p>正文 {n} &amp; <em>强调</em>\x08</p>",
            link=f"https://news.example.org/a/{n}.html?x=1&y=2",
        )
    build_site(store, config, now=NOW)
    site = config.site.path
    newest = [f"第{n}条 <b>&amp; 控制字符" for n in range(129, 29, -1)]

    feed = etree.fromstring((site / "feed.atom").read_bytes())  # strict: raises if ill-formed
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "测试镜像"
    assert feed.findtext(f"{ATOM}updated") == "2026-01-06T09:00:00Z"
    for required in ("id", "author/" + ATOM + "name"):
        assert feed.findtext(ATOM + required)
    items = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in items] == newest
    assert len({e.findtext(f"{ATOM}id") for e in items}) == 100
    first = items[0]
    assert first.findtext(f"{ATOM}id").startswith("urn:uuid:")
    assert first.findtext(f"{ATOM}published") == "2026-01-06T09:00:00Z"
    links = {link.get("rel"): link.get("href") for link in first.findall(f"{ATOM}link")}
    assert links["alternate"] == "https://news.example.org/a/129.html?x=1&y=2"
    assert (site / links["related"]).is_file()
    assert first.find(f"{ATOM}content").get("type") == "html"
    assert first.findtext(f"{ATOM}content") == "<p>正文 129 &amp; <em>强调</em></p>"

    document = json.loads((site / "feed.json").read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == "测试镜像"
    assert [item["title"] for item in document["items"]] == newest
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item["content_html"], str)
        assert datetime.fromisoformat(item["date_published"].replace("Z", "+00:00"))
        assert item["url"].startswith("https://news.example.org/")
        assert (site / item["_newsmirror"]["page"]).is_file()

    per_source = etree.fromstring((site / "sources/b/feed.atom").read_bytes())
    titles = [e.findtext(f"{ATOM}title") for e in per_source.findall(f"{ATOM}entry")]
    assert len(titles) == 44 and titles[0] == "第129条 <b>&amp; 控制字符"
    related = per_source.find(f"{ATOM}entry/{ATOM}link[@rel='related']").get("href")
    assert related.startswith("../../articles/b/")
    assert (site / "sources/b" / related).resolve().is_file()
    source_json = json.loads((site / "sources/b/feed.json").read_text(encoding="utf-8"))
    assert len(source_json["items"]) == 44


def test_xml_text_drops_what_xml_cannot_hold() -> None:
    assert xml_text("a\x00b\x0bc\td\ne\ufffef\ud800g") == "abc\td\nefg"


# -- time zone -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "day", "shown"),
    [
        ("Asia/Shanghai", "2026-11-21", "2026-11-21 01:00"),
        ("UTC", "2026-11-20", "2026-11-20 17:00"),
    ],
)
def test_the_archive_time_zone_decides_the_day(
    tmp_path: Path, timezone: str, day: str, shown: str
) -> None:
    config = store_config(tmp_path, {"a": "甲报"}, timezone=timezone)
    store = open_with_sources(config)
    article_id = insert(store, "a", 1, datetime(2026, 11, 20, 17, 0, tzinfo=UTC))
    build_site(store, config, now=NOW)
    site = config.site.path
    assert sorted(p.name for p in (site / "days").iterdir()) == [f"{day}.html", "index.html"]
    listed = tree(site / f"days/{day}.html").css_first(".items a.title")
    assert listed.attributes["href"] == f"../articles/a/{article_id}.html"
    assert (site / f"sources/a/{day[:7]}.html").is_file()
    page = tree(site / f"articles/a/{article_id}.html")
    assert page.css_first(".times time").text() == shown


# -- incremental builds ----------------------------------------------------------------------


def grown_store(tmp_path: Path, name: str = "one") -> tuple[Store, Config]:
    config = store_config(tmp_path / name, {"a": "甲报", "b": "乙台"})
    store = open_with_sources(config)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for n in range(1, 121):  # 120 articles, 8 hours apart: Sep 1 - Oct 10
        insert(store, "a" if n % 2 else "b", n, start + timedelta(hours=8 * n))
    return store, config


def test_incremental_build_renders_only_the_affected_pages(tmp_path: Path) -> None:
    store, config = grown_store(tmp_path)
    site = config.site.path
    first = build_site(store, config, now=NOW)
    assert first.full and first.pages_written == count_pages_of(site)
    before = snapshot(site)

    later = NOW + timedelta(hours=1)
    newest = insert(store, "a", 121, datetime(2026, 10, 12, 8, tzinfo=UTC))
    late = insert(store, "b", 122, datetime(2026, 9, 2, 1, tzinfo=UTC))  # an old date
    with store.transaction() as db:  # a new revision of article 60 (source b)
        store.update_article(
            db,
            60,
            candidate(60, datetime(2026, 9, 21, tzinfo=UTC), title="第60条新闻（更新）"),
            later,
        )
    report = build_site(store, config, now=later)
    assert not report.full
    after = snapshot(site)
    changed = changed_files(before, after)

    assert {
        f"articles/a/{newest}.html",
        f"articles/b/{late}.html",
        "articles/b/60.html",
        "articles/a/119.html",  # the new article's older neighbour in its source
        "days/2026-10-12.html",  # a new day
        "days/2026-10-11.html",  # the day before it: its link to the next day
        "index.html",
        "about.html",
        "days/index.html",
        "pages/3.html",  # article 60 is there, and the late one shifts pages 1-3
        "pages/1.html",
        "feed.atom",
        "sources/a/feed.atom",
    } <= changed
    # The search index follows the article pages (its own report says what it did).
    assert report.search is not None
    assert {p for p in changed if not p.startswith(SEARCH_INDEX)} == set(report.written)
    # Untouched: an article far from every change, and a day with none.
    for path in ("articles/a/33.html", "days/2026-09-15.html", "sources/a/2026-09.html"):
        assert path not in changed and after[path] == before[path]
    assert report.skipped > 100

    # What the incremental build left is exactly what a full build writes, pages and
    # feeds alike. (Not the search index: updated in place it holds dead numbers and
    # appended runs; test_searchindex_incremental.py compares what it finds instead.)
    other = store_config(tmp_path / "two", {"a": "甲报", "b": "乙台"})
    full_config = Config(other.path, config.archive, other.site, config.fetch, config.sources)
    build_site(store, full_config, everything=True, now=later)

    def pages(files: dict[str, tuple[int, bytes]]) -> dict[str, bytes]:
        return {p: data for p, (_, data) in files.items() if not p.startswith(SEARCH_INDEX)}

    assert pages(snapshot(full_config.site.path)) == pages(after)


def count_pages_of(site: Path) -> int:
    return sum(1 for p in site.rglob("*") if p.suffix in (".html", ".atom", ".json")) - 1


def test_a_build_with_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    store, config = grown_store(tmp_path)
    build_site(store, config, now=NOW)
    before = snapshot(config.site.path)
    assert store.site_dirty_ids() == [], "the flags are cleared once the files are written"
    for everything in (False, True):
        report = build_site(store, config, everything=everything, now=NOW + timedelta(days=1))
        assert report.written == ()
    assert snapshot(config.site.path) == before
    about = tree(config.site.path / "about.html")
    assert about.css_first("time").attributes["datetime"] == "2026-11-21T20:00:00+08:00", (
        "the time of the last build that changed something"
    )


def test_pages_of_home_are_stable_when_articles_are_added(tmp_path: Path) -> None:
    store, config = grown_store(tmp_path)
    site = config.site.path
    build_site(store, config, now=NOW)
    assert [p.name for p in sorted((site / "pages").iterdir())] == ["1.html", "2.html", "3.html"]
    page_one = tree(site / "pages/1.html")
    assert len(page_one.css(".items li")) == PAGE_SIZE
    before = snapshot(site)
    for n in range(121, 135):
        insert(store, "a", n, datetime(2026, 10, 11, tzinfo=UTC) + timedelta(minutes=n))
    build_site(store, config, now=NOW)
    after = snapshot(site)
    assert after["pages/1.html"] == before["pages/1.html"]
    assert after["pages/2.html"] == before["pages/2.html"]
    assert after["pages/3.html"] != before["pages/3.html"]
    assert len(tree(site / "pages/3.html").css(".items li")) == 34
    home = tree(site / "index.html")
    assert home.css_first(".items a.title").text() == "第134条新闻：城市图书馆延长开放时间"
    assert home.css_first(".pager a").attributes["href"] == "pages/2.html"


def test_a_changed_style_or_config_rebuilds_everything(tmp_path: Path) -> None:
    store, config = grown_store(tmp_path)
    build_site(store, config, now=NOW)
    renamed = store_config(tmp_path / "one", {"a": "甲日报", "b": "乙台"})
    report = build_site(store, renamed, now=NOW)
    assert report.full
    page = tree(renamed.site.path / "articles/b/2.html")
    assert page.css_first(".prevnext a.newer").attributes["href"] == "../../articles/b/4.html"
    assert "甲日报" in (renamed.site.path / "days/2026-09-01.html").read_text(encoding="utf-8")


# -- what articles hold -------------------------------------------------------------------------


def test_hostile_titles_and_links_stay_text(tmp_path: Path) -> None:
    config = store_config(tmp_path, {"a": "甲报"})
    store = open_with_sources(config)
    article_id = insert(
        store,
        "a",
        1,
        datetime(2026, 11, 1, tzinfo=UTC),
        title='<script>alert("x")</script>标题',
        link="javascript:alert(1)",
    )
    build_site(store, config, now=NOW)
    text = (config.site.path / f"articles/a/{article_id}.html").read_text(encoding="utf-8")
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'href="javascript:' not in text
    page = tree(config.site.path / f"articles/a/{article_id}.html")
    assert page.css_first(".original").text() == "javascript:alert(1)"


def test_an_updated_article_says_so(tmp_path: Path) -> None:
    config = store_config(tmp_path, {"a": "甲报"})
    store = open_with_sources(config)
    published = datetime(2026, 11, 1, tzinfo=UTC)
    article_id = insert(store, "a", 1, published)
    build_site(store, config, now=NOW)
    page = tree(config.site.path / f"articles/a/{article_id}.html")
    assert page.css_first(".updates") is None
    for hours in (1, 2):
        with store.transaction() as db:
            store.update_article(
                db,
                article_id,
                candidate(1, published, content=f"<p>第{hours}次更正。</p>"),
                published + timedelta(hours=hours),
            )
    build_site(store, config, now=NOW)
    page = tree(config.site.path / f"articles/a/{article_id}.html")
    assert "更新过 2 次" in page.css_first(".updates").text()
    assert page.css_first(".updates time").attributes["datetime"] == "2026-11-01T10:00:00+08:00"
    assert "第2次更正。" in page.css_first(".content").text()


def test_images_through_the_proxy(tmp_path: Path) -> None:
    config = store_config(tmp_path, {"a": "甲报"}, images={"a": "proxy"})
    store = open_with_sources(config)
    content = '<p><img src="https://img.example.org/x.jpg?s=1&amp;t=2" alt="图"></p>'
    article_id = insert(store, "a", 1, datetime(2026, 11, 1, tzinfo=UTC), content=content)
    build_site(store, config, now=NOW)
    page = tree(config.site.path / f"articles/a/{article_id}.html")
    assert page.css_first(".content img").attributes["src"] == (
        "https://images.weserv.nl?url=img.example.org/x.jpg?s=1%26t=2"
    )
    feed = json.loads((config.site.path / "feed.json").read_text(encoding="utf-8"))
    assert "images.weserv.nl?url=img.example.org/x.jpg" in feed["items"][0]["content_html"]


def test_embeds_as_links() -> None:
    html = (
        '<p>a</p><iframe src="https://www.youtube.com/embed/x" allowfullscreen></iframe>'
        '<audio controls><source src="//media.example.org/a.mp3"></audio>'
        '<video controls><source src="local.mp4"></video><p>b</p>'
    )
    assert embeds_as_links(html) == (
        '<p>a</p><a class="embed" href="https://www.youtube.com/embed/x" '
        'rel="noopener noreferrer">外部内容：www.youtube.com</a>'
        '<a class="embed" href="https://media.example.org/a.mp3" '
        'rel="noopener noreferrer">外部音频：media.example.org</a>'
        '<video controls><source src="local.mp4"></video><p>b</p>'
    )
    assert embeds_as_links("<p>无</p>") == "<p>无</p>"
