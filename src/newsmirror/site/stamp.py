"""What a site build needs to know first, cheaply: whether there is anything to build.

A run where every feed answers 304 must not pay for importing the renderer,
the templates and the search index (about 0.06 s), nor for reading the list of
every article: ``unchanged_site`` answers from the ``site_dirty`` flags, the
stamp the last build left (``.newsmirror-site.json``) and the ``fingerprint``
of what every page depends on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..store import Store
from . import plan

if TYPE_CHECKING:
    from .searchindex import SearchIndexReport

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
# Bump when the code (not the templates, which are hashed) changes what pages
# hold: the next build is then a full one.
SITE_FORMAT = 1
STAMP = ".newsmirror-site.json"
# The search index's folder at the site's root. Not ``_search``: GitHub Pages'
# Jekyll drops folders starting with "_"; not ``search/``: a site may want search/index.html.
INDEX_DIR = "search-index"


@dataclass(frozen=True)
class SiteReport:
    written: tuple[str, ...]  # site-relative paths written (pages, feeds, assets), in order
    unchanged: int  # files rendered whose bytes were already on disk: not touched
    skipped: int  # pages an incremental build did not render (0: nothing to do, none looked at)
    seconds: float
    full: bool  # every page was rendered (asked for, first build, or the format changed)
    search: SearchIndexReport | None = None  # the search index, when the build updated it

    @property
    def pages_written(self) -> int:
        return sum(
            1
            for path in self.written
            if path.endswith((".html", ".atom", ".json")) and path != STAMP
        )


def unchanged_site(store: Store, config: Config) -> SiteReport | None:
    """The report of a build with nothing to do, or None when there is something."""
    started = time.perf_counter()
    site = config.site.path
    if store.site_dirty_ids():  # the cheap question first: a run that stored something stops here
        return None
    return nothing_to_build(site, read_stamp(site), fingerprint(config), (), started)


def nothing_to_build(
    site: Path,
    stamp: dict[str, object] | None,
    version: str,
    dirty: Sequence[int],
    started: float,
) -> SiteReport | None:
    """``unchanged_site`` from what a build has read already, or None.

    Nothing to do: no article changed since the last build (no ``site_dirty``
    flag), nor what every page depends on (the stamp's fingerprint), and the
    search index is there. Every page would come out as it is.
    """
    if dirty or not built_as(stamp, version) or not (site / INDEX_DIR).is_dir():
        return None
    return SiteReport((), 0, 0, time.perf_counter() - started, full=False)


def built_as(stamp: dict[str, object] | None, version: str) -> bool:
    """Whether the last build (its ``stamp``) had this ``fingerprint``."""
    return stamp is not None and stamp.get("format") == version


def fingerprint(config: Config) -> str:
    """What every page depends on besides the articles: when it changes, build everything."""
    digest = hashlib.sha256(f"newsmirror site {SITE_FORMAT}\n".encode())
    for path in sorted(TEMPLATES_DIR.glob("*.html")) + sorted(STATIC_DIR.glob("*")):
        digest.update(f"{path.name}\n".encode() + path.read_bytes() + b"\n")
    settings = {
        "title": config.site.title,
        "timezone": config.archive.timezone,
        "sources": [[s.slug, s.name, s.images, s.image_proxy] for s in config.sources],
        "sizes": [plan.PAGE_SIZE, plan.HOME_SIZE, plan.SOURCE_NEWEST, plan.FEED_SIZE],
    }
    digest.update(json.dumps(settings, ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


def read_stamp(site: Path) -> dict[str, object] | None:
    try:
        data = json.loads((site / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
