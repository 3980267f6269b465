"""Entries: what a parser read for one item, corrected by its raw spans, as an Entry.

``Parsed`` is a parser's reading in one shape (fastfeedparser's and feedparser's
dicts differ); ``make_entry`` prefers the feed's own bytes wherever the parsers
are known to go wrong: titles, links and guids that are not well-formed,
whitespace at the edges of content, a guid fastfeedparser filled with the link,
dates (the raw text read by ``dates``, not the parsers' guesses). Content is the
first non-blank field in SPEC order. The value helpers are shared with ``jsonfeed``.
It must never sanitize or rewrite HTML, resolve a URL, invent a guid or a date,
or change whitespace inside content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import Enclosure, Entry
from .dates import MAX_DATE_CHARS, parse_datetime
from .rawtext import first_child, restore_edges, short_text, span_text, unwrap_xhtml, with_children
from .scan import ItemScan

_PUBLISHED_KEYS = (b"pubDate", b"date", b"published", b"issued", b"created")
_UPDATED_KEYS = (b"updated", b"modified")
# Content in SPEC order: content:encoded, Atom content, media:description, then
# description (RSS) / summary (Atom).
_CONTENT_KEYS = (b"encoded", b"content", b"media:description", b"description", b"summary")
# C0/C1 controls, DEL and the line/paragraph separators: a title is one line.
_TITLE_CONTROLS = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}
_HTTP_URL = re.compile(r"https?://\S+\Z", re.IGNORECASE)


@dataclass
class Parsed:
    """What a parser read for one entry, before the raw spans correct it."""

    title: str | None
    link: str | None
    guid: str | None
    texts: dict[bytes, str | None]  # content candidates, keyed like the scan's spans
    dates: tuple[Any, Any]  # published, updated as the parser gives them
    author: str | None
    categories: list[str | None]
    enclosures: list[Enclosure | None]
    guid_may_be_link: bool = False  # fastfeedparser fills a missing guid with the link


def from_fastfeedparser(raw: dict[str, Any]) -> Parsed:
    media = [m for m in raw.get("media_content") or () if isinstance(m, dict)]
    contents = raw.get("content") or [{}]
    content = contents[0].get("value")
    if content and contents[0].get("type") in ("xhtml", "application/xhtml+xml"):
        content = unwrap_xhtml(content)
    enclosures = [
        make_enclosure(e.get("url"), e.get("type"), e.get("length"))
        for e in [*(raw.get("enclosures") or ()), *media]
    ]
    enclosures += [
        make_enclosure(link.get("href"), link.get("type"), None)
        for link in raw.get("links") or ()
        if link.get("rel") == "enclosure"
    ]
    return Parsed(
        title=raw.get("title"),
        link=raw.get("link"),
        guid=raw.get("id"),
        texts={
            b"encoded": content,
            b"content": content,
            b"media:description": next((m.get("description") for m in media), None),
            b"description": raw.get("description"),
            b"summary": raw.get("description"),
        },
        dates=(raw.get("published"), raw.get("updated")),
        author=raw.get("author"),
        categories=[tag.get("term") for tag in raw.get("tags") or ()],
        enclosures=enclosures,
        guid_may_be_link=True,
    )


def from_feedparser(raw: dict[str, Any]) -> Parsed:
    content = (raw.get("content") or [{}])[0].get("value")
    enclosures = [
        make_enclosure(e.get("href") or e.get("url"), e.get("type"), e.get("length"))
        for e in [*(raw.get("enclosures") or ()), *(raw.get("media_content") or ())]
    ]
    return Parsed(
        title=raw.get("title"),
        link=None if raw.get("guidislink") else raw.get("link"),  # a guid, not a link
        guid=raw.get("id"),
        texts={
            b"encoded": content,
            b"content": content,
            b"media:description": None,
            b"description": raw.get("summary"),
            b"summary": raw.get("summary"),
        },
        # dict.get: feedparser's own get maps a missing "updated" to "published" (its issue 310)
        dates=(dict.get(raw, "published"), dict.get(raw, "updated")),
        author=raw.get("author"),
        categories=[tag.get("term") for tag in raw.get("tags") or ()],
        enclosures=enclosures,
    )


def make_entry(parsed: Parsed, item: ItemScan | None, xml: bytes) -> Entry:
    """An Entry from a parser's reading, corrected with the item's raw spans (when the
    scan and the parser agree on the number of items)."""
    guid = stripped(parsed.guid)
    if item is None:
        title, link = parsed.title, stripped(parsed.link)
        published, updated = parse_datetime(parsed.dates[0]), parse_datetime(parsed.dates[1])
        if parsed.guid_may_be_link and guid == link:
            guid = None
    else:
        spans = item.spans
        title = short_text(xml, spans.get(b"title"), parsed.title)
        link = stripped(short_text(xml, spans.get(b"link"), parsed.link, restore=False))
        published = _first_date(xml, item, _PUBLISHED_KEYS)
        updated = _first_date(xml, item, _UPDATED_KEYS)
        guid_span = spans.get(b"guid") or spans.get(b"id")
        if guid_span is not None and xml[guid_span[0] : guid_span[1]].strip():
            guid = stripped(short_text(xml, guid_span, guid, restore=False))
        elif not item.about:
            guid = None  # the feed gives none: never the link in disguise
    categories = (stripped(term) for term in parsed.categories)
    return Entry(
        title=clean_title(title),
        link=link or guid_link(guid),
        guid=guid,
        published_at=published or updated,
        updated_at=updated,
        content=_content(xml, item, parsed.texts),
        author=stripped(parsed.author),
        categories=tuple(dict.fromkeys(term for term in categories if term)),
        enclosures=unique_enclosures(parsed.enclosures),
    )


def _content(xml: bytes, item: ItemScan | None, texts: dict[bytes, str | None]) -> str:
    """The first non-blank content in SPEC order, whitespace as the feed has it."""
    for key in _CONTENT_KEYS:
        span = item.spans.get(key) if item is not None else None
        if span is None:
            value = texts[key] if item is None else None
        elif key == b"content" and item is not None and item.xhtml:
            value = unwrap_xhtml(xml[span[0] : span[1]].decode("utf-8", errors="replace"))
        elif (first := first_child(xml, span)) >= 0:
            value = with_children(xml, span, first, texts[key])
        else:
            value = restore_edges(xml, span, texts[key])
        if value and not value.isspace():
            return value
    if item is not None:  # a field under a name the scan does not know: the parser's reading
        return _content(xml, None, texts)
    return ""


def _first_date(xml: bytes, item: ItemScan, keys: tuple[bytes, ...]) -> datetime | None:
    for key in keys:
        span = item.spans.get(key)
        if span is not None and span[1] - span[0] <= 2 * MAX_DATE_CHARS:
            value = parse_datetime(span_text(xml, span))
            if value is not None:
                return value
    return None


def clean_title(value: Any) -> str | None:
    """Entity-decoded title with controls, newlines and tabs as spaces; None when blank."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.translate(_TITLE_CONTROLS)


def stripped(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def guid_link(guid: str | None) -> str | None:
    return guid if guid and _HTTP_URL.match(guid) else None


def make_enclosure(url: Any, mime_type: Any, length: Any) -> Enclosure | None:
    href = stripped(url)
    if href is None:
        return None
    try:
        size: int | None = int(length) if length not in (None, "") else None
    except (TypeError, ValueError):
        size = None
    return Enclosure(href, stripped(mime_type), size if size is None or size >= 0 else None)


def unique_enclosures(found: list[Enclosure | None]) -> tuple[Enclosure, ...]:
    by_url: dict[str, Enclosure] = {}
    for enclosure in found:
        if enclosure is not None:
            by_url.setdefault(enclosure.url, enclosure)
    return tuple(by_url.values())
