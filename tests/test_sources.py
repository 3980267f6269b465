"""Managing sources in the config file: edits keep everything else byte for byte."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from newsmirror.config import SLUG_PATTERN, load_config
from newsmirror.errors import ConfigError
from newsmirror.fetch import Fetcher
from newsmirror.localserver import LocalServer, Route
from newsmirror.models import FetchSettings
from newsmirror.sources import (
    FeedNotFoundError,
    add_source,
    derive_slug,
    discover_feed,
    export_opml,
    import_opml,
    list_sources,
    remove_source,
)

from .conftest import CORPUS, need_shared
from .feedkit import Item, rss

CONFIG = """\
# my mirror
[archive]
path = "archive"   # the git repository

# 美国之音: the Chinese service
[[source]]
name = "美国之音"
slug = "voa"
url = "https://www.voachinese.com/api/feed"
layouts = ["markdown"]   # no Jekyll for this one

# Deutsche Welle
[[source]]
name = "德国之声"
slug = "dw"
url = "https://rss.dw.com/rdf/rss-chi-all"
id_pattern = "a-(\\\\d+)"

# fetch settings, tuned by hand
[fetch]
timeout = 20
"""

TEST_FETCH = FetchSettings(timeout=5, connect_timeout=5, retries=0)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "newsmirror.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def slugs(path: Path) -> list[str]:
    return [source.slug for source in list_sources(path)]


def test_list_sources(config: Path) -> None:
    assert [(s.name, s.slug) for s in list_sources(config)] == [
        ("美国之音", "voa"),
        ("德国之声", "dw"),
    ]


def test_add_appends_after_the_last_source_and_keeps_every_other_byte(config: Path) -> None:
    added = add_source(config, "https://feeds.example.org/world.xml", name="World News", slug=None)
    assert (added.name, added.slug, added.url) == (
        "World News",
        "world-news",
        "https://feeds.example.org/world.xml",
    )
    new_table = '\n[[source]]\nname = "World News"\nslug = "world-news"\nurl = "https://feeds.example.org/world.xml"\n'
    at = CONFIG.index("\n# fetch settings")
    assert config.read_text(encoding="utf-8") == CONFIG[:at] + new_table + CONFIG[at:]
    assert slugs(config) == ["voa", "dw", "world-news"]


def test_add_derives_short_unique_ascii_slugs(config: Path) -> None:
    # A Chinese name: the slug comes from the host.
    first = add_source(config, "https://rss.example.com/zh/a.xml", name="法广", slug=None)
    second = add_source(config, "https://rss.example.com/zh/b.xml", name="法广要闻", slug=None)
    third = add_source(config, "https://www.example.net/feed", name=None, slug=None)
    assert (first.slug, second.slug) == ("rss-example-com", "rss-example-com-2")
    assert (third.name, third.slug) == ("example.net", "example-net")
    assert derive_slug("BBC 中文", "https://feeds.bbci.co.uk/", []) == "bbc"
    assert derive_slug("36氪", "https://www.36kr.com/feed", []) == "36kr-com"
    assert derive_slug("Café Crème: the daily", "https://x.example/", []) == "cafe-creme-the-daily"
    long = derive_slug("A very long name " * 10, "https://x.example/", [])
    assert SLUG_PATTERN.match(long) and len(long) <= 32
    assert derive_slug("新闻", "https://新闻.example/", []) == "xn-efvy88h-example"


def test_add_into_a_config_without_sources(tmp_path: Path) -> None:
    path = tmp_path / "newsmirror.toml"
    path.write_text('[site]\ntitle = "x"', encoding="utf-8")  # no final newline
    add_source(path, "https://a.example/feed", name="A", slug="a")
    assert path.read_text(encoding="utf-8") == (
        '[site]\ntitle = "x"\n\n[[source]]\nname = "A"\nslug = "a"\nurl = "https://a.example/feed"\n'
    )


@pytest.mark.parametrize(
    ("url", "name", "slug", "message"),
    [
        ("https://rss.dw.com/rdf/rss-chi-all", "DW", None, "already a source: 'dw'"),
        ("HTTPS://RSS.DW.COM/rdf/rss-chi-all", "DW", None, "already a source: 'dw'"),
        ("https://new.example/feed", "德国之声", None, "already a source named '德国之声'"),
        ("https://new.example/feed", "New", "voa", "already a source with slug 'voa'"),
        ("https://new.example/feed", "New", "Not A Slug", "is not a slug"),
        ("ftp://new.example/feed", "New", None, "not an http:// or https:// URL"),
    ],
)
def test_add_refuses_duplicates_and_bad_values(
    config: Path, url: str, name: str, slug: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        add_source(config, url, name=name, slug=slug)
    assert config.read_text(encoding="utf-8") == CONFIG


def test_an_invalid_result_is_refused_and_the_file_left_as_it_was(config: Path) -> None:
    # An empty name passes add's own checks; validating the result refuses it.
    with pytest.raises(ConfigError, match=r"source\[2\]\.name: change refused.*must not be empty"):
        add_source(config, "https://new.example/feed", name="   ", slug="new")
    assert config.read_text(encoding="utf-8") == CONFIG
    assert not [p for p in config.parent.iterdir() if p.name != config.name]  # no temporary left


def test_remove_takes_the_table_and_its_comment_and_nothing_else(config: Path) -> None:
    removed = remove_source(config, "voa")
    assert removed.name == "美国之音"
    start = CONFIG.index("# 美国之音")
    end = CONFIG.index("# Deutsche Welle")
    assert config.read_text(encoding="utf-8") == CONFIG[:start] + CONFIG[end:]
    remove_source(config, "dw")
    end = CONFIG.index("# fetch settings")
    assert config.read_text(encoding="utf-8") == CONFIG[:start] + CONFIG[end:]
    assert list_sources(config) == []


def test_remove_the_last_table_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "newsmirror.toml"
    text = '[[source]]\nname = "A"\nslug = "a"\nurl = "https://a.example/"\n\n[[source]]\nname = "B"\nslug = "b"\nurl = "https://b.example/"\ninclude = { title = "x" }\n\n'
    path.write_text(text, encoding="utf-8")
    remove_source(path, "b")
    assert path.read_text(encoding="utf-8") == text[: text.index('\n[[source]]\nname = "B"')]


def test_remove_an_unknown_slug(config: Path) -> None:
    with pytest.raises(ConfigError, match=r"no source with slug 'bbc' \(slugs: voa, dw\)"):
        remove_source(config, "bbc")
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_file_too_unusual_to_splice_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "newsmirror.toml"
    # A [[source]] header line inside a multi-line string: not a table.
    text = '[site]\ntitle = """\n[[source]]\n"""\n\n[[source]]\nname = "A"\nslug = "a"\nurl = "https://a.example/"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot edit safely"):
        remove_source(path, "a")
    assert path.read_text(encoding="utf-8") == text


# -- feed autodiscovery ------------------------------------------------------------


def page(head: str) -> Route:
    html = (
        f"<!doctype html><html><head><title>新闻</title>{head}</head><body><p>hi</p></body></html>"
    )
    return Route(html.encode(), content_type="text/html; charset=utf-8")


def discover(url: str) -> str:
    async def go() -> str:
        async with Fetcher(TEST_FETCH) as fetcher:
            return await discover_feed(fetcher, url)

    return asyncio.run(go())


def test_discover_a_feed_linked_from_a_page(server: LocalServer) -> None:
    feed = server.add("/news/feed.xml", rss([Item()]))
    server.add(
        "/news/",
        page(
            '<link rel="stylesheet" href="/s.css">'
            '<link rel="alternate" hreflang="en" type="text/html" href="/en/">'
            '<link rel="Alternate" type="application/rss+xml" title="RSS" href="feed.xml">'
            '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
        ),
    )
    assert discover(server.url("/news/")) == feed
    assert discover(feed) == feed  # a feed is its own feed
    server.add(
        "/based",
        page(
            '<base href="/other/"><link rel="alternate" type="application/feed+json" href="f.json">'
        ),
    )
    assert discover(server.url("/based")) == server.url("/other/f.json")


def test_discover_finds_nothing(server: LocalServer) -> None:
    url = server.add(
        "/plain", page('<link rel="alternate" type="application/rss+xml" href="javascript:x">')
    )
    with pytest.raises(FeedNotFoundError, match=r"^no feed found at http://127\.0\.0\.1"):
        discover(url)


def test_add_a_web_page_adds_its_feed(config: Path, server: LocalServer) -> None:
    feed = server.add("/feed.xml", rss([Item()]))
    server.add("/", page('<link rel="alternate" type="application/rss+xml" href="/feed.xml">'))
    added = add_source(
        config, server.url("/"), name="Local", slug=None, fetcher_url_resolver=discover
    )
    assert (added.slug, added.url) == ("local", feed)
    assert load_config(config).source("local").url == feed


# -- OPML --------------------------------------------------------------------------

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="BBC \xe4\xb8\xad\xe6\x96\x87" type="rss" xmlUrl="https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"/>
      <outline text="Again" type="rss" xmlUrl="https://rss.dw.com/rdf/rss-chi-all"/>
      <outline text="Tech">
        <outline title="Only a title" type="rss" xmlUrl="https://tech.example.org/feed"/>
        <outline text="Twice" type="rss" xmlUrl="https://tech.example.org/feed"/>
      </outline>
    </outline>
    <outline text="Broken" type="rss" xmlUrl="javascript:alert(1)"/>
    <outline text="No URL" type="rss"/>
    <outline type="rss" xmlUrl="https://www.nameless.example/feed"/>
  </body>
</opml>
"""


