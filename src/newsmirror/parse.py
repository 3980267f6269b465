"""Parse stage: feed bytes → :class:`ParsedFeed` (SPEC "The pipeline", step 3).

Reads RSS 2.0 / 0.9x, RSS 1.0 (RDF), Atom 1.0 / 0.3 and JSON Feed 1.0 / 1.1 in
whatever encoding the feed declares or that can be detected, and recovers what
it can from ill-formed XML. How (parser choice measured in FINDINGS.md):

1. ``_to_utf8`` makes UTF-8 bytes whose XML declaration, if any, says UTF-8
   (a body that already claims UTF-8 is passed through undecoded).
2. ``_scan``, one regex pass, counts the item/entry start tags and notes where
   each item's raw title, link, guid, dates and content sit in the bytes.
3. fastfeedparser (lxml, ~50x faster) reads the feed; feedparser (tolerant,
   slow, imported only then) reads it again when fastfeedparser raises, returns
   fewer entries than the scan counted, or dropped text. Most entries wins.
4. The raw spans correct both parsers: they strip titles (feedparser: content
   too), fastfeedparser fills a missing guid with the link, guesses dates (even
   from a guid such as "42") and loses RSS 1.0 content:encoded, and libxml2's
   recovery drops every "&amp;"/"&lt;" after the first well-formedness error.
   Dates are read from the raw text by our own strict parser.

Never: sanitize or rewrite HTML, resolve relative URLs, change whitespace inside
content, invent a date, fetch anything, or raise anything but ParseError.
"""

from __future__ import annotations

import codecs
import html
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any

from newsmirror.errors import ParseError
from newsmirror.models import Enclosure, Entry, ParsedFeed

log = logging.getLogger(__name__)

FASTFEEDPARSER = "fastfeedparser"
FEEDPARSER = "feedparser"
JSON_PARSER = "json"  # JSON Feed is plain JSON: the stdlib reads it exactly

# Junk before the root (PHP warnings) is looked for this far: roots start near the top.
SNIFF_BYTES = 8192
# The XML declaration opens the document (XML 1.0 §2.8), after tolerated whitespace.
DECLARATION_BYTES = 512
# Longer date strings are not dates; this also bounds the loose date regex.
MAX_DATE_CHARS = 100
# Bytes at each edge of an element's text that show whether it starts/ends with
# whitespace: one UTF-8 character or one character reference (&#x3000;).
EDGE_BYTES = 12
# When a parser read an element's inside differently from us, the whitespace it
# stripped is put back only where this many characters next to that edge agree.
EDGE_CHARS = 40
# Bytes before an element's first child decoded to check that a parser's text is
# the text before that child: enough for EDGE_CHARS // 2 characters.
HEAD_CHECK_BYTES = 160
# Error messages quote at most this much of a root element name / a parser's error.
MAX_NAME_CHARS = 40
MAX_ERROR_CHARS = 160

_WHITESPACE = b" \t\r\n"
_DROPPED_TEXT = "fastfeedparser dropped text (libxml2 recovering from ill-formed XML)"

