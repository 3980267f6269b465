"""File names of the archive: safe on every file system, never renamed once given.

A name is made from text a feed controls (a title, a source name), so it is
cut, stripped of what could escape the folder or that Windows, macOS or Linux
refuse (SPEC.md "jekyll"), and kept under the 255-byte limit of common file
systems. Pure functions; which names are already taken is asked by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

# SPEC.md: the title is cut to 50 characters before anything else is done to it.
TITLE_CHARS = 50
# ext4, NTFS, APFS and others limit one path component to 255 bytes (UTF-8 here).
MAX_NAME_BYTES = 255
# Windows refuses these in names; full-width forms keep the title readable.
_REPLACEMENTS = str.maketrans(
    {
        "\\": "＼",
        ":": "：",
        "*": "＊",
        "?": "？",
        '"': "＂",
        "<": "＜",
        ">": "＞",
        "|": "｜",
    }
)
# C0 and C1 control characters and DEL: invisible, and refused by Windows.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
UNTITLED = "无标题"


def safe_component(text: str) -> str:
    """``text`` made safe as one path component (``/`` becomes ``--`` as the seeds show)."""
    text = text.replace("/", "--")
    text = _CONTROL.sub("", text).translate(_REPLACEMENTS)
    text = text.lstrip(".")
    # Windows drops trailing dots and spaces silently, which would make two names one.
    return text.rstrip(". ")


def _fit(stem: str, suffix: str, extension: str) -> str:
    while stem and len((stem + suffix + extension).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1].rstrip(". ")
    return stem + suffix + extension


def jekyll_name(published_at: datetime, title: str, taken: Callable[[str], bool]) -> str:
    """``_posts/{YYYY-MM-DD}-{title}.md``, with ``-2``, ``-3``… when the name is taken.

    ``published_at`` is the post's UTC date; ``taken(path)`` says whether a path
    is already used (compared case-insensitively by the caller, for macOS/Windows).
    """
    part = safe_component(title[:TITLE_CHARS]) or UNTITLED
    stem = f"{published_at:%Y-%m-%d}-{part}"
    number = 1
    while True:
        suffix = "" if number == 1 else f"-{number}"
        path = "_posts/" + _fit(stem, suffix, ".md")
        if not taken(path):
            return path
        number += 1


def list_name(source_name: str) -> str:
    """``lists/{source name}.md``."""
    return "lists/" + _fit(safe_component(source_name) or "source", "", ".md")


def markdown_name(slug: str, markdown_id: int) -> str:
    """``articles/{slug}/{id}.md``, the id written with 7 digits (SPEC.md "markdown")."""
    return f"articles/{slug}/{markdown_id:07d}.md"
