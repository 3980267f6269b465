"""Parse stage: feed bytes → :class:`ParsedFeed` (SPEC "The pipeline", step 3).

Reads RSS 2.0 / 0.9x, RSS 1.0 (RDF), Atom 1.0 / 0.3 and JSON Feed 1.0 / 1.1 in
whatever encoding the feed declares or that can be detected, and recovers what
it can from ill-formed XML. How (parser choice measured in FINDINGS.md):

1. ``encoding.to_utf8`` makes UTF-8 bytes whose XML declaration, if any, says
   UTF-8 (a body that already claims UTF-8 is passed through undecoded).
2. ``scan.scan_items``, one regex pass, counts the item/entry start tags and
   notes where each item's raw title, link, guid, dates and content sit.
3. ``xmlfeed``: fastfeedparser (lxml, ~50x faster) reads the feed; feedparser
   (tolerant, slow, imported only then) reads it again when fastfeedparser
   raises, returns fewer entries than the scan counted, or dropped text. Most
   entries wins.
4. ``entries`` with ``rawtext``: the raw spans correct both parsers: they strip
   titles (feedparser: content too), fastfeedparser fills a missing guid with
   the link, guesses dates (even from a guid such as "42") and loses RSS 1.0
   content:encoded, and libxml2's recovery drops every "&amp;"/"&lt;" after the
   first well-formedness error. Dates are read from the raw text by our own
   strict parser, ``dates``.

JSON Feed goes to ``jsonfeed`` instead. Each module imports only those listed
before it: encoding, scan, rawtext, dates, entries, xmlfeed, jsonfeed.

Never: sanitize or rewrite HTML, resolve relative URLs, change whitespace inside
content, invent a date, fetch anything, or raise anything but ParseError.
"""

from __future__ import annotations

import codecs
import logging

from ..errors import ParseError
from ..models import ParsedFeed
from .encoding import WHITESPACE, find_root, to_utf8
from .jsonfeed import JSON_PARSER, parse_json_feed
from .xmlfeed import FASTFEEDPARSER, FEEDPARSER, parse_xml

__all__ = ["FASTFEEDPARSER", "FEEDPARSER", "JSON_PARSER", "parse_feed"]

log = logging.getLogger(__name__)


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Read a feed body; raise :class:`ParseError` naming ``url`` when nothing can be read."""
    try:
        return _parse(body, url, content_type)
    except ParseError:
        raise
    except Exception as e:  # the stage boundary: translate whatever escaped
        log.debug("unexpected failure parsing %s", url, exc_info=True)
        raise ParseError(url, f"could not read the feed ({type(e).__name__}: {e})") from e


def _parse(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    head = body.lstrip(WHITESPACE)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:].lstrip(WHITESPACE)
    if not head:
        raise ParseError(url, "empty body")
    if head[:1] in (b"{", b"["):
        return parse_json_feed(body, url)
    for trusted in (True, False):  # the second round decodes what claimed UTF-8 but is not
        xml, warnings = to_utf8(body, content_type, trust_utf8=trusted)
        xml, fmt = find_root(xml, url, warnings)
        feed = parse_xml(xml, fmt, url, warnings, trusted=trusted)
        if feed is not None:
            return feed
    raise AssertionError("an untrusted round always returns a feed")
