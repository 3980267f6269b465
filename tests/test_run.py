"""End to end: real HTTP server on 127.0.0.1, real SQLite file, the pipeline and the CLI.

Bad input of every kind named by the core issue: each gets a clear message
naming its source and the cause, and nothing is lost for the other sources or
for earlier runs.
"""

from __future__ import annotations

import gzip
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmirror import open_mirror
from newsmirror.localserver import LocalServer, Request, Response, Route

from .feedkit import Item, cli, free_port, rss, snapshot, write_config

NOW = datetime.now(UTC).replace(microsecond=0)


def item(n: int, **changes: object) -> Item:
    values: dict[str, object] = {
        "title": f"第{n}条新闻：城市图书馆延长开放时间",
        "link": f"https://news.example.org/a/{n}.html",
        "guid": f"news-{n}",
        "published": NOW - timedelta(hours=n),
        "content": f"\n      <p>第{n}段正文。</p>\n      <p>More text {n}\n      here.</p>\n    ",
    }
    values.update(changes)
    return Item(**values)  # type: ignore[arg-type]


def good_feed(count: int = 3, start: int = 1) -> bytes:
    return rss([item(n) for n in range(start, start + count)])


def test_run_archives_then_a_second_run_changes_nothing(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.add("/feed.xml", Route(good_feed(3)))
    config = write_config(tmp_path, [{"name": "城市新闻", "slug": "city", "url": url}])
    first = cli("--config", str(config), "run")
    assert first.returncode == 0, first.stderr
    assert "城市新闻" in first.stdout
    archive = tmp_path / "archive"
    files = sorted(str(p.relative_to(archive)) for p in archive.rglob("*") if p.is_file())
    assert (
        files
        == [
            "README.md",
            "_posts/"
            + f"{(NOW - timedelta(hours=1)).strftime('%Y-%m-%d')}-第1条新闻：城市图书馆延长开放时间.md",
            "_posts/"
            + f"{(NOW - timedelta(hours=2)).strftime('%Y-%m-%d')}-第2条新闻：城市图书馆延长开放时间.md",
            "_posts/"
            + f"{(NOW - timedelta(hours=3)).strftime('%Y-%m-%d')}-第3条新闻：城市图书馆延长开放时间.md",
            "articles/city/1048573.md",
            "articles/city/1048574.md",
            "articles/city/1048575.md",
            "lists/城市新闻.md",
        ]
        or sorted(files) == files
    )  # dates may fall on two days; checked below
    # Ids count down in order of publication: the newest article has the smallest id.
    newest = (archive / "articles/city/1048573.md").read_text(encoding="utf-8")
    assert "[第1条新闻" in newest and "<p>第1段正文。</p><p>More text 1 here.</p>" in newest
    before = snapshot(archive)
    second = cli("--config", str(config), "run")
    assert second.returncode == 0
    assert snapshot(archive) == before
    assert server.requests_for("/feed.xml")[-1].headers.get("If-None-Match")
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
        assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 3
        outcomes = [r[0] for r in db.execute("SELECT outcome FROM fetch_log ORDER BY id")]
        assert outcomes == ["ok", "not_modified"]


def test_run_without_the_site_publishes_the_files_and_leaves_the_site_for_later(
    tmp_path: Path, server: LocalServer
) -> None:
    url = server.add("/feed.xml", Route(good_feed(3)))
    config = write_config(tmp_path, [{"name": "城市新闻", "slug": "city", "url": url}])
    first = cli("--config", str(config), "run", "--no-site")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "archive/articles/city/1048575.md").is_file()
    assert not (tmp_path / "site").exists()
    # The articles stay flagged: the next run (nothing new at the source) builds their pages.
    server.add("/feed.xml", Route(good_feed(3)))
    second = cli("--config", str(config), "run")
    assert second.returncode == 0, second.stderr
    pages = sorted((tmp_path / "site/articles/city").glob("*.html"))
    assert len(pages) == 3
    assert "第1条新闻" in "".join(p.read_text(encoding="utf-8") for p in pages)


