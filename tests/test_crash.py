"""Crash safety: `newsmirror run` killed with SIGKILL at many moments loses nothing.

After every kill the store passes `PRAGMA integrity_check`; the next complete
run finishes the work: every article archived once, every file whole, no
temporary file left, and a run after that changes nothing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsmirror.localserver import LocalServer, Request, Response

from .feedkit import SRC, Item, rss, snapshot, write_config

FEEDS, ITEMS = 12, 25
# Moments to kill at, in seconds after the start: from start-up and fetching,
# through parsing and storing, to publishing the files and building the site.
KILL_AFTER = (0.15, 0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.7, 2.0, 2.5)
NOW = datetime.now(UTC).replace(microsecond=0)


NEW_PER_ROUND = 2  # each round every feed adds articles and revises the others


def feed_body(feed: int, round_: int) -> bytes:
    items = [
        Item(
            title=f"第{feed}号源的第{n}条新闻：测试崩溃恢复",
            link=f"https://crash.example.org/{feed}/{n}.html",
            guid=f"crash-{feed}-{n}",
            published=NOW - timedelta(minutes=feed * 1000 + n),
            content="\n  "
            + "\n  ".join(f"<p>第{round_}版第{k}段，内容用来测试写入。</p>" for k in range(12)),
        )
        for n in range(ITEMS + NEW_PER_ROUND * round_)
    ]
    return rss(items)


def farm(server: LocalServer, round_: list[int]) -> list[dict[str, object]]:
    """Feeds that change with ``round_[0]``, so that every run has work to do."""
    sources = []
    for feed in range(FEEDS):

        def slow(request: Request, feed: int = feed) -> Response:
            body = feed_body(feed, round_[0])
            return Response(200, body, {"Content-Type": "application/rss+xml"}, delay=0.05)

        url = server.add(f"/feed{feed}.xml", slow)  # type: ignore[arg-type]
        sources.append({"name": f"源{feed}", "slug": f"s{feed}", "url": url})
    return sources


def start_run(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "newsmirror", "-q", "--config", str(config), "run"],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def integrity(store: Path) -> str:
    if not store.exists():
        return "ok"
    with sqlite3.connect(store) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def test_sigkill_at_many_moments_loses_nothing(tmp_path: Path, server: LocalServer) -> None:
    round_ = [0]
    config = write_config(tmp_path, farm(server, round_))
    store = tmp_path / "store.sqlite"
    killed = 0
    for number, delay in enumerate(KILL_AFTER):
        round_[0] = number
        process = start_run(config)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
        assert integrity(store) == "ok", f"store damaged by a kill after {delay} s"
    assert killed >= len(KILL_AFTER) // 2, "the kills must land during runs"

    finish = start_run(config)
    _, errors = finish.communicate(timeout=120)
    assert finish.returncode == 0, errors.decode()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = [r[0] for r in db.execute("SELECT key FROM articles")]
        expected = FEEDS * (ITEMS + NEW_PER_ROUND * round_[0])
        assert len(keys) == len(set(keys)) == expected
        assert (
            db.execute("SELECT count(*) FROM articles WHERE dirty OR site_dirty").fetchone()[0] == 0
        )
    archive, site = tmp_path / "archive", tmp_path / "site"
    assert len(list((archive / "_posts").glob("*.md"))) == expected
    assert len(list((archive / "articles").rglob("*.md"))) == expected
    assert len(list((site / "articles").rglob("*.html"))) == expected
    for folder in (archive, site):
        leftovers = [p for p in folder.rglob(".*.tmp")]
        assert leftovers == [], leftovers
    for post in (archive / "articles").rglob("*.md"):
        text = post.read_text(encoding="utf-8")
        assert text.startswith("<!--") and text.endswith("</p>\n"), post
        assert f"第{round_[0]}版" in text, f"{post} was left at an older revision"

    before = snapshot(archive), snapshot(site)
    again = start_run(config)
    assert again.wait(timeout=120) == 0
    assert (snapshot(archive), snapshot(site)) == before
