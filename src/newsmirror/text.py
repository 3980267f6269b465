"""Plain text of (already cleaned) article HTML, for search indexes and excerpts.

Not a sanitizer and not a parser: cleaned article HTML has no scripts or
styles, so removing tags and decoding entities gives its readable text.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def plain_text(markup: str | None) -> str:
    """``<p>台湾 &amp; 香港</p>`` → ``台湾 & 香港``."""
    if not markup:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def excerpt(markup: str | None, length: int = 120) -> str:
    """The first ``length`` characters of the text, with an ellipsis when cut."""
    text = plain_text(markup)
    return text if len(text) <= length else text[:length].rstrip() + "…"