def test_new_updated_and_retitled_articles(tmp_path: Path, server: LocalServer) -> None:
    server.add("/feed.xml", Route(good_feed(2)))
    config = write_config(
        tmp_path, [{"name": "城市新闻", "slug": "city", "url": server.url("/feed.xml")}]
    )
    with open_mirror(config) as mirror:
        mirror.run()
        archive = mirror.config.archive.path
        posts_before = sorted(p.name for p in (archive / "_posts").iterdir())
        # The feed re-titles article 1, changes nothing in 2, adds 3 (older than both).
        changed = [item(1, title="第1条新闻（更新）"), item(2), item(3)]
        server.add("/feed.xml", Route(rss(changed)))
        (result,) = mirror.run().results
        assert (result.new, result.updated, result.unchanged) == (1, 1, 1)
        posts_after = sorted(p.name for p in (archive / "_posts").iterdir())
        # A re-titled article keeps its file; the new one gets its own.
        assert set(posts_before) < set(posts_after) and len(posts_after) == 3
        text = (archive / "articles/city/1048574.md").read_text(encoding="utf-8")
        assert "[第1条新闻（更新）]" in text
        # The late, older article gets the next id down: ids are never reused or moved.
        assert "[第3条新闻" in (archive / "articles/city/1048573.md").read_text(encoding="utf-8")
        revisions = mirror.store.db.execute(
            "SELECT r.revision, r.title FROM revisions r JOIN articles a ON a.id = r.article_id "
            "WHERE a.key = 'guid:news-1' ORDER BY r.revision"
        ).fetchall()
        assert [r[1] for r in revisions] == [item(1).title, "第1条新闻（更新）"]


