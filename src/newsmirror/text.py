"""Plain text of (already cleaned) article HTML, for search indexes and excerpts.

Not a sanitizer and not a parser: cleaned article HTML has no scripts or
styles, so removing tags and decoding entities gives its readable text.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9]*)?[^>]*>")
_SPACE = re.compile(r"\s+")
# Phrasing elements sit inside a line of text: removing them must not split a
# word (台<b>中</b>市 is 台中市). Every other tag separates, as a line break would.
_INLINE = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "cite",
        "code",
        "data",
        "dfn",
        "em",
        "font",
        "i",
        "kbd",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "time",
        "u",
        "var",
    ]
)


def _tag_gap(match: re.Match[str]) -> str:
    name = (match.group(1) or "").lower()
    return "" if name in _INLINE else " "


def plain_text(markup: str | None) -> str:
    """``<p>台湾 &amp; 香港</p>`` → ``台湾 & 香港``; ``台<b>中</b>市`` → ``台中市``."""
    if not markup:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(_tag_gap, markup))).strip()


def excerpt(markup: str | None, length: int = 120) -> str:
    """The first ``length`` characters of the text, with an ellipsis when cut."""
    text = plain_text(markup)
    return text if len(text) <= length else text[:length].rstrip() + "…"