def test_import_opml(config: Path) -> None:
    report = import_opml(config, OPML)
    assert [(s.name, s.slug, s.url) for s in report.added] == [
        ("BBC 中文", "bbc", "https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"),
        ("Only a title", "only-a-title", "https://tech.example.org/feed"),
        ("nameless.example", "nameless-example", "https://www.nameless.example/feed"),
    ]
    assert [(n.name, n.reason) for n in report.skipped] == [
        ("Again", "already a source: 'dw'"),
        ("Twice", "listed twice in the OPML"),
    ]
    assert [n.name for n in report.invalid] == ["Broken", "No URL"]
    assert slugs(config)[:2] == ["voa", "dw"] and len(slugs(config)) == 5
    assert config.read_text(encoding="utf-8").startswith(
        CONFIG[: CONFIG.index("\n# fetch settings")]
    )
    assert import_opml(config, OPML).added == ()  # a second import adds nothing


def test_import_never_reads_an_external_entity(config: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    opml = (
        f'<!DOCTYPE opml [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
        '<opml version="2.0"><body><outline text="x" xmlUrl="https://a.example/&s;"/>'
        "<outline>&s;</outline></body></opml>"
    ).encode()
    with pytest.raises(ConfigError, match="external entity"):
        import_opml(config, opml)
    assert config.read_text(encoding="utf-8") == CONFIG


def test_import_refuses_what_is_not_opml(config: Path) -> None:
    with pytest.raises(ConfigError, match="not well-formed XML"):
        import_opml(config, b"<opml><body>")
    with pytest.raises(ConfigError, match="not an OPML document"):
        import_opml(config, b"<rss/>")
    assert config.read_text(encoding="utf-8") == CONFIG


def test_export_opml_exact_bytes(config: Path) -> None:
    assert (
        export_opml(config, title="Mine")
        == (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<opml version="2.0">\n'
            "  <head>\n"
            "    <title>Mine</title>\n"
            "  </head>\n"
            "  <body>\n"
            '    <outline type="rss" text="美国之音" title="美国之音" xmlUrl="https://www.voachinese.com/api/feed"/>\n'
            '    <outline type="rss" text="德国之声" title="德国之声" xmlUrl="https://rss.dw.com/rdf/rss-chi-all"/>\n'
            "  </body>\n"
            "</opml>\n"
        ).encode()
    )
    assert b"<title>\xe6\x96\xb0\xe9\x97\xbb\xe9\x95\x9c\xe5\x83\x8f</title>" in export_opml(config)


def round_trip(tmp_path: Path, opml: bytes) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text("", encoding="utf-8")
    second.write_text("", encoding="utf-8")
    import_opml(first, opml)
    exported = export_opml(first)
    report = import_opml(second, exported)
    assert report.skipped == () and report.invalid == ()
    assert list_sources(first) == list_sources(second)
    assert export_opml(second) == exported
    assert tomllib.loads(first.read_text(encoding="utf-8")) == tomllib.loads(
        second.read_text(encoding="utf-8")
    )


def test_round_trip_of_our_opml(tmp_path: Path) -> None:
    round_trip(tmp_path, OPML)


def test_round_trip_of_a_real_opml(tmp_path: Path) -> None:
    opml = need_shared(CORPUS / "opml" / "miniflux-news.opml").read_bytes()
    round_trip(tmp_path, opml)
    sources = list_sources(tmp_path / "a.toml")
    assert len(sources) > 100
    assert all(SLUG_PATTERN.match(s.slug) and len(s.slug) <= 32 for s in sources)