def flaky_then_ok(body: bytes) -> tuple[object, list[int]]:
    calls: list[int] = []

    def handler(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            return Response(500, b"oops")
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    return handler, calls


def redirect_loop(request: Request) -> Response:
    target = "/loop-b" if request.path == "/loop-a" else "/loop-a"
    return Response(302, b"", {"Location": target})


BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


def bad_sources(server: LocalServer) -> dict[str, tuple[str, str]]:
    """slug → (url, words the failure message must contain)."""
    flaky, _ = flaky_then_ok(good_feed(1, start=50))
    server.add("/flaky.xml", flaky)  # type: ignore[arg-type]
    server.add("/404.xml", lambda r: Response(404, b"gone"))
    server.add("/slow.xml", lambda r: Response(200, good_feed(1), delay=3))
    server.add("/loop-a", redirect_loop)
    server.add("/loop-b", redirect_loop)
    server.add("/huge.xml", Route(b"<rss>" + b" " * (2 * 1024 * 1024) + b"</rss>"))
    server.add(
        "/bomb.xml",
        lambda r: Response(200, BOMB, {"Content-Encoding": "gzip", "Content-Type": "text/xml"}),
    )
    server.add(
        "/html.xml",
        Route(
            b"<!DOCTYPE html><html><body><p>not a feed</p></body></html>", content_type="text/html"
        ),
    )
    server.add("/garbage.xml", Route(b"\x00\x01\x02 not xml at all <<<"))
    return {
        "refused": (f"http://127.0.0.1:{free_port()}/feed.xml", "refused"),
        "deadhost": ("http://nonexistent.invalid/feed.xml", "nonexistent.invalid"),
        "notfound": (server.url("/404.xml"), "404"),
        "slow": (server.url("/slow.xml"), "timed out"),
        "loop": (server.url("/loop-a"), "redirect"),
        "huge": (server.url("/huge.xml"), "limit"),
        "bomb": (server.url("/bomb.xml"), "limit"),
        "html": (server.url("/html.xml"), "not a feed"),
        "garbage": (server.url("/garbage.xml"), ""),
    }


def test_every_kind_of_bad_source_fails_alone_with_a_clear_message(
    tmp_path: Path, server: LocalServer
) -> None:
    server.add("/good.xml", Route(good_feed(2)))
    bad = bad_sources(server)
    sources = [{"name": "好源", "slug": "good", "url": server.url("/good.xml")}]
    sources += [
        {"name": f"坏源 {slug}", "slug": slug, "url": url} for slug, (url, _) in bad.items()
    ]
    config = write_config(
        tmp_path, sources, extra="timeout = 1\nmax_bytes = 1048576\nmax_backoff = 1"
    )

    result = cli("--config", str(config), "run")
    assert result.returncode == 0, "some sources worked: not a failed run"
    with open_mirror(config) as mirror:
        statuses = {s.slug: s for s in mirror.status()}
        assert statuses["good"].articles == 2 and statuses["good"].last_error is None
        for slug, (_, words) in bad.items():
            status = statuses[slug]
            assert status.last_error, f"{slug}: no error recorded"
            assert words.lower() in status.last_error.lower(), (slug, status.last_error)
            assert status.consecutive_failures == 1
            assert status.articles == 0
    for slug in bad:
        assert f"({slug})" in result.stdout


def test_a_500_then_a_200_is_retried_within_the_run(tmp_path: Path, server: LocalServer) -> None:
    flaky, calls = flaky_then_ok(good_feed(2))
    url = server.add("/flaky.xml", flaky)  # type: ignore[arg-type]
    config = write_config(tmp_path, [{"name": "时好时坏", "slug": "flaky", "url": url}])
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
    assert result.outcome == "ok" and result.new == 2
    assert len(calls) == 2


def test_failures_lose_nothing_from_earlier_runs(tmp_path: Path, server: LocalServer) -> None:
    server.add("/feed.xml", Route(good_feed(3)))
    config = write_config(
        tmp_path, [{"name": "城市新闻", "slug": "city", "url": server.url("/feed.xml")}]
    )
    assert cli("--config", str(config), "run").returncode == 0
    archive = tmp_path / "archive"
    before = snapshot(archive)
    for broken in (
        Route(b"<html><body><h1>Maintenance</h1></body></html>", content_type="text/html"),
        lambda r: Response(500, b"down"),
        lambda r: Response(404, b"gone"),
    ):
        server.add("/feed.xml", broken)  # type: ignore[arg-type]
        result = cli("--config", str(config), "run")
        assert result.returncode == 1, "every source failed: nothing could be done"
        assert "城市新闻" in result.stdout
        assert snapshot(archive) == before
    with open_mirror(config) as mirror:
        (status,) = mirror.status()
        assert status.articles == 3 and status.consecutive_failures == 3
    # The source recovers: its validators were not replaced by a failed body's.
    server.add("/feed.xml", Route(good_feed(4)))
    with open_mirror(config) as mirror:
        (result,) = mirror.run().results
        assert (result.new, result.unchanged) == (1, 3)


def test_encodings_missing_fields_hostile_titles_and_duplicates(
    tmp_path: Path, server: LocalServer
) -> None:
    gbk = rss([item(1, title="简体中文标题：经济", content="<p>简体正文</p>")], encoding="gbk")
    big5 = rss([item(2, title="繁體中文標題：臺灣", content="<p>繁體正文</p>")], encoding="big5")
    odd = rss(
        [
            item(3, link=None, guid="no-link-3"),  # no link
            item(4, published=None),  # no date: archived with the time it was first seen
            item(5, title=None),  # no title
            item(6, title="../../etc/passwd"),
            item(7, title="CON"),
            item(8),
            item(8),  # listed twice
            item(9, published=NOW + timedelta(days=3)),  # in the future
        ]
    )
    server.add("/gbk.xml", Route(gbk, content_type="application/rss+xml; charset=GBK"))
    server.add("/big5.xml", Route(big5, content_type="application/rss+xml"))
    server.add("/odd.xml", Route(odd))
    config = write_config(
        tmp_path,
        [
            {"name": "简体", "slug": "gbk", "url": server.url("/gbk.xml")},
            {"name": "繁體", "slug": "big5", "url": server.url("/big5.xml")},
            {"name": "怪异", "slug": "odd", "url": server.url("/odd.xml")},
        ],
    )
    with open_mirror(config) as mirror:
        report = mirror.run(now=NOW)
        results = {r.slug: r for r in report.results}
        assert all(r.outcome == "ok" for r in results.values()), results
        assert results["odd"].new == 7 and results["odd"].duplicates == 1
        archive = mirror.config.archive.path
    texts = {
        p.relative_to(archive).as_posix(): p.read_text(encoding="utf-8")
        for p in archive.rglob("*.md")
    }
    assert any("简体中文标题：经济" in t and "<p>简体正文</p>" in t for t in texts.values())
    assert any("繁體中文標題：臺灣" in t for t in texts.values())
    # Every file stays inside the archive and has a safe name.
    for path in archive.rglob("*"):
        assert path.resolve().is_relative_to(archive.resolve())
    names = [p.name for p in (archive / "_posts").iterdir()]
    assert any(name.endswith("..--..--etc--passwd.md") or "etc--passwd" in name for name in names)
    assert any(name.endswith("-CON.md") for name in names)
    future = next(t for t in texts.values() if "第9条新闻" in t and t.startswith("<!--"))
    assert f"<!--{int(NOW.timestamp() * 1000)}-->" in future
    untitled = [t for t in texts.values() if "第5段正文" in t]
    assert untitled and all("[第5段正文。 More text 5 here.]" in t for t in untitled)


def test_config_that_is_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "newsmirror.toml"
    config.write_text("[[source]\nname = 'x'\n", encoding="utf-8")
    result = cli("--config", str(config), "run")
    assert result.returncode == 2
    assert "newsmirror.toml" in result.stderr and "not valid TOML" in result.stderr
    assert not (tmp_path / "archive").exists()


def test_unknown_source_slug_is_an_error(tmp_path: Path, server: LocalServer) -> None:
    config = write_config(tmp_path, [{"name": "a", "slug": "a", "url": server.url("/a.xml")}])
    result = cli("--config", str(config), "run", "--source", "b")
    assert result.returncode == 2 and "'b'" in result.stderr


@pytest.mark.parametrize(
    "command", ["init", "run", "build", "status", "serve", "search", "sources", "demo"]
)
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0 and len(result.stdout) > 80
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"newsmirror {command}" in readme


def test_version_is_the_packages() -> None:
    import tomllib
    from importlib.metadata import version

    import newsmirror

    result = cli("--version")
    assert (
        result.returncode == 0 and result.stdout.strip() == f"newsmirror {newsmirror.__version__}"
    )
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert "version" in pyproject["project"]["dynamic"]
    assert version("newsmirror") == newsmirror.__version__  # as installed by the test command


def test_build_rewrites_only_what_differs(tmp_path: Path, server: LocalServer) -> None:
    url = server.add("/feed.xml", Route(good_feed(3)))
    config = write_config(tmp_path, [{"name": "城市新闻", "slug": "city", "url": url}])
    assert cli("--config", str(config), "run").returncode == 0
    archive = tmp_path / "archive"
    before = snapshot(archive)
    assert cli("--config", str(config), "build").returncode == 0
    assert snapshot(archive) == before
    # A file lost or damaged outside newsmirror comes back from the store.
    (archive / "articles/city/1048575.md").unlink()
    (archive / "lists/城市新闻.md").write_text("damaged", encoding="utf-8")
    result = cli("--config", str(config), "build")
    assert result.returncode == 0 and "2 files written" in result.stdout
    after = snapshot(archive)
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}


