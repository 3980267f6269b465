"""Pure decisions: keys, canonical URLs, filters, dates, new/updated/unchanged."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from newsmirror.config import Filters, SourceConfig
from newsmirror.decide import (
    UNTITLED,
    Known,
    article_key,
    candidates,
    canonical_url,
    decide,
    publication_order,
)
from newsmirror.models import Entry

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def source(**changes: object) -> SourceConfig:
    values: dict[str, object] = {
        "name": "测试",
        "slug": "test",
        "url": "https://feeds.example.org/rss",
        "layouts": ("markdown",),
    }
    values.update(changes)
    return SourceConfig(**values)  # type: ignore[arg-type]


def entry(**changes: object) -> Entry:
    values: dict[str, object] = {
        "title": "标题",
        "link": "https://news.example.org/a/1",
        "guid": None,
        "published_at": NOW - timedelta(hours=1),
        "content": "<p>正文</p>",
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://News.Example.ORG/a/1?b=2#top", "https://news.example.org/a/1?b=2"),
        ("https://news.example.org:443/a", "https://news.example.org/a"),
        ("http://news.example.org:8080/a", "http://news.example.org:8080/a"),
        (
            "https://news.example.org/a?utm_source=rss&id=7&utm_medium=feed&fbclid=x",
            "https://news.example.org/a?id=7",
        ),
        ("https://news.example.org", "https://news.example.org/"),
        ("  https://news.example.org/中文/路径  ", "https://news.example.org/中文/路径"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_key_prefers_guid_then_canonical_url_then_content() -> None:
    assert article_key(entry(guid=" abc "), source()) == "guid:abc"
    assert article_key(entry(link="https://news.example.org/a/1?utm_source=x#c"), source()) == (
        "url:https://news.example.org/a/1"
    )
    no_identity = entry(link=None, guid=None)
    key = article_key(no_identity, source())
    assert key.startswith("hash:") and key == article_key(no_identity, source())
    assert key != article_key(entry(link=None, content="<p>另一篇</p>"), source())


def test_id_pattern_makes_retitled_urls_one_article() -> None:
    dw = source(id_pattern=re.compile(r"a-(\d+)"))
    first = entry(link="https://www.dw.example/zh/旧标题/a-70295048")
    retitled = entry(link="https://www.dw.example/zh/新标题/a-70295048", guid="x")
    assert article_key(first, dw) == article_key(retitled, dw) == "id:70295048"
    # No match: the ordinary rules apply.
    assert article_key(entry(link="https://www.dw.example/zh/live"), dw).startswith("url:")


def test_filters_include_then_exclude() -> None:
    cdt = source(
        include=Filters(category=re.compile("中国|香港", re.I)),
        exclude=Filters(title=re.compile("^广告", re.I)),
    )
    batch = candidates(
        [
            entry(guid="1", categories=("中国新闻",)),
            entry(guid="2", categories=("体育",)),
            entry(guid="3", categories=("香港",), title="广告：促销"),
            entry(guid="4", categories=()),
        ],
        cdt,
        NOW,
    )
    assert [c.key for c in batch.candidates] == ["guid:1"]
    assert batch.filtered == 3


def test_dates_missing_future_and_updated_only() -> None:
    batch = candidates(
        [
            entry(guid="none", published_at=None),
            entry(guid="future", published_at=NOW + timedelta(days=2)),
            entry(guid="updated", published_at=None, updated_at=NOW - timedelta(days=1)),
        ],
        source(),
        NOW,
    )
    none, future, updated = batch.candidates
    assert (none.published_at, none.date_from_feed) == (NOW, False)
    assert (future.published_at, future.date_from_feed) == (NOW, True)
    assert updated.published_at == NOW - timedelta(days=1)


def test_missing_title_and_link() -> None:
    batch = candidates(
        [
            entry(guid="1", title=None, content="<p>没有标题的<b>正文</b>\n第二行</p>"),
            entry(guid="2", title="  ", content=""),
            entry(guid="https://news.example.org/g/3", link=None),
            entry(guid="urn:x", link=None),
        ],
        source(),
        NOW,
    )
    titled, untitled, guid_link, no_link = batch.candidates
    assert titled.title == "没有标题的 正文 第二行"
    assert untitled.title == UNTITLED
    assert guid_link.link == "https://news.example.org/g/3"
    assert no_link.link == ""


def test_a_feed_listing_an_entry_twice_gives_one_candidate() -> None:
    batch = candidates([entry(guid="1"), entry(guid="2"), entry(guid="1")], source(), NOW)
    assert [c.key for c in batch.candidates] == ["guid:1", "guid:2"]
    assert batch.duplicates == 1


def test_new_updated_unchanged() -> None:
    batch = candidates(
        [entry(guid="new"), entry(guid="same"), entry(guid="changed", content="<p>改</p>")],
        source(),
        NOW,
    )
    same = next(c for c in batch.candidates if c.key == "guid:same")
    known = {"guid:same": Known(1, same.fingerprint), "guid:changed": Known(2, "old")}
    decision = decide(batch, known)
    assert [c.key for c in decision.new] == ["guid:new"]
    assert [(i, c.key) for i, c in decision.updated] == [(2, "guid:changed")]
    assert decision.unchanged == 1


def test_a_new_date_alone_is_not_an_update() -> None:
    first = candidates([entry(guid="1")], source(), NOW).candidates[0]
    redated = candidates([entry(guid="1", published_at=NOW - timedelta(days=3))], source(), NOW)
    decision = decide(redated, {"guid:1": Known(1, first.fingerprint)})
    assert decision.unchanged == 1 and not decision.updated


def test_publication_order_is_oldest_first_and_stable() -> None:
    same_time = NOW - timedelta(hours=2)
    batch = candidates(
        [
            entry(guid="newest", published_at=NOW - timedelta(hours=1)),
            entry(guid="tie-a", published_at=same_time),
            entry(guid="tie-b", published_at=same_time),
            entry(guid="oldest", published_at=NOW - timedelta(days=1)),
        ],
        source(),
        NOW,
    )
    order = [c.key for c in publication_order(batch.candidates)]
    # Among equal dates the later feed position is taken as older.
    assert order == ["guid:oldest", "guid:tie-b", "guid:tie-a", "guid:newest"]
