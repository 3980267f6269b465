"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) → ParsedFeed.

JSON Feed is plain JSON: the stdlib reads it exactly, so no feed parser is
involved. Items become entries with the same value helpers as XML entries;
content_html is taken as given and content_text turned into HTML paragraphs.
It must never sanitize or rewrite HTML, resolve a URL, invent a date, or raise
anything but ParseError for a body that is not a JSON Feed.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from ..errors import ParseError
from ..models import Entry, ParsedFeed
from .dates import parse_datetime
from .entries import clean_title, guid_link, make_enclosure, stripped, unique_enclosures

JSON_PARSER = "json"  # JSON Feed is plain JSON: the stdlib reads it exactly


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body)  # RFC 8259 §8.1: UTF-8; json detects UTF-16/32 and a BOM
    except (ValueError, RecursionError) as e:
        raise ParseError(url, f"not a feed: the body is not valid JSON ({e})") from e
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise ParseError(url, "not a feed: JSON without a JSON Feed version")
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "not a feed: JSON Feed without an items list")
    return ParsedFeed(
        format="json",
        title=clean_title(data.get("title")),
        link=stripped(data.get("home_page_url")),
        entries=tuple(_json_entry(item) for item in items if isinstance(item, dict)),
        parser=JSON_PARSER,
    )


def _json_entry(item: dict[str, Any]) -> Entry:
    def listed(key: str) -> list[Any]:
        value = item.get(key)
        return value if isinstance(value, list) else []

    guid = stripped(item.get("id"))
    authors = listed("authors") or [item.get("author")]  # 1.0 has one "author" object
    enclosures = [
        make_enclosure(a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
        for a in listed("attachments")
        if isinstance(a, dict)
    ]
    enclosures += [make_enclosure(item.get(key), None, None) for key in ("image", "banner_image")]
    updated = parse_datetime(item.get("date_modified"))
    return Entry(
        title=clean_title(item.get("title")),
        link=stripped(item.get("url")) or guid_link(guid) or stripped(item.get("external_url")),
        guid=guid,
        published_at=parse_datetime(item.get("date_published")) or updated,
        updated_at=updated,
        content=_json_content(item),
        author=next((stripped(a.get("name")) for a in authors if isinstance(a, dict)), None),
        categories=tuple(dict.fromkeys(t for t in map(stripped, listed("tags")) if t)),
        enclosures=unique_enclosures(enclosures),
    )


def _json_content(item: dict[str, Any]) -> str:
    """content_html as given, else content_text as HTML paragraphs, else the summary."""
    for key in ("content_html", "content_text", "summary"):
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return _text_to_html(value) if key == "content_text" else value
    return ""


def _text_to_html(text: str) -> str:
    """Plain text as HTML: blank lines part paragraphs, single newlines become <br>."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    return "\n".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br>\n") + "</p>" for p in paragraphs
    )