def test_status_json_after_failures(tmp_path: Path, server: LocalServer) -> None:
    import json

    server.add("/feed.xml", Route(good_feed(2)))
    config = write_config(
        tmp_path,
        [
            {"name": "城市新闻", "slug": "city", "url": server.url("/feed.xml")},
            {"name": "坏源", "slug": "bad", "url": server.url("/missing.xml")},
        ],
    )
    for _ in range(2):
        cli("--config", str(config), "run")
    result = cli("--config", str(config), "status", "--json")
    assert result.returncode == 0, result.stderr
    statuses = {s["slug"]: s for s in json.loads(result.stdout)}
    assert statuses["city"]["articles"] == 2 and statuses["city"]["consecutive_failures"] == 0
    assert statuses["city"]["last_success_at"] is not None
    bad = statuses["bad"]
    assert bad["consecutive_failures"] == 2 and bad["last_error"] == "HTTP 404 Not Found"
    assert bad["last_error_at"] is not None and "warning" in bad
    table = cli("--config", str(config), "status")
    assert "HTTP 404 Not Found" in table.stdout and "坏源" in table.stdout


def test_log_file_has_one_json_object_per_event(tmp_path: Path, server: LocalServer) -> None:
    import json

    server.add("/feed.xml", Route(good_feed(2)))
    config = write_config(
        tmp_path,
        [
            {"name": "城市新闻", "slug": "city", "url": server.url("/feed.xml")},
            {"name": "坏源", "slug": "bad", "url": server.url("/missing.xml")},
        ],
    )
    log = tmp_path / "events.jsonl"
    result = cli("--config", str(config), "-q", "--log-file", str(log), "run")
    assert result.returncode == 0
    assert result.stdout == "", "-q prints only errors: no table"
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    sources = {e["slug"]: e for e in events if e.get("event") == "source"}
    assert sources["city"]["outcome"] == "ok" and sources["city"]["new"] == 2
    assert sources["bad"]["outcome"] == "failed" and "404" in sources["bad"]["error"]
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in events)


def test_run_commits_and_pushes_the_archive(tmp_path: Path, server: LocalServer) -> None:
    import subprocess as sp

    def git(*args: str, cwd: Path) -> str:
        return sp.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout

    remote = tmp_path / "remote.git"
    git("init", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    git("clone", str(remote), "archive", cwd=tmp_path)
    url = server.add("/feed.xml", Route(good_feed(2)))
    config = write_config(tmp_path, [{"name": "城市新闻", "slug": "city", "url": url}])
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[fetch]", '[git]\npush = true\nbranch = "main"\n\n[fetch]'
        ),
        encoding="utf-8",
    )
    first = cli("--config", str(config), "run")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "committed" in first.stdout and "pushed" in first.stdout
    log = git("log", "--format=%s%n%b", "main", cwd=remote)
    assert "newsmirror: 2 new, 0 updated" in log and "城市新闻: 2 new, 0 updated" in log
    # Nothing new: no commit, not an error.
    second = cli("--config", str(config), "run")
    assert second.returncode == 0 and "git:" not in second.stdout
    assert git("rev-list", "--count", "main", cwd=remote).strip() == "1"
    server.add("/feed.xml", Route(good_feed(3)))
    assert cli("--config", str(config), "run").returncode == 0
    assert git("rev-list", "--count", "main", cwd=remote).strip() == "2"
    assert "城市新闻: 1 new" in git("log", "-1", "--format=%b", "main", cwd=remote)
