"""XML feeds: UTF-8 bytes → ParsedFeed, through fastfeedparser and, when needed, feedparser.

fastfeedparser (lxml, ~50x faster, FINDINGS.md) reads every feed; feedparser
(tolerant, slow, imported only then) reads it again when fastfeedparser raises,
returns fewer entries than the scan counted, or dropped text while recovering
from ill-formed XML, and the reading with most entries wins. Each entry is then
corrected by its raw spans (``entries.make_entry``), and the fallback is said in
the feed's warnings. It must never fetch anything (the parsers get bytes, never
a URL or a path), let feedparser sanitize HTML or resolve relative URLs, or pass
a parser's exception on: a feed nothing can read is a ParseError quoting the XML
error and its line.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParseError
from ..models import ParsedFeed
from .encoding import is_utf8
from .entries import (
    Parsed,
    clean_title,
    from_fastfeedparser,
    from_feedparser,
    make_entry,
    stripped,
)
from .rawtext import decode_entities, dropped, ill_formed
from .scan import ItemScan, scan_items

FASTFEEDPARSER = "fastfeedparser"
FEEDPARSER = "feedparser"

# Error messages quote at most this much of a parser's error.
MAX_ERROR_CHARS = 160
_DROPPED_TEXT = "fastfeedparser dropped text (libxml2 recovering from ill-formed XML)"
# A title, link or guid holding a bare "&" or "<" is where libxml2's recovery begins.
_SHORT_KEYS = frozenset({b"title", b"link", b"guid", b"id"})
_ITEM_START = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_LINK_TAG = re.compile(rb"<(?:[\w.-]+:)?link\s([^<>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


@dataclass
class Attempt:
    """One parser's reading of the whole feed: its own result, the entries, its error."""

    parser: str
    feed: Any = None  # the parser's own result
    entries: list[Parsed] = field(default_factory=list)
    error: str | None = None


def run_fastfeedparser(xml: bytes) -> Attempt:
    import fastfeedparser  # 60 ms of imports, paid by the first parse only

    try:
        result = fastfeedparser.parse(xml)  # bytes are parsed, never fetched
    except Exception as e:  # any failure means: ask the tolerant parser
        return Attempt(FASTFEEDPARSER, error=str(e) or type(e).__name__)
    entries = [from_fastfeedparser(raw) for raw in result.get("entries") or ()]
    return Attempt(FASTFEEDPARSER, result, entries)


def run_feedparser(xml: bytes) -> Attempt:
    import feedparser  # 70 ms to import (FINDINGS): only for feeds that need it

    try:  # a file object, which feedparser never takes for a URL or a path
        result = feedparser.parse(io.BytesIO(xml), sanitize_html=False, resolve_relative_uris=False)
    except Exception as e:  # a third-party parser on hostile input
        return Attempt(FEEDPARSER, error=str(e) or type(e).__name__)
    entries = [from_feedparser(raw) for raw in result.get("entries") or ()]
    return Attempt(FEEDPARSER, result, entries, str(result.get("bozo_exception", "")) or None)


def parse_xml(
    xml: bytes, fmt: str, url: str, warnings: list[str], *, trusted: bool
) -> ParsedFeed | None:
    """Read XML with fastfeedparser, falling back to feedparser when entries or text are
    lost. Returns None when ``trusted`` UTF-8 turns out not to be UTF-8."""
    items = scan_items(xml, fmt)
    chosen = run_fastfeedparser(xml)
    damaged = len(chosen.entries) == len(items) and _dropped_text(chosen.entries, items, xml)
    if chosen.error is not None or len(chosen.entries) < len(items) or damaged:
        if trusted and not is_utf8(xml):
            return None
        first, fallback = chosen, run_feedparser(xml)
        if (
            chosen.error is not None
            or len(fallback.entries) > len(first.entries)
            or (damaged and len(fallback.entries) == len(first.entries))
        ):
            chosen = fallback
        if not _usable(chosen) or (items and not chosen.entries):
            raise ParseError(url, _failure_reason(xml))
        if chosen is fallback:
            warnings.append(_fallback_warning(first, damaged, len(fallback.entries), len(items)))
    if len(chosen.entries) < len(items):
        warnings.append(
            f"the body holds {len(items)} items but only {len(chosen.entries)} could be read"
        )
    aligned = len(items) == len(chosen.entries)
    entries = tuple(
        make_entry(parsed, items[i] if aligned else None, xml)
        for i, parsed in enumerate(chosen.entries)
    )
    head = chosen.feed.get("feed") or {}
    feed = ParsedFeed(
        format=fmt,
        title=clean_title(head.get("title")),
        link=_feed_link(stripped(head.get("link")), xml),
        entries=entries,
        parser=chosen.parser,
        warnings=tuple(warnings),
    )
    return None if trusted and _looks_misdecoded(feed, xml) else feed


