"""Configuration: every key of SPEC.md, and clear errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmirror.config import CONFIG_ENV, find_config, load_config
from newsmirror.errors import ConfigError
from newsmirror.starter import write_starter

FULL = """
[archive]
path = "out/archive"
store = "data/store.sqlite"
layouts = ["jekyll", "markdown"]
timezone = "Asia/Taipei"
images = "proxy"
image_proxy = "https://proxy.example/?u={url}"

[site]
path = "public"
title = "镜像"

[fetch]
timeout = 5
retries = 2
max_bytes = 1048576

[[source]]
name = "美国之音"
slug = "voa"
url = "https://www.voachinese.example/api/feed"
layouts = ["markdown"]
full_text = true
selector = "div.post-content"
include = { category = "中国|台湾" }
exclude = { title = "^广告" }
id_pattern = "a-(\\\\d+)"
images = "mirror"

[[source]]
name = "德国之声"
slug = "dw"
url = "http://rss.dw.example/rdf/rss-chi-all"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsmirror.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert config.archive.path == tmp_path / "out/archive"
    assert config.archive.store == tmp_path / "data/store.sqlite"
    assert config.archive.timezone == "Asia/Taipei"
    assert config.site.path == tmp_path / "public"
    assert config.site.title == "镜像"
    assert config.fetch.timeout == 5 and config.fetch.retries == 2
    voa, dw = config.sources
    assert voa.layouts == ("markdown",)
    assert voa.full_text and voa.selector == "div.post-content"
    assert voa.include.category is not None and voa.include.category.search("台湾新闻")
    assert voa.exclude.title is not None and voa.exclude.title.search("广告：")
    assert voa.id_pattern is not None and voa.id_pattern.search("/a-70295048").group(1)
    assert voa.images == "mirror"
    # A source inherits the archive's defaults.
    assert dw.layouts == ("jekyll", "markdown")
    assert dw.images == "proxy" and dw.image_proxy == "https://proxy.example/?u={url}"


def test_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[[source]]\nname="a"\nslug="a"\nurl="https://a.example/"')
    )
    assert config.archive.path == tmp_path / "archive"
    assert config.archive.store == tmp_path / "newsmirror.sqlite"
    assert config.archive.timezone == "Asia/Shanghai"
    assert config.archive.images == "keep"
    assert config.site.title == "新闻镜像"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("[archive]\npaht = 'x'", "archive.paht", "did you mean 'path'"),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\nfull_txt=true",
            "source[0].full_txt",
            "did you mean 'full_text'",
        ),
        ("[[source]]\nname='a'\nslug='a'", "source[0].url", "missing"),
        ("[[source]]\nname='a'\nslug='a'\nurl='ftp://a.example/'", "source[0].url", "http"),
        ("[[source]]\nslug='a'\nurl='https://a.example/'", "source[0].name", "missing"),
        ("[[source]]\nname='a'\nslug='A B'\nurl='https://a.example/'", "source[0].slug", "slug"),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\n"
            "[[source]]\nname='b'\nslug='a'\nurl='https://b.example/'",
            "source[1].slug",
            "duplicate",
        ),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\n"
            "[[source]]\nname='a'\nslug='b'\nurl='https://b.example/'",
            "source[1].name",
            "duplicate",
        ),
        ("[archive]\nlayouts = ['hugo']", "archive.layouts", "unknown layout"),
        ("[archive]\ntimezone = 'Mars/Base'", "archive.timezone", "unknown time zone"),
        ("[archive]\nimages = 'steal'", "archive.images", "keep, proxy, mirror"),
        ("[archive]\nimage_proxy = 'https://p.example/'", "archive.image_proxy", "{url}"),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\ninclude={category='('}",
            "source[0].include.category",
            "regular expression",
        ),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\ninclude={author='x'}",
            "source[0].include.author",
            "unknown key",
        ),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\nid_pattern='a-\\\\d+'",
            "source[0].id_pattern",
            "capturing group",
        ),
        ("[fetch]\ntimeout = 'soon'", "fetch.timeout", "number"),
        ("[fetch]\nretries = -1", "fetch.retries", "at least"),
        (
            "[[source]]\nname='a'\nslug='a'\nurl='https://a.example/'\nfull_text='yes'",
            "source[0].full_text",
            "true or false",
        ),
        ("colour = 'red'", "colour", "unknown key"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    error = error_for(tmp_path, text)
    assert error.key == key
    message = str(error)
    assert str(tmp_path / "newsmirror.toml") in message
    assert key in message
    assert words in message


def test_not_toml(tmp_path: Path) -> None:
    error = error_for(tmp_path, "[archive\npath = ")
    assert "not valid TOML" in str(error) and "newsmirror.toml" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "newsmirror.toml"
    path.write_bytes('[site]\ntitle = "镜像"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_config_is_found_by_flag_then_environment_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert find_config(None) == tmp_path / "newsmirror.toml"
    monkeypatch.setenv(CONFIG_ENV, "/etc/from-env.toml")
    assert find_config(None) == Path("/etc/from-env.toml")
    assert find_config("given.toml") == Path("given.toml")


def test_starter_config_is_valid_and_has_real_chinese_sources(tmp_path: Path) -> None:
    config = load_config(write_starter(tmp_path))
    assert len(config.sources) >= 5
    assert all(s.url.startswith("https://") for s in config.sources)
    assert any(s.slug == "dw" and s.id_pattern is not None for s in config.sources)
    with pytest.raises(ConfigError, match="already exists"):
        write_starter(tmp_path)