# Declared charset labels → Python codecs to try, in order. GB2312 text in the
# wild holds GBK/GB18030 characters: decode GB labels as GB18030, the superset.
# For Big5, cp950 (what Windows rendered) gives the intended forms in the corpus
# ("台﹑華視", U+FE51); big5hkscs adds the Hong Kong characters cp950 lacks.
# Latin-1 labels mean windows-1252 (WHATWG Encoding Standard).
_GB, _BIG5, _LATIN = ("gb18030",), ("cp950", "big5hkscs"), ("cp1252", "latin-1")
_CODEC_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "csgb2312", "gb18030"), _GB),
    **dict.fromkeys(("big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "cp950"), _BIG5),
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), _LATIN),
    "big5-hkscs": ("big5hkscs",),
}
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    # No BOM, but "<" in UTF-32 or "<?" in UTF-16 (XML 1.0 Appendix F).
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")
_XML_ENCODING_STR = re.compile(r"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*["'])([^"']*)""")
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)

# The root element's name, after the declaration, comments, PIs and a DOCTYPE. The
# group is atomic and possessive: backtracking into it is exponential in the PIs.
_ROOT_ELEMENT = re.compile(
    rb"(?>\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*+<([A-Za-z_][\w.:-]*)",
    re.DOTALL,
)
_FEED_START = re.compile(rb"<(?:\?xml\s|rss[\s>]|feed[\s>]|rdf:RDF[\s>])")
_FORMAT_BY_ROOT = {"rss": "rss2", "RDF": "rss1", "feed": "atom"}
_ITEM_START = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_ITEM_BOUNDARY = re.compile(rb"</?(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_LINK_TAG = re.compile(rb"<(?:[\w.-]+:)?link\s([^<>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")

# The scan: CDATA sections and comments (skipped whole), and the start or end
# tags of items and of the fields we read raw. Prefixes other than these plain
# ones keep a field apart (media:description, itunes:summary).
_SCANNED = (
    b"item|entry|title|guid|id|pubDate|date|published|issued|created|updated|modified"
    b"|summary|description|content|encoded"
)
_SCAN_PATTERN = rb"<(?:!\[CDATA\[|!--|(/?)(?:([A-Za-z_][\w.-]*):)?(%s)(?=[\s/>])([^<>]*)>)"
# Atom links are attributes; an RSS <link> holds its URL as text, worth reading raw.
_SCAN_ATOM = re.compile(_SCAN_PATTERN % _SCANNED)
_SCAN_RSS = re.compile(_SCAN_PATTERN % (_SCANNED + b"|link"))
_PLAIN_PREFIXES = frozenset({None, b"atom", b"rss", b"dc", b"dcterms", b"content"})
_SHORT_KEYS = frozenset({b"title", b"link", b"guid", b"id"})
_PUBLISHED_KEYS = (b"pubDate", b"date", b"published", b"issued", b"created")
_UPDATED_KEYS = (b"updated", b"modified")
# Content in SPEC order: content:encoded, Atom content, media:description, then
# description (RSS) / summary (Atom).
_CONTENT_KEYS = (b"encoded", b"content", b"media:description", b"description", b"summary")

_TEXT, _CDATA, _COMMENT, _TAG = "text", "cdata", "comment", "tag"
_CONSTRUCTS = ((b"<![CDATA[", b"]]>", _CDATA), (b"<!--", b"-->", _COMMENT), (b"<", b">", _TAG))
_AMP_OR_CHARREF = re.compile(r"&(amp|#[0-9]+|#x[0-9a-fA-F]+);")
# Bytes a well-formed text never holds: "&" not starting a reference, "<" not a tag.
_NOT_WELL_FORMED = re.compile(rb"&(?![A-Za-z][\w.-]*;|#[0-9]+;|#x[0-9a-fA-F]+;)|<(?![\w/!?])")
# C0/C1 controls, DEL and the line/paragraph separators: a title is one line.
_TITLE_CONTROLS = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}
_HTTP_URL = re.compile(r"https?://\S+\Z", re.IGNORECASE)
_OUTER_ELEMENT = re.compile(r"\A<[^>]*>|</[^>]*>\s*\Z")
_XHTML_DIV = re.compile(r"\A\s*<(?:\w+:)?div\b[^>]*>(.*)</(?:\w+:)?div>\s*\Z", re.DOTALL)
_LOOSE_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\D{0,12}?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)

Span = tuple[int, int]  # an element's inside: xml[start:end]


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
    head = body.lstrip(_WHITESPACE)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:].lstrip(_WHITESPACE)
    if not head:
        raise ParseError(url, "empty body")
    if head[:1] in (b"{", b"["):
        return _parse_json_feed(body, url)
    for trusted in (True, False):  # the second round decodes what claimed UTF-8 but is not
        xml, warnings = _to_utf8(body, content_type, trust_utf8=trusted)
        xml, fmt = _find_root(xml, url, warnings)
        feed = _parse_xml(xml, fmt, url, warnings, trusted=trusted)
        if feed is not None:
            return feed
    raise AssertionError("an untrusted round always returns a feed")


# --- encodings --------------------------------------------------------------------------------


def _codecs_for(label: str | None) -> tuple[str, ...]:
    """Python codecs for a declared charset label; () when unknown."""
    name = (label or "").strip().lower()
    if name in _CODEC_ALIASES:
        return _CODEC_ALIASES[name]
    try:
        return (codecs.lookup(name).name,) if name else ()
    except LookupError:
        return ()


def _to_utf8(body: bytes, content_type: str | None, *, trust_utf8: bool) -> tuple[bytes, list[str]]:
    """The document as UTF-8 bytes, its declaration (if any) saying so, no BOM or leading space.

    Order: a BOM; valid UTF-8 (a body that decodes as UTF-8 is UTF-8 whatever
    it declares: the reverse accident is vanishingly rare for CJK text); the
    HTTP charset (RFC 7303 §3 gives it precedence), then the XML declaration;
    then detection. With ``trust_utf8`` a body declaring UTF-8 or nothing is not
    decoded here (``_looks_misdecoded`` checks the parsers' output instead).
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            keep = 0 if b"<" in bom else len(bom)
            return _utf8_document(body[keep:].decode(codec, errors="replace")), []
    stripped = body.lstrip(_WHITESPACE)
    declared = _XML_ENCODING.match(stripped[:DECLARATION_BYTES])
    xml_label = declared.group(1).decode("ascii", "replace") if declared else None
    http = _HTTP_CHARSET.search(content_type or "")
    labels = [label for label in (http and http.group(1), xml_label) if label]
    candidates = list(dict.fromkeys(c for label in labels for c in _codecs_for(label)))
    if trust_utf8 and all(c == "utf-8" for c in candidates):
        return stripped, []
    warnings: list[str] = []
    if _is_utf8(stripped):
        if candidates and candidates[0] != "utf-8" and not stripped.isascii():
            warnings.append(f"declared charset {labels[0]} but the body is UTF-8; read as UTF-8")
        if xml_label and _codecs_for(xml_label) != ("utf-8",):
            return _utf8_document(stripped.decode("utf-8")), warnings
        return stripped, warnings
    for codec in candidates:
        try:
            return _utf8_document(stripped.decode(codec)), warnings
        except UnicodeDecodeError:
            continue
    return _utf8_document(_detect(stripped, labels, warnings)), warnings


def _detect(body: bytes, labels: list[str], warnings: list[str]) -> str:
    """Decode a body no declared codec reads, the codec guessed by charset-normalizer."""
    from charset_normalizer import from_bytes  # 40 ms to import: only for such bodies

    best = from_bytes(body).best()
    said = f"declared charset {labels[0]} does not decode the body" if labels else "no charset"
    if best is not None:
        warnings.append(f"{said}; detected {best.encoding}")
        return str(best)
    warnings.append(f"{said}; read as UTF-8 with undecodable bytes replaced")
    return body.decode("utf-8", errors="replace")


def _utf8_document(text: str) -> bytes:
    """Encode decoded XML as UTF-8, its declaration rewritten to say so."""
    text = text.lstrip("\ufeff \t\r\n")
    head = _XML_ENCODING_STR.sub(r"\1utf-8", text[:DECLARATION_BYTES], count=1)
    return (head + text[DECLARATION_BYTES:]).encode("utf-8", errors="replace")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _find_root(xml: bytes, url: str, warnings: list[str]) -> tuple[bytes, str]:
    """Check the root element is a feed's, cutting junk before it. Returns (xml, format)."""
    match = _ROOT_ELEMENT.match(xml)
    name = match.group(1).decode("ascii", "replace") if match else ""
    local = name.rpartition(":")[2]
    if local in _FORMAT_BY_ROOT:
        return xml, _FORMAT_BY_ROOT[local]
    if local.lower() == "html":
        raise ParseError(url, "not a feed: the body is an HTML page")
    start = _FEED_START.search(xml, 1, SNIFF_BYTES)  # junk before or after the declaration
    if start is not None:
        warnings.append(f"ignored {start.start()} bytes of junk before the feed")
        return _find_root(xml[start.start() :], url, warnings)
    if not name:
        raise ParseError(url, "not a feed: no XML element or JSON object in the body")
    raise ParseError(
        url, f"not a feed: the root element is <{name[:MAX_NAME_CHARS]}>, not RSS, RDF or Atom"
    )


# --- the scan ---------------------------------------------------------------------------------


@dataclass
class _ItemScan:
    """Where one item's raw fields sit: key → span of the first such element."""

    spans: dict[bytes, Span] = field(default_factory=dict)
    about: bool = False  # an RSS 1.0 item's rdf:about, its identifier
    xhtml: bool = False  # Atom content of type xhtml: markup, not text


def _scan(xml: bytes, fmt: str) -> list[_ItemScan]:
    """One pass over the bytes: every item/entry and the first span of each field in it."""
    items: list[_ItemScan] = []
    current: _ItemScan | None = None
    search = (_SCAN_ATOM if fmt == "atom" else _SCAN_RSS).search
    pos = 0
    while (match := search(xml, pos)) is not None:
        start, pos = match.span()
        closing, prefix, local, attributes = match.groups()
        if local is None:  # a CDATA section or a comment: skip it whole
            if xml[start + 2] == 0x5B:  # "<![CDATA["
                pos = _cdata_end(xml, start)
            else:
                end = xml.find(b"-->", pos)
                pos = len(xml) if end < 0 else end + 3
        elif local in (b"item", b"entry"):
            current = None if closing else _ItemScan(about=b"about=" in attributes)
            if current is not None:
                items.append(current)
        elif current is not None and not closing and not attributes.endswith(b"/"):
            plain = prefix in _PLAIN_PREFIXES or local == b"encoded"  # any content: prefix
            key = local if plain else prefix + b":" + local
            if key in current.spans:
                continue  # only the first counts; its inside is scanned like the rest
            qname = xml[start + 1 : start + 1 + len(local) + (len(prefix) + 1 if prefix else 0)]
            close = _closing_tag(xml, pos, qname)
            if close >= 0:
                current.spans[key] = (pos, close)
                current.xhtml = current.xhtml or (key == b"content" and b"xhtml" in attributes)
                pos = close + len(qname) + 2  # past "</qname"
    return items


def _closing_tag(xml: bytes, pos: int, qname: bytes) -> int:
    """Offset of the ``</qname`` closing an element whose inside starts at ``pos``; -1 when
    the item ends first. Steps from "<" to "<": a one-byte find is a memchr, several
    times faster than a multi-byte one over megabytes of content."""
    closing = b"</" + qname
    while (pos := xml.find(b"<", pos)) >= 0:
        if xml.startswith(closing, pos):
            return pos
        if xml.startswith(b"<![CDATA[", pos):
            pos = _cdata_end(xml, pos)
        elif _ITEM_BOUNDARY.match(xml, pos):
            return -1
        else:
            pos += 1
    return -1


def _cdata_end(xml: bytes, pos: int) -> int:
    """Offset just past the "]]>" ending the CDATA section at ``pos``; the end if none."""
    while (pos := xml.find(b"]", pos + 1)) >= 0:  # "]" is rare in text: memchr again
        if xml.startswith(b"]]>", pos):
            return pos + 3
    return len(xml)


# --- raw text ---------------------------------------------------------------------------------


def _span_text(xml: bytes, span: Span | None, *, markup: bool = False) -> str | None:
    """An element's text as XML defines it: CDATA unwrapped, entities decoded once,
    comments dropped. Child elements give None, or with ``markup`` are kept as written
    (HTML left unescaped in a description, or after escaped HTML as in oped2-atom.xml)."""
    if span is None:
        return None
    raw = xml[span[0] : span[1]].replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # XML §2.11
    if b"<" not in raw:
        return _decode_entities(raw)
    out: list[str] = []
    for kind, piece in _pieces(raw):
        if kind is _TEXT:
            out.append(_decode_entities(piece))
        elif kind is _CDATA:
            out.append(piece.decode("utf-8", errors="replace"))
        elif kind is _TAG:
            if not markup:
                return None
            out.append(piece.decode("utf-8", errors="replace"))
    return "".join(out)


def _pieces(raw: bytes) -> Iterator[tuple[str, bytes]]:
    """Text, CDATA (unwrapped), comments and tags of an element's inside, in order.
    Linear: a construct left open ends the walk as text (a regex would rescan)."""
    pos = 0
    while (start := raw.find(b"<", pos)) >= 0:
        if start > pos:
            yield _TEXT, raw[pos:start]
        opener, closer, kind = next(c for c in _CONSTRUCTS if raw.startswith(c[0], start))
        end = raw.find(closer, start + len(opener))
        if end < 0:
            yield _TEXT, raw[start:]
            return
        pos = end + len(closer)
        yield kind, raw[start + len(opener) : end] if kind is _CDATA else raw[start:pos]
    if pos < len(raw):
        yield _TEXT, raw[pos:]


def _decode_entities(raw: bytes, errors: str = "replace") -> str:
    """Decode XML's five entities and character references in one pass.

    The four that cannot make a new "&" go through str.replace (C speed: content
    holds thousands of "&lt;"); "&amp;" and character references then share one
    regex pass, so "&amp;lt;" becomes "&lt;", never "<"."""
    text = raw.decode("utf-8", errors=errors)
    if "&" not in text:
        return text
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    text = text.replace("&apos;", "'")
    if "&#" not in text:
        return text.replace("&amp;", "&")
    return _AMP_OR_CHARREF.sub(_charref, text)


def _charref(match: re.Match[str]) -> str:
    reference = match.group(1)
    if reference == "amp":
        return "&"
    digits, base = (reference[2:], 16) if reference[1] in "xX" else (reference[1:], 10)
    try:
        return chr(int(digits, base))
    except (ValueError, OverflowError):
        return match.group(0)


def _first_child(xml: bytes, span: Span) -> int:
    """Offset of an element's first child element (markup outside CDATA); -1 if none."""
    pos, end = span
    while (pos := xml.find(b"<", pos, end)) >= 0:
        if not xml.startswith(b"<![CDATA[", pos):
            return pos
        pos = _cdata_end(xml, pos)
    return -1


def _edges(xml: bytes, span: Span) -> tuple[bool, bool]:
    """Whether an element's text starts / ends with whitespace (which parsers strip)."""
    start, end = span
    if xml.startswith(b"<![CDATA[", start):
        start += 9
    if xml[max(start, end - 3) : end] == b"]]>":
        end -= 3
    head = _decode_entities(xml[start : min(end, start + EDGE_BYTES)], errors="ignore")
    tail = _decode_entities(xml[max(start, end - EDGE_BYTES) : end], errors="ignore")
    return head[:1].isspace(), tail[-1:].isspace()


def _restore(xml: bytes, span: Span | None, parsed: str | None) -> str | None:
    """``parsed`` with the whitespace the parser stripped from its edges put back; the raw
    text when the parser lost the field (fastfeedparser drops RSS 1.0 content:encoded)."""
    if span is None:
        return parsed
    if parsed is None:
        return _span_text(xml, span)
    lead, trail = _edges(xml, span)
    if (parsed[:1].isspace() or not lead) and (parsed[-1:].isspace() or not trail):
        return parsed
    raw = _span_text(xml, span)
    core = parsed.strip()
    if raw is None or not core:
        return parsed
    body = raw.strip()
    if body == core:
        return raw
    # The parser read the inside differently (a broken entity in ill-formed XML): put
    # back only the edges whose neighbouring text both readings agree on.
    if not parsed[:1].isspace() and body[:EDGE_CHARS] == core[:EDGE_CHARS]:
        parsed = raw[: len(raw) - len(raw.lstrip())] + parsed
    if not parsed[-1:].isspace() and body[-EDGE_CHARS:] == core[-EDGE_CHARS:]:
        parsed += raw[len(raw.rstrip()) :]
    return parsed


def _short_text(
    xml: bytes, span: Span | None, parsed: str | None, *, restore: bool = True
) -> str | None:
    """A title, link or guid: ours when its bytes are not well-formed (a bare "&" or "<",
    which the parsers drop or mangle), else the parser's (whitespace restored if asked)."""
    if span is not None and _ill_formed(xml, span):
        raw = _span_text(xml, span)
        if raw and not raw.isspace():
            return raw
    return _restore(xml, span, parsed) if restore or parsed is None else parsed


def _ill_formed(xml: bytes, span: Span) -> bool:
    """Whether a short element's text holds a bare "&" or "<" (outside CDATA sections)."""
    raw = xml[span[0] : span[1]]
    if b"<![CDATA[" not in raw:
        return _NOT_WELL_FORMED.search(raw) is not None
    pieces = (piece for kind, piece in _pieces(raw) if kind is not _CDATA)
    return any(_NOT_WELL_FORMED.search(piece) for piece in pieces)


def _with_children(xml: bytes, span: Span, first: int, parsed: str | None) -> str:
    """Text and child markup of an element holding both. fastfeedparser keeps only the
    text before the first child, feedparser re-serializes the children: reuse the
    parser's text when it is that head (decoding ours is slow), decode the rest."""
    head, tail = (span[0], first), _span_text(xml, (first, span[1]), markup=True) or ""
    window = _decode_entities(xml[max(span[0], first - HEAD_CHECK_BYTES) : first], "ignore")
    check = window.strip()[-EDGE_CHARS // 2 :]
    if parsed and check and parsed[-len(check) - EDGE_CHARS :].rstrip().endswith(check):
        return (_restore(xml, head, parsed) or "") + tail
    return (_span_text(xml, head) or "") + tail


def _dropped(xml: bytes, span: Span, value: str) -> bool:
    """Whether a parser's value lacks an "&" or "<" that the element's bytes spell with
    "&amp;" / "&lt;" (two C-speed finds: this runs over every entry's content)."""
    start, end = span
    if xml.startswith(b"<![CDATA[", start):
        return False  # CDATA text is taken as it is
    if "<" not in value and xml.find(b"&lt;", start, end) >= 0:
        return True
    return "&" not in value and xml.find(b"&amp;", start, end) >= 0


def _unwrap_xhtml(markup: str) -> str:
    """Atom xhtml content sits in one <div> (RFC 4287 §4.1.3.3): keep what is inside.
    Takes the element's inside as written, or a serialization of the whole element."""
    if markup.startswith(("<content", "<atom:content")):
        markup = _OUTER_ELEMENT.sub("", markup)
    match = _XHTML_DIV.match(markup)
    return match.group(1) if match else markup


# --- XML through the two parsers --------------------------------------------------------------


@dataclass
class _Parsed:
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


@dataclass
class _Attempt:
    parser: str
    feed: Any = None  # the parser's own result
    entries: list[_Parsed] = field(default_factory=list)
    error: str | None = None


def _run_fastfeedparser(xml: bytes) -> _Attempt:
    import fastfeedparser  # 60 ms of imports, paid by the first parse only

    try:
        result = fastfeedparser.parse(xml)  # bytes are parsed, never fetched
    except Exception as e:  # any failure means: ask the tolerant parser
        return _Attempt(FASTFEEDPARSER, error=str(e) or type(e).__name__)
    entries = [_from_fastfeedparser(raw) for raw in result.get("entries") or ()]
    return _Attempt(FASTFEEDPARSER, result, entries)


def _run_feedparser(xml: bytes) -> _Attempt:
    import feedparser  # 70 ms to import (FINDINGS): only for feeds that need it

    try:  # a file object, which feedparser never takes for a URL or a path
        result = feedparser.parse(io.BytesIO(xml), sanitize_html=False, resolve_relative_uris=False)
    except Exception as e:  # a third-party parser on hostile input
        return _Attempt(FEEDPARSER, error=str(e) or type(e).__name__)
    entries = [_from_feedparser(raw) for raw in result.get("entries") or ()]
    return _Attempt(FEEDPARSER, result, entries, str(result.get("bozo_exception", "")) or None)


def _parse_xml(
    xml: bytes, fmt: str, url: str, warnings: list[str], *, trusted: bool
) -> ParsedFeed | None:
    """Read XML with fastfeedparser, falling back to feedparser when entries or text are
    lost. Returns None when ``trusted`` UTF-8 turns out not to be UTF-8."""
    items = _scan(xml, fmt)
    chosen = _run_fastfeedparser(xml)
    damaged = len(chosen.entries) == len(items) and _dropped_text(chosen.entries, items, xml)
    if chosen.error is not None or len(chosen.entries) < len(items) or damaged:
        if trusted and not _is_utf8(xml):
            return None
        first, fallback = chosen, _run_feedparser(xml)
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
        _make_entry(parsed, items[i] if aligned else None, xml)
        for i, parsed in enumerate(chosen.entries)
    )
    head = chosen.feed.get("feed") or {}
    feed = ParsedFeed(
        format=fmt,
        title=_title(head.get("title")),
        link=_feed_link(_strip(head.get("link")), xml),
        entries=entries,
        parser=chosen.parser,
        warnings=tuple(warnings),
    )
    return None if trusted and _looks_misdecoded(feed, xml) else feed


def _dropped_text(entries: list[_Parsed], items: list[_ItemScan], xml: bytes) -> bool:
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
            if key in _SHORT_KEYS and _ill_formed(xml, span):
                return True
            value = values.get(key)
            if value and _dropped(xml, span, value):
                return True
    return False


def _usable(attempt: _Attempt) -> bool:
    """fastfeedparser's result unless it raised; feedparser's if it recognised a feed."""
    if attempt.parser == FASTFEEDPARSER:
        return attempt.error is None
    return bool(attempt.entries or attempt.feed.get("version"))


def _looks_misdecoded(feed: ParsedFeed, xml: bytes) -> bool:
    """A U+FFFD the body does not hold: the parser met bytes that are not UTF-8."""
    texts = [feed.title or "", *(e.title or "" for e in feed.entries)]
    if not any("\ufffd" in text for text in texts + [e.content for e in feed.entries]):
        return False
    return b"\xef\xbf\xbd" not in xml and not _is_utf8(xml)


def _fallback_warning(first: _Attempt, damaged: bool, recovered: int, expected: int) -> str:
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
        if rel != b"alternate" and _decode_entities(attributes.get(b"href", b"")).strip() == link:
            return None
    return link


# --- entries ----------------------------------------------------------------------------------


def _from_fastfeedparser(raw: dict[str, Any]) -> _Parsed:
    media = [m for m in raw.get("media_content") or () if isinstance(m, dict)]
    contents = raw.get("content") or [{}]
    content = contents[0].get("value")
    if content and contents[0].get("type") in ("xhtml", "application/xhtml+xml"):
        content = _unwrap_xhtml(content)
    enclosures = [
        _enclosure(e.get("url"), e.get("type"), e.get("length"))
        for e in [*(raw.get("enclosures") or ()), *media]
    ]
    enclosures += [
        _enclosure(link.get("href"), link.get("type"), None)
        for link in raw.get("links") or ()
        if link.get("rel") == "enclosure"
    ]
    return _Parsed(
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


def _from_feedparser(raw: dict[str, Any]) -> _Parsed:
    content = (raw.get("content") or [{}])[0].get("value")
    enclosures = [
        _enclosure(e.get("href") or e.get("url"), e.get("type"), e.get("length"))
        for e in [*(raw.get("enclosures") or ()), *(raw.get("media_content") or ())]
    ]
    return _Parsed(
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


def _make_entry(parsed: _Parsed, item: _ItemScan | None, xml: bytes) -> Entry:
    """An Entry from a parser's reading, corrected with the item's raw spans (when the
    scan and the parser agree on the number of items)."""
    guid = _strip(parsed.guid)
    if item is None:
        title, link = parsed.title, _strip(parsed.link)
        published, updated = _parse_datetime(parsed.dates[0]), _parse_datetime(parsed.dates[1])
        if parsed.guid_may_be_link and guid == link:
            guid = None
    else:
        spans = item.spans
        title = _short_text(xml, spans.get(b"title"), parsed.title)
        link = _strip(_short_text(xml, spans.get(b"link"), parsed.link, restore=False))
        published = _first_date(xml, item, _PUBLISHED_KEYS)
        updated = _first_date(xml, item, _UPDATED_KEYS)
        guid_span = spans.get(b"guid") or spans.get(b"id")
        if guid_span is not None and xml[guid_span[0] : guid_span[1]].strip():
            guid = _strip(_short_text(xml, guid_span, guid, restore=False))
        elif not item.about:
            guid = None  # the feed gives none: never the link in disguise
    categories = (_strip(term) for term in parsed.categories)
    return Entry(
        title=_title(title),
        link=link or _guid_link(guid),
        guid=guid,
        published_at=published or updated,
        updated_at=updated,
        content=_content(xml, item, parsed.texts),
        author=_strip(parsed.author),
        categories=tuple(dict.fromkeys(term for term in categories if term)),
        enclosures=_unique_enclosures(parsed.enclosures),
    )


def _content(xml: bytes, item: _ItemScan | None, texts: dict[bytes, str | None]) -> str:
    """The first non-blank content in SPEC order, whitespace as the feed has it."""
    for key in _CONTENT_KEYS:
        span = item.spans.get(key) if item is not None else None
        if span is None:
            value = texts[key] if item is None else None
        elif key == b"content" and item is not None and item.xhtml:
            value = _unwrap_xhtml(xml[span[0] : span[1]].decode("utf-8", errors="replace"))
        elif (first := _first_child(xml, span)) >= 0:
            value = _with_children(xml, span, first, texts[key])
        else:
            value = _restore(xml, span, texts[key])
        if value and not value.isspace():
            return value
    if item is not None:  # a field under a name the scan does not know: the parser's reading
        return _content(xml, None, texts)
    return ""


def _first_date(xml: bytes, item: _ItemScan, keys: tuple[bytes, ...]) -> datetime | None:
    for key in keys:
        span = item.spans.get(key)
        if span is not None and span[1] - span[0] <= 2 * MAX_DATE_CHARS:
            value = _parse_datetime(_span_text(xml, span))
            if value is not None:
                return value
    return None


def _title(value: Any) -> str | None:
    """Entity-decoded title with controls, newlines and tabs as spaces; None when blank."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.translate(_TITLE_CONTROLS)


def _strip(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _guid_link(guid: str | None) -> str | None:
    return guid if guid and _HTTP_URL.match(guid) else None


def _enclosure(url: Any, mime_type: Any, length: Any) -> Enclosure | None:
    href = _strip(url)
    if href is None:
        return None
    try:
        size: int | None = int(length) if length not in (None, "") else None
    except (TypeError, ValueError):
        size = None
    return Enclosure(href, _strip(mime_type), size if size is None or size >= 0 else None)


def _unique_enclosures(found: list[Enclosure | None]) -> tuple[Enclosure, ...]:
    by_url: dict[str, Enclosure] = {}
    for enclosure in found:
        if enclosure is not None:
            by_url.setdefault(enclosure.url, enclosure)
    return tuple(by_url.values())


# --- dates ------------------------------------------------------------------------------------


def _parse_datetime(value: Any) -> datetime | None:
    """A UTC datetime from RFC 822, ISO 8601 / RFC 3339 or a numeric / Chinese date.

    Nothing is guessed: a value without a year or a day gives None. A value
    without a zone is read as UTC, as feedparser does.
    """
    if not isinstance(value, str) or not (text := value.strip()) or len(text) > MAX_DATE_CHARS:
        return None
    parsed: datetime | None = None
    if text[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    elif fields := parsedate_tz(text):  # RFC 822 §5 / RFC 2822 §3.3, RSS 2.0's pubDate
        try:
            parsed = datetime(*fields[:6], tzinfo=timezone(timedelta(seconds=fields[9] or 0)))
        except (ValueError, OverflowError):
            parsed = None
    if parsed is None:
        parsed = _parse_loose(text)
    try:
        return parsed and (
            parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        )
    except (ValueError, OverflowError):
        return None


def _parse_loose(text: str) -> datetime | None:
    """ "2025-2-1 9:00:00", "星期六，2025年2月1日23:05:24 -0500" and the like."""
    match = _LOOSE_DATE.search(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = -offset if zone[0] == "-" else offset
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    except (ValueError, OverflowError):
        return None


# --- JSON Feed --------------------------------------------------------------------------------


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
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
        title=_title(data.get("title")),
        link=_strip(data.get("home_page_url")),
        entries=tuple(_json_entry(item) for item in items if isinstance(item, dict)),
        parser=JSON_PARSER,
    )


def _json_entry(item: dict[str, Any]) -> Entry:
    def listed(key: str) -> list[Any]:
        value = item.get(key)
        return value if isinstance(value, list) else []

    guid = _strip(item.get("id"))
    authors = listed("authors") or [item.get("author")]  # 1.0 has one "author" object
    enclosures = [
        _enclosure(a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
        for a in listed("attachments")
        if isinstance(a, dict)
    ]
    enclosures += [_enclosure(item.get(key), None, None) for key in ("image", "banner_image")]
    updated = _parse_datetime(item.get("date_modified"))
    return Entry(
        title=_title(item.get("title")),
        link=_strip(item.get("url")) or _guid_link(guid) or _strip(item.get("external_url")),
        guid=guid,
        published_at=_parse_datetime(item.get("date_published")) or updated,
        updated_at=updated,
        content=_json_content(item),
        author=next((_strip(a.get("name")) for a in authors if isinstance(a, dict)), None),
        categories=tuple(dict.fromkeys(t for t in map(_strip, listed("tags")) if t)),
        enclosures=_unique_enclosures(enclosures),
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