def _dropped_text(entries: list[Parsed], items: list[ItemScan], xml: bytes) -> bool:
    """Whether libxml2's recovery damaged the text. Its first well-formedness error shows
    in a title, link or guid holding a bare "&" or "<"; after one it drops every later
    "&amp;", "&lt;" and "&gt;" in text: escaped HTML silently loses its markup."""
    for parsed, item in zip(entries, items, strict=True):
        values = {
            b"title": parsed.title,
            b"link": parsed.link,
            b"guid": parsed.guid,
            b"id": parsed.guid,
            **parsed.texts,
        }
        for key, span in item.spans.items():
            if key in _SHORT_KEYS and ill_formed(xml, span):
                return True
            value = values.get(key)
            if value and dropped(xml, span, value):
                return True
    return False


def _usable(attempt: Attempt) -> bool:
    """fastfeedparser's result unless it raised; feedparser's if it recognised a feed."""
    if attempt.parser == FASTFEEDPARSER:
        return attempt.error is None
    return bool(attempt.entries or attempt.feed.get("version"))


def _looks_misdecoded(feed: ParsedFeed, xml: bytes) -> bool:
    """A U+FFFD the body does not hold: the parser met bytes that are not UTF-8."""
    texts = [feed.title or "", *(e.title or "" for e in feed.entries)]
    if not any("\ufffd" in text for text in texts + [e.content for e in feed.entries]):
        return False
    return b"\xef\xbf\xbd" not in xml and not is_utf8(xml)


def _fallback_warning(first: Attempt, damaged: bool, recovered: int, expected: int) -> str:
    if damaged:
        why = _DROPPED_TEXT
    elif first.error is not None:
        why = f"fastfeedparser failed ({first.error[:MAX_ERROR_CHARS]})"
    else:
        why = f"fastfeedparser read {len(first.entries)} of {expected} entries"
    return f"{why}: recovered {recovered} of {expected} entries with the tolerant parser"


def _failure_reason(xml: bytes) -> str:
    """Say why nothing could be read, quoting the XML error and its line."""
    from lxml import etree

    try:
        etree.fromstring(xml, etree.XMLParser(resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError as e:
        message = re.sub(r",? line \d+, column \d+$", "", e.msg)  # lxml repeats the place
        return f"malformed XML and no entries could be recovered (line {e.lineno}: {message})"
    return "no entries could be read from the feed"


def _feed_link(link: str | None, xml: bytes) -> str | None:
    """The feed's site link. fastfeedparser falls back to the rel="self" link, which
    names the feed document itself (RFC 4287 §4.2.7.2), not the site: drop that."""
    if link is None:
        return None
    first_item = _ITEM_START.search(xml)
    for tag in _LINK_TAG.finditer(xml, 0, first_item.start() if first_item else len(xml)):
        attributes = {
            m.group(1): m.group(2) or m.group(3) or b"" for m in _ATTRIBUTE.finditer(tag.group(1))
        }
        rel = attributes.get(b"rel", b"alternate").strip()
        if rel != b"alternate" and decode_entities(attributes.get(b"href", b"")).strip() == link:
            return None
    return link
