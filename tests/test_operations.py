"""Operating a mirror through the CLI: one run at a time, the schedule, sources, the CI template."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from newsmirror.localserver import LocalServer, Request, Response, Route

from .conftest import CORPUS
from .feedkit import SRC, Item, cli, rss, write_config


def test_a_second_run_while_one_runs_fails_at_once_naming_it(
    tmp_path: Path, server: LocalServer
) -> None:
    slow = rss([Item(title="慢", guid="slow-1")])
    server.add("/slow.xml", lambda r: Response(200, slow, {"Content-Type": "text/xml"}, delay=3))
    config = write_config(
        tmp_path, [{"name": "慢源", "slug": "slow", "url": server.url("/slow.xml")}]
    )
    first = subprocess.Popen(
        [sys.executable, "-m", "newsmirror", "--config", str(config), "run"],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not server.requests_for("/slow.xml") and time.monotonic() < deadline:
            time.sleep(0.05)
        second = cli("--config", str(config), "run")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr and "--wait" in second.stderr
        building = cli("--config", str(config), "build")
        assert building.returncode == 2 and f"pid {first.pid}" in building.stderr
        waited = cli("--config", str(config), "run", "--wait")
        assert waited.returncode == 0, waited.stderr
    finally:
        first.wait(timeout=30)
    assert first.returncode == 0


def test_run_every_polls_on_schedule_and_stops_on_sigterm(
    tmp_path: Path, server: LocalServer
) -> None:
    calls: list[float] = []

    def feed(request: Request) -> Response:
        calls.append(time.monotonic())
        body = rss([Item(title=f"第{len(calls)}次", guid=f"g{len(calls)}")])
        # The second source asks not to be polled again for an hour.
        return Response(200, body, {"Content-Type": "text/xml"})

    server.add("/feed.xml", feed)
    server.add(
        "/cached.xml",
        Route(
            rss([Item(title="缓存", guid="c1")]), extra_headers={"Cache-Control": "max-age=3600"}
        ),
    )
    config = write_config(
        tmp_path,
        [
            {"name": "常新", "slug": "fresh", "url": server.url("/feed.xml")},
            {"name": "缓存", "slug": "cached", "url": server.url("/cached.xml")},
        ],
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "newsmirror", "--config", str(config), "run", "--every", "1s"],
        env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert len(calls) >= 3, "the loop ran again and again"
    assert "stopped after" in out
    # The source whose feed said max-age=3600 was polled once only.
    assert len(server.requests_for("/cached.xml")) == 1


def test_sources_commands_keep_the_config_the_source_of_truth(
    tmp_path: Path, server: LocalServer
) -> None:
    feed = server.add("/feed.xml", Route(rss([Item(title="一", guid="1")])))
    page = server.add(
        "/home.html",
        Route(
            b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed.xml">'
            b"</head><body>home</body></html>",
            content_type="text/html",
        ),
    )
    config = write_config(tmp_path, [{"name": "甲", "slug": "a", "url": server.url("/a.xml")}])
    config.write_text("# my mirror\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    added = cli(
        "--config", str(config), "sources", "add", page, "--name", "本地", "--slug", "local"
    )
    assert added.returncode == 0, added.stderr
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# my mirror\n") and feed in text, "the page's feed, not the page"
    listed = cli("--config", str(config), "sources", "list")
    assert "local" in listed.stdout and "本地" in listed.stdout
    opml = tmp_path / "subs.opml"
    assert cli("--config", str(config), "sources", "export-opml", "-o", str(opml)).returncode == 0
    assert b'xmlUrl="' + feed.encode() + b'"' in opml.read_bytes()
    assert cli("--config", str(config), "sources", "remove", "local").returncode == 0
    assert feed not in config.read_text(encoding="utf-8")
    imported = cli("--config", str(config), "sources", "import-opml", str(opml))
    assert imported.returncode == 0 and "1 added, 1 already there" in imported.stdout
    real = CORPUS / "opml/miniflux-news.opml"
    if real.exists():
        many = cli("--config", str(config), "sources", "import-opml", str(real))
        assert many.returncode == 0, many.stderr
        assert cli("--config", str(config), "sources", "list").returncode == 0


def test_init_with_github_actions_writes_a_valid_workflow(tmp_path: Path) -> None:
    result = cli("init", str(tmp_path), "--github-actions")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "newsmirror.toml").is_file()
    workflow = yaml.safe_load(
        (tmp_path / ".github/workflows/newsmirror.yml").read_text(encoding="utf-8")
    )
    assert set(workflow["jobs"]) == {"mirror", "pages"}
    assert workflow["concurrency"]["group"]
    triggers = workflow.get("on", workflow.get(True))
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    again = cli("init", str(tmp_path), "--github-actions")
    assert again.returncode == 2 and "exists" in again.stderr
