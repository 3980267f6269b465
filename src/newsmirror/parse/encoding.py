"""Encodings: feed bytes in, UTF-8 bytes whose XML declaration says UTF-8 out.

The codec comes from a BOM, then valid UTF-8 (whatever the feed declares), then
the HTTP charset (RFC 7303 §3), the XML declaration and last detection by
charset-normalizer, imported only for the bodies that need it; the root element
is then checked to be RSS, RDF or Atom. It must never parse the XML or change
the document's text (only its encoding, the declared label, a BOM, leading
whitespace and junk before the root go), nor raise anything but ParseError.
"""

from __future__ import annotations

import codecs
import re

from ..charsets import codecs_for
from ..errors import ParseError

# Junk before the root (PHP warnings) is looked for this far: roots start near the top.
SNIFF_BYTES = 8192
# The XML declaration opens the document (XML 1.0 §2.8), after tolerated whitespace.
DECLARATION_BYTES = 512
# Error messages quote at most this much of a root element name.
MAX_NAME_CHARS = 40

WHITESPACE = b" \t\r\n"

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


def to_utf8(body: bytes, content_type: str | None, *, trust_utf8: bool) -> tuple[bytes, list[str]]:
    """The document as UTF-8 bytes, its declaration (if any) saying so, no BOM or leading space.

    Order: a BOM; valid UTF-8 (a body that decodes as UTF-8 is UTF-8 whatever
    it declares: the reverse accident is vanishingly rare for CJK text); the
    HTTP charset (RFC 7303 §3 gives it precedence), then the XML declaration;
    then detection. With ``trust_utf8`` a body declaring UTF-8 or nothing is not
    decoded here (``xmlfeed`` checks the parsers' output for U+FFFD instead).
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            keep = 0 if b"<" in bom else len(bom)
            return _utf8_document(body[keep:].decode(codec, errors="replace")), []
    stripped = body.lstrip(WHITESPACE)
    declared = _XML_ENCODING.match(stripped[:DECLARATION_BYTES])
    xml_label = declared.group(1).decode("ascii", "replace") if declared else None
    http = _HTTP_CHARSET.search(content_type or "")
    labels = [label for label in (http and http.group(1), xml_label) if label]
    candidates = list(dict.fromkeys(c for label in labels for c in codecs_for(label)))
    if trust_utf8 and all(c == "utf-8" for c in candidates):
        return stripped, []
    warnings: list[str] = []
    if is_utf8(stripped):
        if candidates and candidates[0] != "utf-8" and not stripped.isascii():
            warnings.append(f"declared charset {labels[0]} but the body is UTF-8; read as UTF-8")
        if xml_label and codecs_for(xml_label) != ("utf-8",):
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


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def find_root(xml: bytes, url: str, warnings: list[str]) -> tuple[bytes, str]:
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
        return find_root(xml[start.start() :], url, warnings)
    if not name:
        raise ParseError(url, "not a feed: no XML element or JSON object in the body")
    raise ParseError(
        url, f"not a feed: the root element is <{name[:MAX_NAME_CHARS]}>, not RSS, RDF or Atom"
    )
