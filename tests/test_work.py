"""Worker processes for parsing and cleaning: started only for big runs, same results, and a
dead worker costs speed, never articles. Real processes, a real server, a real store."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmirror import open_mirror
from newsmirror.config import SourceConfig
from newsmirror.decide import candidates
from newsmirror.enrich import Cleaning, finish_all
from newsmirror.errors import ParseError
from newsmirror.localserver import LocalServer, Route
from newsmirror.models import FetchResult
from newsmirror.parse import parse_feed
from newsmirror.processes import usable_cores
from newsmirror.work import POOL_AFTER_BYTES, Workers

from .feedkit import Item, rss, write_config

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
needs_two_cores = pytest.mark.skipif(usable_cores() < 2, reason="worker processes need 2 cores")

PARAGRAPH = "<p>市议会今天讨论了图书馆延长开放时间的方案，多位议员发言支持。</p>"


def feed(prefix: str, count: int, paragraphs: int) -> bytes:
    items = [
        Item(
            f"{prefix}第{n}条：图书馆开放时间",
            f"https://news.example.org/{prefix}/{n}.html",
            f"{prefix}-{n}",
            published=NOW - timedelta(minutes=n),
            content=PARAGRAPH * paragraphs
            + ('<img src="/p.png" onerror="alert(1)"><script>x()</script>' if n % 10 == 0 else ""),
        )
        for n in range(count)
    ]
    return rss(items)


def fetched(body: bytes, url: str = "https://news.example.org/feed.xml") -> FetchResult:
    return FetchResult(url, url, 200, body, "application/rss+xml")


@needs_two_cores
def test_workers_give_what_this_process_gives_and_survive_a_killed_worker() -> None:
    body = feed("a", 40, 8)
    source = SourceConfig(name="测试", slug="t", url="https://news.example.org/feed.xml",
                          layouts=("markdown",))  # fmt: skip
    expected_feed = parse_feed(body, url="https://news.example.org/feed.xml")
    batch = candidates(expected_feed.entries, source, NOW)
    jobs = [Cleaning(c, c.content, c.link) for c in batch.candidates]
    expected = finish_all(jobs, None)
    assert sum(p.cleaned for p in expected) == 4

    async def go() -> None:
        workers = Workers(2, after_bytes=0)
        try:
            assert await workers.parse(fetched(body)) == expected_feed
            assert workers.started
            assert await workers.clean(jobs, None) == expected
            error = await workers.parse(fetched(b"<html>not a feed</html>"))
            assert isinstance(error, ParseError) and "news.example.org" in str(error)
            # A worker killed mid-run (OOM killer, an operator): the work is done here instead.
            assert workers._pool is not None
            for pid in list(workers._pool._processes):
                os.kill(pid, signal.SIGKILL)
            assert await workers.clean(jobs, None) == expected
            assert not workers.started
        finally:
            workers.close()

    asyncio.run(go())


def test_a_small_run_starts_no_worker() -> None:
    async def go() -> None:
        workers = Workers(2)
        try:
            parsed = await workers.parse(fetched(feed("a", 3, 1)))
            assert len(parsed.entries) == 3  # type: ignore[union-attr]
            assert not workers.started
        finally:
            workers.close()

    asyncio.run(go())


@needs_two_cores
def test_a_big_run_parses_and_cleans_in_workers(
    tmp_path: Path, server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Enough feed bytes to start the workers; every article stored, published and clean."""
    feeds = 12
    per_feed = 100
    urls = [server.add(f"/{n}.xml", Route(feed(f"f{n}", per_feed, 60))) for n in range(feeds)]
    assert feeds * len(feed("x", per_feed, 60)) > POOL_AFTER_BYTES * 1.5
    config = write_config(
        tmp_path,
        [{"name": f"新闻{n}", "slug": f"s{n}", "url": url} for n, url in enumerate(urls)],
    )
    with caplog.at_level(logging.DEBUG, logger="newsmirror.work"), open_mirror(config) as mirror:
        report = mirror.run(site=False)
    assert "worker processes" in caplog.text
    assert [r.new for r in report.results] == [per_feed] * feeds
    assert sum(r.cleaned for r in report.results) == feeds * per_feed // 10
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == feeds * per_feed
        dirty = db.execute("SELECT count(*) FROM revisions WHERE content LIKE '%<script%'")
        assert dirty.fetchone()[0] == 0
        kept = db.execute("SELECT count(*) FROM revisions WHERE raw LIKE '%<script%'")
        assert kept.fetchone()[0] == feeds * per_feed // 10
    posts = list((tmp_path / "archive/articles").rglob("*.md"))
    assert len(posts) == feeds * per_feed
    assert not any("onerror" in p.read_text(encoding="utf-8") for p in posts)
