"""The starter configuration ``newsmirror init`` writes: real Chinese-language news feeds."""

from __future__ import annotations

from pathlib import Path

from .config import DEFAULT_CONFIG_NAME, load_config
from .errors import ConfigError

STARTER_CONFIG = """\
# newsmirror configuration. Every key is described in README.md ("Configuration").
# Relative paths are relative to this file.

[archive]
path = "archive"                  # the folder the Markdown files are written to (a git repo)
store = "newsmirror.sqlite"       # the SQLite store, the single source of truth
layouts = ["jekyll", "markdown"]  # the default for every source
timezone = "Asia/Shanghai"        # for dates in lists and on the site
images = "keep"                   # keep | proxy | mirror

[site]
path = "site"
title = "新闻镜像"

[[source]]
name = "BBC中文"
slug = "bbc"
url = "https://feeds.bbci.co.uk/zhongwen/simp/rss.xml"

[[source]]
name = "德国之声"
slug = "dw"
url = "https://rss.dw.com/rdf/rss-chi-all"
id_pattern = "a-(\\\\d+)"          # DW puts the title in its URLs; the number is stable

[[source]]
name = "法广"
slug = "rfi"
url = "https://www.rfi.fr/cn/rss"

[[source]]
name = "纽约时报中文网"
slug = "nyt"
url = "https://cn.nytimes.com/rss/"

[[source]]
name = "中国数字时代"
slug = "cdt"
url = "https://chinadigitaltimes.net/chinese/feed/"

[[source]]
name = "自由亚洲电台"
slug = "rfa"
url = "https://www.rfa.org/mandarin/yataibaodao/rss2.xml"

[[source]]
name = "大纪元"
slug = "epochtimes"
url = "https://www.epochtimes.com/gb/nsc413.xml"
"""


def write_starter(folder: Path, *, force: bool = False) -> Path:
    """Write ``newsmirror.toml`` into ``folder``; never overwrite one unless ``force``."""
    path = folder / DEFAULT_CONFIG_NAME
    if path.exists() and not force:
        raise ConfigError(path, "already exists (use --force to overwrite it)")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    load_config(path)  # the starter must always be valid
    return path
