"""The demo's own feeds: deterministic, well-formed, in their declared encodings, original.

These tests read the feeds the way a feed reader would (lxml, json), not through
newsmirror's parser, so that a bug in one cannot hide a bug in the other.
"""

from __future__ import annotations

import email.utils
import html
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from newsmirror.demo_feeds import DEMO_ARTICLE_COUNT, DemoFeed, demo_feeds

NOW = datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"

# How many entries each feed lists; kexue lists one of its eight articles twice.
EXPECTED_ENTRIES = {"tianqi": 8, "kexue": 9, "shequ": 8, "jishu": 8, "shufang": 8}
# How much of the archive the demo's dates span (the spec: "~10 days before now").
DATE_SPAN = timedelta(days=10)
# Corpus check: fragments shorter than this are common phrases, not copied text.
MIN_FRAGMENT = 8


@dataclass(frozen=True)
class Seen:
    """One entry as a plain reader sees it."""

    slug: str
    id: str
    title: str
    link: str | None
    published_at: datetime | None
    html: str


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path)
    return None if found is None else (found.text or "")


def _entries(feed: DemoFeed) -> list[Seen]:
    if feed.content_type.startswith("application/feed+json"):
        document = json.loads(feed.body)
        return [
            Seen(
                feed.slug,
                item["id"],
                item["title"],
                item.get("url"),
                datetime.fromisoformat(item["date_published"])
                if "date_published" in item
                else None,
                item["content_html"],
            )
            for item in document["items"]
        ]
    root = etree.fromstring(feed.body)
    if root.tag == "rss":
        seen = []
        for item in root.iter("item"):
            pub_date = _text(item, "pubDate")
            link = _text(item, "link")
            seen.append(
                Seen(
                    feed.slug,
                    _text(item, "guid") or link or "",
                    _text(item, "title") or "",
                    link,
                    email.utils.parsedate_to_datetime(pub_date) if pub_date else None,
                    _text(item, f"{{{CONTENT}}}encoded") or _text(item, "description") or "",
                )
            )
        return seen
    if root.tag == f"{{{ATOM}}}feed":
        seen = []
        for entry in root.iter(f"{{{ATOM}}}entry"):
            published = _text(entry, f"{{{ATOM}}}published")
            link = entry.find(f"{{{ATOM}}}link[@rel='alternate']")
            seen.append(
                Seen(
                    feed.slug,
                    _text(entry, f"{{{ATOM}}}id") or "",
                    _text(entry, f"{{{ATOM}}}title") or "",
                    None if link is None else link.get("href"),
                    datetime.fromisoformat(published) if published else None,
                    _text(entry, f"{{{ATOM}}}content") or "",
                )
            )
        return seen
    if root.tag == f"{{{RDF}}}RDF":
        seen = []
        for item in root.iter(f"{{{RSS1}}}item"):
            dc_date = _text(item, f"{{{DC}}}date")
            seen.append(
                Seen(
                    feed.slug,
                    item.get(f"{{{RDF}}}about") or "",
                    _text(item, f"{{{RSS1}}}title") or "",
                    _text(item, f"{{{RSS1}}}link"),
                    datetime.fromisoformat(dc_date) if dc_date else None,
                    _text(item, f"{{{RSS1}}}description") or "",
                )
            )
        return seen
    raise AssertionError(f"{feed.slug}: unexpected root element {root.tag}")


@pytest.fixture(scope="module")
def feeds() -> dict[str, DemoFeed]:
    return {feed.slug: feed for feed in demo_feeds(NOW)}


@pytest.fixture(scope="module")
def entries(feeds: dict[str, DemoFeed]) -> list[Seen]:
    return [seen for feed in feeds.values() for seen in _entries(feed)]


@pytest.fixture(scope="module")
def articles(entries: list[Seen]) -> list[Seen]:
    """Entries with the re-listed one counted once."""
    distinct: dict[tuple[str, str], Seen] = {}
    for seen in entries:
        distinct.setdefault((seen.slug, seen.id), seen)
    return list(distinct.values())


