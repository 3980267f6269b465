"""The static site (SPEC.md step 8): HTML pages, Atom and JSON feeds, from the store.

    report = build_site(store, config)                    # after a run: what changed
    report = build_site(store, config, everything=True)   # every page

The site works with no server and loads nothing from other hosts: every link
is relative (it works under a sub-path and opened from disk), the stylesheet
uses system fonts, and there is no script but the in-browser search's
(``pagefind``). Pages are ``plan``ned purely, ``render``ed with Jinja2 and
written by ``build`` only when their bytes change.

The site never fetches, never changes an article, and writes to the store only
to clear the ``site_dirty`` flags of the articles it has shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stamp import SiteReport, unchanged_site

if TYPE_CHECKING:
    from .build import build_site

__all__ = ["SiteReport", "build_site", "unchanged_site"]


def __getattr__(name: str) -> Any:
    # The builder (Jinja2, lxml, the search index) is imported when first used:
    # a run with nothing new only asks ``unchanged_site``.
    if name == "build_site":
        from .build import build_site

        return build_site
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
