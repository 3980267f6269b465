"""Raw text: an element's text read straight from the bytes at a span the scan found,
and the corrections it makes to what a parser read.

Text is read as XML defines it: CDATA unwrapped, the five entities and
character references decoded once, comments dropped, line ends normalised
(XML 1.0 §2.11). The parsers strip whitespace at the edges, mangle
text that is not well-formed and lose "&amp;"-escaped markup when recovering;
these helpers detect that and put back what the feed holds. They must never
strip, collapse or otherwise rewrite whitespace inside a text, sanitize markup,
or decode an entity twice ("&amp;lt;" stays "&lt;").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .scan import Span, cdata_end

# Bytes at each edge of an element's text that show whether it starts/ends with
# whitespace: one UTF-8 character or one character reference (&#x3000;).
EDGE_BYTES = 12
# When a parser read an element's inside differently from us, the whitespace it
# stripped is put back only where this many characters next to that edge agree.
EDGE_CHARS = 40
# Bytes before an element's first child decoded to check that a parser's text is
# the text before that child: enough for EDGE_CHARS // 2 characters.
HEAD_CHECK_BYTES = 160

_TEXT, _CDATA, _COMMENT, _TAG = "text", "cdata", "comment", "tag"
_CONSTRUCTS = ((b"<![CDATA[", b"]]>", _CDATA), (b"<!--", b"-->", _COMMENT), (b"<", b">", _TAG))
_AMP_OR_CHARREF = re.compile(r"&(amp|#[0-9]+|#x[0-9a-fA-F]+);")
# Bytes a well-formed text never holds: "&" not starting a reference, "<" not a tag.
_NOT_WELL_FORMED = re.compile(rb"&(?![A-Za-z][\w.-]*;|#[0-9]+;|#x[0-9a-fA-F]+;)|<(?![\w/!?])")
_OUTER_ELEMENT = re.compile(r"\A<[^>]*>|</[^>]*>\s*\Z")
_XHTML_DIV = re.compile(r"\A\s*<(?:\w+:)?div\b[^>]*>(.*)</(?:\w+:)?div>\s*\Z", re.DOTALL)


def span_text(xml: bytes, span: Span | None, *, markup: bool = False) -> str | None:
    """An element's text as XML defines it: CDATA unwrapped, entities decoded once,
    comments dropped. Child elements give None, or with ``markup`` are kept as written
    (HTML left unescaped in a description, or after escaped HTML as in oped2-atom.xml)."""
    if span is None:
        return None
    raw = xml[span[0] : span[1]].replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # XML §2.11
    if b"<" not in raw:
        return decode_entities(raw)
    out: list[str] = []
    for kind, piece in _pieces(raw):
        if kind is _TEXT:
            out.append(decode_entities(piece))
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


def decode_entities(raw: bytes, errors: str = "replace") -> str:
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


def first_child(xml: bytes, span: Span) -> int:
    """Offset of an element's first child element (markup outside CDATA); -1 if none."""
    pos, end = span
    while (pos := xml.find(b"<", pos, end)) >= 0:
        if not xml.startswith(b"<![CDATA[", pos):
            return pos
        pos = cdata_end(xml, pos)
    return -1


def _edges(xml: bytes, span: Span) -> tuple[bool, bool]:
    """Whether an element's text starts / ends with whitespace (which parsers strip)."""
    start, end = span
    if xml.startswith(b"<![CDATA[", start):
        start += 9
    if xml[max(start, end - 3) : end] == b"]]>":
        end -= 3
    head = decode_entities(xml[start : min(end, start + EDGE_BYTES)], errors="ignore")
    tail = decode_entities(xml[max(start, end - EDGE_BYTES) : end], errors="ignore")
    return head[:1].isspace(), tail[-1:].isspace()


def restore_edges(xml: bytes, span: Span | None, parsed: str | None) -> str | None:
    """``parsed`` with the whitespace the parser stripped from its edges put back; the raw
    text when the parser lost the field (fastfeedparser drops RSS 1.0 content:encoded)."""
    if span is None:
        return parsed
    if parsed is None:
        return span_text(xml, span)
    lead, trail = _edges(xml, span)
    if (parsed[:1].isspace() or not lead) and (parsed[-1:].isspace() or not trail):
        return parsed
    raw = span_text(xml, span)
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


def short_text(
    xml: bytes, span: Span | None, parsed: str | None, *, restore: bool = True
) -> str | None:
    """A title, link or guid: ours when its bytes are not well-formed (a bare "&" or "<",
    which the parsers drop or mangle), else the parser's (whitespace restored if asked)."""
    if span is not None and ill_formed(xml, span):
        raw = span_text(xml, span)
        if raw and not raw.isspace():
            return raw
    return restore_edges(xml, span, parsed) if restore or parsed is None else parsed


def ill_formed(xml: bytes, span: Span) -> bool:
    """Whether a short element's text holds a bare "&" or "<" (outside CDATA sections)."""
    raw = xml[span[0] : span[1]]
    if b"<![CDATA[" not in raw:
        return _NOT_WELL_FORMED.search(raw) is not None
    pieces = (piece for kind, piece in _pieces(raw) if kind is not _CDATA)
    return any(_NOT_WELL_FORMED.search(piece) for piece in pieces)


def with_children(xml: bytes, span: Span, first: int, parsed: str | None) -> str:
    """Text and child markup of an element holding both. fastfeedparser keeps only the
    text before the first child, feedparser re-serializes the children: reuse the
    parser's text when it is that head (decoding ours is slow), decode the rest."""
    head, tail = (span[0], first), span_text(xml, (first, span[1]), markup=True) or ""
    window = decode_entities(xml[max(span[0], first - HEAD_CHECK_BYTES) : first], "ignore")
    check = window.strip()[-EDGE_CHARS // 2 :]
    if parsed and check and parsed[-len(check) - EDGE_CHARS :].rstrip().endswith(check):
        return (restore_edges(xml, head, parsed) or "") + tail
    return (span_text(xml, head) or "") + tail


def dropped(xml: bytes, span: Span, value: str) -> bool:
    """Whether a parser's value lacks an "&" or "<" that the element's bytes spell with
    "&amp;" / "&lt;" (two C-speed finds: this runs over every entry's content)."""
    start, end = span
    if xml.startswith(b"<![CDATA[", start):
        return False  # CDATA text is taken as it is
    if "<" not in value and xml.find(b"&lt;", start, end) >= 0:
        return True
    return "&" not in value and xml.find(b"&amp;", start, end) >= 0


def unwrap_xhtml(markup: str) -> str:
    """Atom xhtml content sits in one <div> (RFC 4287 §4.1.3.3): keep what is inside.
    Takes the element's inside as written, or a serialization of the whole element."""
    if markup.startswith(("<content", "<atom:content")):
        markup = _OUTER_ELEMENT.sub("", markup)
    match = _XHTML_DIV.match(markup)
    return match.group(1) if match else markup