def test_same_now_gives_the_same_bytes() -> None:
    first = demo_feeds(NOW)
    assert demo_feeds(NOW) == first
    # The same instant in another zone, or with microseconds, is the same `now`.
    assert demo_feeds(NOW.astimezone(timezone(timedelta(hours=8)))) == first
    assert demo_feeds(NOW.replace(microsecond=999)) == first


def test_another_now_moves_the_dates_not_the_articles() -> None:
    later = {f.slug: f for f in demo_feeds(NOW + timedelta(days=1))}
    for feed in demo_feeds(NOW):
        assert feed.body != later[feed.slug].body
        ids = [seen.id for seen in _entries(feed)]
        assert ids == [seen.id for seen in _entries(later[feed.slug])]


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        demo_feeds(datetime(2026, 11, 21, 4, 0))


def test_slugs_and_paths_are_unique_and_names_chinese() -> None:
    feeds = demo_feeds(NOW)
    assert len(feeds) == 5
    assert len({feed.slug for feed in feeds}) == len(feeds)
    assert len({feed.path for feed in feeds}) == len(feeds)
    for feed in feeds:
        assert re.fullmatch(r"[a-z]+", feed.slug)
        assert feed.path.startswith("/feeds/" + feed.slug + ".")
        assert re.search(r"[\u4e00-\u9fff]", feed.name)


@pytest.mark.parametrize("slug", ["tianqi", "kexue", "shequ", "shufang"])
def test_xml_feeds_parse_with_the_expected_entry_count(
    feeds: dict[str, DemoFeed], slug: str
) -> None:
    feed = feeds[slug]
    root = etree.fromstring(feed.body)  # raises if not well-formed
    items = [e for e in root.iter() if etree.QName(e).localname in ("item", "entry")]
    assert len(items) == EXPECTED_ENTRIES[slug]
    declared = re.match(rb'<\?xml version="1.0" encoding="([^"]+)"\?>', feed.body)
    assert declared is not None
    charset = feed.content_type.rpartition("charset=")[2]
    assert charset.lower() == declared.group(1).decode().lower()


def test_the_json_feed_is_json_feed_1_1(feeds: dict[str, DemoFeed]) -> None:
    document = json.loads(feeds["jishu"].body)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert len(document["items"]) == EXPECTED_ENTRIES["jishu"]
    for item in document["items"]:
        assert {"id", "title", "content_html", "tags"} <= item.keys()


def test_formats_are_the_five_newsmirror_parses(feeds: dict[str, DemoFeed]) -> None:
    tianqi = etree.fromstring(feeds["tianqi"].body)
    assert tianqi.tag == "rss" and tianqi.get("version") == "2.0"
    assert tianqi.find(f"channel/item/{{{CONTENT}}}encoded") is not None
    assert etree.fromstring(feeds["kexue"].body).tag == f"{{{ATOM}}}feed"
    assert etree.fromstring(feeds["shequ"].body).tag == f"{{{RDF}}}RDF"
    assert etree.fromstring(feeds["shufang"].body).get("version") == "2.0"


def test_rss2_content_is_cdata_over_indented_lines(feeds: dict[str, DemoFeed]) -> None:
    body = feeds["tianqi"].body.decode("utf-8")
    assert "<content:encoded><![CDATA[\n        <p>" in body
    assert '<guid isPermaLink="false">' in body
    # "]]>" in the HTML is split over two CDATA sections, and comes back whole.
    assert "]]]]><![CDATA[>" in body
    assert any("T[d[0]]>30" in seen.html for seen in _entries(feeds["tianqi"]))


