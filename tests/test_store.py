"""The SQLite store: schema versions, transactions, ids, a real file on disk."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror.decide import candidates
from newsmirror.errors import StoreError
from newsmirror.models import Entry, HttpCache
from newsmirror.store import (
    FIRST_MARKDOWN_ID,
    SCHEMA_VERSION,
    from_ms,
    open_store,
    refresh_search,
    to_ms,
)

from .test_decide import source

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_new_store_is_wal_and_at_the_latest_schema(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sources", "articles", "revisions", "fetch_log"} <= tables
    assert store.integrity_ok()
    store.close()
    # Opening again migrates nothing and keeps the data.
    again = open_store(tmp_path / "s.sqlite")
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this newsmirror"):
        open_store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        open_store(path)
    assert str(path) in str(caught.value)


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    store.sync_sources([("a", "甲", "https://a.example/")])
    with pytest.raises(RuntimeError), store.transaction() as db:
        store.record_success(db, "a", HttpCache('"v1"', None), NOW)
        raise RuntimeError("crash half way")
    assert store.http_cache("a") == HttpCache()
    with store.transaction() as db:
        store.record_success(db, "a", HttpCache('"v1"', "Sat, 21 Nov 2026 00:00:00 GMT"), NOW)
    assert store.http_cache("a") == HttpCache('"v1"', "Sat, 21 Nov 2026 00:00:00 GMT")


def test_markdown_ids_count_down_per_source(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    store.sync_sources([("a", "甲", "https://a.example/"), ("b", "乙", "https://b.example/")])
    with store.transaction() as db:
        assert store.take_markdown_ids(db, "a", 3) == [
            FIRST_MARKDOWN_ID,
            FIRST_MARKDOWN_ID - 1,
            FIRST_MARKDOWN_ID - 2,
        ]
        assert store.take_markdown_ids(db, "a", 1) == [FIRST_MARKDOWN_ID - 3]
        assert store.take_markdown_ids(db, "b", 1) == [FIRST_MARKDOWN_ID]


def test_articles_and_revisions(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite")
    store.sync_sources([("test", "测试", "https://feeds.example.org/rss")])
    first = candidates(
        [Entry("标题", "https://a.example/1", "g1", content="<p>一</p>")], source(), NOW
    )
    second = candidates(
        [Entry("新标题", "https://a.example/1", "g1", content="<p>二</p>")], source(), NOW
    )
    with store.transaction() as db:
        article_id = store.insert_article(db, "test", first.candidates[0], NOW)
    known = store.known("test", ["guid:g1", "guid:other"])
    assert set(known) == {"guid:g1"} and known["guid:g1"].article_id == article_id
    with store.transaction() as db:
        store.update_article(db, article_id, second.candidates[0], NOW)
    (article,) = store.articles(dirty_only=True)
    assert (article.title, article.content, article.revision) == ("新标题", "<p>二</p>", 2)
    revisions = store.db.execute(
        "SELECT revision, title, content FROM revisions WHERE article_id = ? ORDER BY revision",
        (article_id,),
    ).fetchall()
    assert revisions == [(1, "标题", "<p>一</p>"), (2, "新标题", "<p>二</p>")]
    store.mark_clean([article_id])
    assert list(store.articles(dirty_only=True)) == []


def test_milliseconds_are_exact() -> None:
    moment = datetime(2020, 11, 21, 11, 8, 55, 999000, tzinfo=UTC)
    assert to_ms(moment) == 1605956935999
    assert from_ms(1605956935999) == moment


def test_an_old_store_is_migrated_with_its_data(tmp_path: Path) -> None:
    """A store written at schema 1 opens at the latest schema, its articles searchable."""
    import newsmirror.store as store_module

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.create_function("newsmirror_text", 1, lambda html: html)
    db.execute("BEGIN")
    store_module.MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sources (slug, name, url) VALUES ('a', '甲', 'https://a.example/')")
    db.execute(
        "INSERT INTO articles (source, key, link, title, published_at, date_from_feed, "
        "first_seen_at, updated_at, fingerprint) "
        "VALUES ('a', 'guid:1', 'https://a.example/1', '旧文章', 0, 1, 0, 0, 'x')"
    )
    db.execute(
        "INSERT INTO revisions (article_id, revision, seen_at, title, link, content) "
        "VALUES (1, 1, 0, '旧文章', 'https://a.example/1', '<p>台湾<b>香港</b>新闻</p>')"
    )
    db.execute("COMMIT")
    db.close()

    store = open_store(path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.integrity_ok()
    (article,) = store.articles(dirty_only=True)
    assert article.title == "旧文章" and article.content == "<p>台湾<b>香港</b>新闻</p>"
    body = store.db.execute("SELECT body FROM search WHERE rowid = 1").fetchone()[0]
    assert body == "台湾香港新闻"
    assert store.db.execute("SELECT site_dirty FROM articles").fetchone()[0] == 1


def test_the_search_table_is_filled_when_searched_not_when_stored(tmp_path: Path) -> None:
    """Storing only queues an article; ``refresh_search`` indexes its current revision."""
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    store.sync_sources([("test", "测试", "https://feeds.example.org/rss")])
    entries = [
        Entry(f"标题{n}", f"https://a.example/{n}", f"g{n}", content=f"<p>台湾<b>新闻</b>{n}</p>")
        for n in range(3)
    ]
    batch = candidates(entries, source(), NOW)
    with store.transaction() as db:
        ids = [store.insert_article(db, "test", c, NOW) for c in batch.candidates]
    assert store.db.execute("SELECT count(*) FROM search").fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM search_pending").fetchone()[0] == 3

    assert refresh_search(store.db) == 3
    rows = store.db.execute("SELECT rowid, body FROM search ORDER BY rowid").fetchall()
    assert rows == [(i, f"台湾新闻{n}") for n, i in enumerate(ids)]
    assert refresh_search(store.db) == 0  # nothing queued: nothing done

    revised = candidates(
        [Entry("标题0", "https://a.example/0", "g0", content="<p>香港</p>")], source(), NOW
    )
    with store.transaction() as db:
        store.update_article(db, ids[0], revised.candidates[0], NOW)
    assert refresh_search(store.db) == 1
    assert store.db.execute("SELECT body FROM search WHERE rowid = ?", (ids[0],)).fetchone() == (
        "香港",
    )
    assert store.db.execute("SELECT count(*) FROM search").fetchone()[0] == 3
    store.close()


def test_a_read_only_store_is_searched_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = open_store(path)
    store.sync_sources([("test", "测试", "https://feeds.example.org/rss")])
    batch = candidates(
        [Entry("标题", "https://a.example/1", "g1", content="<p>台湾</p>")], source(), NOW
    )
    with store.transaction() as db:
        store.insert_article(db, "test", batch.candidates[0], NOW)
    store.close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    assert refresh_search(db) == 0
    assert db.execute("SELECT count(*) FROM search_pending").fetchone()[0] == 1
    db.close()
