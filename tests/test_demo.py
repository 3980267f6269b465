"""`newsmirror demo DIR`: the whole pipeline offline, through the real CLI."""

from __future__ import annotations

import tomllib
from pathlib import Path

from newsmirror.demo_feeds import DEMO_ARTICLE_COUNT

from .feedkit import cli, snapshot


def test_demo_runs_the_whole_pipeline_into_dir(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = cli("demo", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    config = tomllib.loads((folder / "newsmirror.toml").read_text(encoding="utf-8"))
    assert all(s["url"].startswith("http://127.0.0.1:") for s in config["source"])
    archive = folder / "archive"
    posts = list((archive / "_posts").glob("*.md"))
    numbered = list((archive / "articles").rglob("*.md"))
    assert len(posts) == len(numbered) == DEMO_ARTICLE_COUNT
    assert (archive / "README.md").is_file()
    assert len(list((archive / "lists").glob("*.md"))) == len(config["source"])
    assert (folder / "newsmirror.sqlite").is_file()
    # The second run inside the demo answered 304 everywhere and wrote nothing.
    assert result.stdout.count("not modified (304)") == len(config["source"])
    assert "0 files and 0 site pages written" in result.stdout
    assert (folder / "site/index.html").is_file()
    assert str(archive) in result.stdout

    # Running the demo again in the same folder changes no archive file.
    before = snapshot(archive)
    again = cli("demo", str(folder))
    assert again.returncode == 0, again.stderr
    assert snapshot(archive) == before


def test_demo_refuses_a_folder_with_a_real_config(tmp_path: Path) -> None:
    (tmp_path / "newsmirror.toml").write_text("[archive]\n", encoding="utf-8")
    result = cli("demo", str(tmp_path))
    assert result.returncode == 2 and "not a demo config" in result.stderr


def test_search_command_finds_two_character_chinese(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert cli("demo", str(folder)).returncode == 0
    config = str(folder / "newsmirror.toml")
    found = cli("--config", config, "search", "预警")
    assert found.returncode == 0, found.stderr
    assert "大风蓝色预警解除" in found.stdout and "tianqi" in found.stdout
    # Words are ANDed; text that looks like markup is shown as written.
    assert cli("--config", config, "search", "预警", "没有这个词").returncode == 1
    assert cli("--config", config, "search", "[/b]").returncode == 1