def test_the_big5_feed_is_really_big5(feeds: dict[str, DemoFeed]) -> None:
    feed = feeds["shufang"]
    assert feed.content_type == "application/rss+xml; charset=Big5"
    assert feed.body.startswith(b'<?xml version="1.0" encoding="Big5"?>')
    text = feed.body.decode("big5")  # strict: every byte sequence is Big5
    with pytest.raises(UnicodeDecodeError):
        feed.body.decode("utf-8")
    # lxml, reading the declaration, sees the same Traditional Chinese text.
    titles = [seen.title for seen in _entries(feed)]
    assert titles and all(f"<title>{title}</title>" in text for title in titles)
    assert "讀書會" in text and "书" not in text


def test_distinct_articles_match_the_count(articles: list[Seen]) -> None:
    assert len(articles) == DEMO_ARTICLE_COUNT == 40
    titles = [seen.title for seen in articles]
    assert len(set(titles)) == len(titles)
    assert all(seen.id for seen in articles)


def test_dates_span_the_days_before_now(entries: list[Seen]) -> None:
    future = [seen for seen in entries if seen.published_at and seen.published_at > NOW]
    undated = [seen for seen in entries if seen.published_at is None]
    assert [(seen.slug, seen.published_at) for seen in future] == [("jishu", NOW + timedelta(2))]
    assert [seen.slug for seen in undated] == ["tianqi"]
    past = [seen.published_at for seen in entries if seen.published_at and seen not in future]
    assert all(NOW - DATE_SPAN <= published_at < NOW for published_at in past)
    assert max(NOW - published_at for published_at in past) > timedelta(days=8)


def test_each_edge_case_occurs_once(entries: list[Seen], articles: list[Seen]) -> None:
    linkless = [seen for seen in entries if not seen.link]
    assert [(seen.slug, seen.id.startswith("https://")) for seen in linkless] == [("shufang", True)]
    relisted = [key for key, n in Counter((s.slug, s.id) for s in entries).items() if n > 1]
    assert [slug for slug, _ in relisted] == ["kexue"]
    assert [seen.slug for seen in articles if "../" in seen.title] == ["shequ"]
    ascii_title = [seen for seen in articles if all(c in seen.title for c in '":/#[\\')]
    assert [seen.slug for seen in ascii_title] == ["jishu"]


def _blocks(fragment: str) -> list[lxml.html.HtmlElement]:
    return [e for e in lxml.html.fragments_fromstring(fragment) if not isinstance(e, str)]


def test_bodies_are_news_like_html(articles: list[Seen]) -> None:
    tags: Counter[str] = Counter()
    for seen in articles:
        blocks = _blocks(seen.html)
        paragraphs = sum(block.tag == "p" for block in blocks)
        assert 2 <= paragraphs <= 6, (seen.title, paragraphs)
        tags.update(element.tag for block in blocks for element in block.iter())
    assert tags["h2"] and tags["blockquote"] and tags["ul"]
    assert tags["pre"] == 1
    pre = next(seen.html for seen in articles if "<pre>" in seen.html)
    assert re.search(r"<pre>[^<]*<code>[^<]*\n  \S", pre)  # lines and indentation inside
    sources = [
        img.get("src") for seen in articles for b in _blocks(seen.html) for img in b.iter("img")
    ]
    assert any(src.startswith("/") for src in sources)
    assert any(src.startswith("https://img.example.org/") for src in sources)


def _corpus_texts() -> Iterator[str]:
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for encoding in ("utf-8", "gb18030", "big5"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("utf-8", errors="replace")
        yield html.unescape(text)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the test corpus is absent ({CORPUS})")
def test_no_text_is_copied_from_the_corpus(articles: list[Seen]) -> None:
    corpus = "\n\0".join(_corpus_texts())
    fragments = {seen.title for seen in articles}
    for seen in articles:
        text = lxml.html.fragment_fromstring(seen.html, create_parent="div").text_content()
        fragments.update(re.split(r"[。？！；\n]", text))
    copied = sorted(f for f in fragments if len(f.strip()) >= MIN_FRAGMENT and f in corpus)
    assert copied == []
