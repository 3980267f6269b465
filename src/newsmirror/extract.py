"""Stage 4, enrich: an article page's bytes in, the article's body as HTML out.

For a source with ``full_text = true`` the pipeline fetches each new article's
page and hands its bytes here. The body is found with the source's CSS
``selector`` when it has one, otherwise with readability-lxml, a
general-purpose extractor; ``better_than_feed`` then decides whether what was
found replaces the feed's own content (usually a summary).

- Decoding: a BOM; then valid UTF-8, whatever is declared; then the HTTP
  charset, then ``<meta charset>`` / ``<meta http-equiv>``; then detection by
  charset-normalizer. GB2312 and GBK are read as GB18030, Big5 as cp950.
- Parsing: Lexbor (selectolax) builds the tree the HTML Standard prescribes,
  the one a browser shows in its developer tools, where selectors are written.
- Selector: the inner HTML of the *first* element it matches, in document
  order (what jQuery's and cheerio's ``.html()`` give), serialized from the
  tree as it stands, not pretty-printed. A page repeating the class in a
  related-articles box keeps its own body; a selector list (``a, b``) gives
  whichever comes first on the page.
- General extractor: readability-lxml on the page less its scripts and styles;
  nothing at all when it finds no article, or only a little text or mostly links.

It must never fetch anything (nothing here opens a socket, nor, past its
imports, a file),
sanitize (``clean``, stage 5, does that), emit text, links or images the page
did not contain, or raise anything but for a programming error: every failure
is an ``Extraction`` whose ``html`` is None and whose ``reason`` says why.
"""

# How the libraries were chosen: measured 2026-11-21 on tests/pages/, nine
# fictional Chinese pages built like WordPress, VOA, BBC, Drupal, tech-news,
# news-flash, GBK table-layout, Big5 and channel-index pages (a shared 2-core
# machine; median of 20 runs, the range over the pages). body: article
# paragraphs and captions kept, of 55; junk: navigation, share, related,
# comment, sidebar and footer snippets kept, of 59; pre: <pre> kept as <pre>.
#
#   general extractor         body   junk  img  link  pre  channel page  ms/page
#   readability-lxml 0.9      55/55  0/59  3/3  3/3   2/2  its footer    1.4-7.1
#   trafilatura 2.3.1         52/55  3/59  3/3  3/3   1/2  all its text  1.9-13.7
#     favor_precision=True    52/55  0/59  3/3  3/3   1/2  nothing       2.2-14.3
#     fast=True               as the default                             0.8-3.1
#   this module (readability) 55/55  0/59  3/3  3/3   2/2  nothing       0.8-5.7
#
# trafilatura rebuilds the HTML from its own XML: it drops figcaptions and
# <cite>, turns a <pre> into a <blockquote> (whose lines the publish stage
# would then join), inline <code> into <pre>, <b> into <strong>, indents the
# result and trims the full-width spaces opening Chinese paragraphs; on a small
# page it dropped an <ol>, an <h3> and a <picture>. On the news flash it gave the
# whole page's text as one <p>. readability keeps the page's own elements
# (figure, pre/code, blockquote/cite, classes); it kept the title and a byline
# (with a view count) above two bodies. On a 5 MB page readability took 1.6 s,
# trafilatura 8.3 s. trafilatura reads 100-odd jusText stop-word files on
# first use and brings ~50 MB of dependencies (babel, dateparser, regex, ...);
# readability-lxml brings chardet, cssselect and lxml-html-clean (2.6 MB) on
# top of lxml, which we have. Neither opened a socket.
#
#   selector engine          ms/page    output = the source between the tags (8 pages)
#   selectolax 1.0.2/Lexbor  0.03-0.20  8/8 but for &#8220; given as “ (5 MB: 0.04 s)
#   lxml 6.1.3 + cssselect   0.08-0.39  the same (5 MB: 0.09 s)
#
# They differ where a browser repairs markup. Lexbor follows the HTML Standard:
# <p><figure> closes the p, <source> is void, </br> is <br>, svg keeps viewBox.
# libxml2 keeps the figure inside the p, puts what follows a <source> inside
# it, drops </br> (gluing two lines), lower-cases viewBox and stops nesting at
# depth 256, dropping what is deeper. So selectors run on Lexbor's tree, and
# readability is given the page as Lexbor rebuilt it (</br> and <p><figure>
# reach it repaired).

from __future__ import annotations

import codecs
import html as html_text
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from .charsets import CODEC_ALIASES, LATIN, codecs_for

log = logging.getLogger(__name__)

SELECTOR = "selector"
GENERAL = "readability-lxml"

# Fewer visible characters than this is no article body: shorter than the
# shortest news flash (one sentence, ~40 characters), longer than "页面不存在"
# or "Loading...".
MIN_BODY_CHARS = 20
# A general extraction with more than this share of its text inside links is a
# list of headlines or a footer, not an article.
MAX_LINK_DENSITY = 1 / 3
# Markup (scripts and styles removed) past this many characters is not given
# to the general extractor: readability's work grows with size times nesting
# depth (measured: 1.3 MB nested 250 deep, 1.6 s; 5 MB nested 10 deep, 1.8 s).
# A news page's markup is well under 1 MB; a selector has no such limit.
MAX_GENERAL_CHARS = 2_000_000

# The WHATWG prescan looks at 1,024 bytes; Chinese portals put the <meta> after
# long keyword lists and scripts often enough to look further. One regex search.
META_SNIFF_BYTES = 16 * 1024
# How far the start of a body is read to tell HTML from other things.
HEAD_SNIFF_BYTES = 1024
# A declared codec that leaves at most one undecodable byte in a thousand is
# the page's: the rest is a stray byte (GBK's 0x80 euro sign, which Python's
# codecs lack) or a character cut in two by the fetcher's size limit.
MAX_UNDECODABLE_PER_MILLE = 1

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Types hosts send HTML under often enough that the body decides.
SNIFFED_TYPES = frozenset(
    {
        "",
        "text/plain",
        "text/xml",
        "application/xml",
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "unknown/unknown",
        "application/x-unknown-content-type",
    }
)
# WHATWG MIME Sniffing §6 and §7.1: signatures of bodies that are not HTML,
# checked whatever the Content-Type says (a PDF served as text/html is a PDF).
_SIGNATURES: tuple[tuple[re.Pattern[bytes], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), media_type)
    for pattern, media_type in (
        (rb"%PDF-", "application/pdf"),
        (rb"\x89PNG\r\n\x1a\n", "image/png"),
        (rb"GIF8[79]a", "image/gif"),
        (rb"\xff\xd8\xff", "image/jpeg"),
        (rb"RIFF.{4}WEBP", "image/webp"),
        (rb".{4}ftyp", "video/mp4"),
        (rb"PK\x03\x04", "application/zip"),
        (rb"\x1f\x8b\x08", "application/gzip"),
    )
)
# WHATWG MIME Sniffing §7.1: what HTML starts with, after whitespace (and,
# for XHTML served as XML, an XML declaration).
_HTML_START = re.compile(
    rb"\s*(?:<\?xml[^>]{0,200}\?>\s*)?"
    rb"(?:<!--|<!doctype\s+html[\s>]"
    rb"|<(?:html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p)[\s/>])",
    re.IGNORECASE,
)
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)
# <meta charset="..."> and <meta http-equiv="Content-Type" content="...; charset=...">.
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)

# Labels as pages use them: the shared table (``charsets``), with three rules of
# the HTML Standard (§13.2.3.2): Latin-1 and ASCII labels are windows-1252 only
# (what cannot be read so goes on to detection), so is x-user-defined, and a
# <meta> saying UTF-16 in a page that could be read as ASCII means UTF-8.
_UTF8, _PAGE_LATIN = ("utf-8",), (LATIN[0],)
_PAGE_CODECS: dict[str, tuple[str, ...]] = {
    **CODEC_ALIASES,
    **{label: _PAGE_LATIN for label, codecs in CODEC_ALIASES.items() if codecs == LATIN},
    "x-user-defined": _PAGE_LATIN,
    **dict.fromkeys(("utf-16", "utf-16le", "utf-16be", "unicode"), _UTF8),
}

# Elements that end an open <p> (HTML Standard §13.2.6.4.7): a <p> holding one
# is not HTML, and a browser would split it into empty paragraphs.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "details", "dialog", "div", "dl"),
        *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4"),
        *("h5", "h6", "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre"),
        *("section", "table", "ul"),
    }
)
# Not text a reader sees.
_INVISIBLE_TAGS = ["script", "style", "template", "noscript"]
_MEDIA = "img, picture, video, audio, iframe, embed, object, svg"


@dataclass(frozen=True)
class Extraction:
    """What was found on an article page; ``html`` is None when nothing usable was."""

    html: str | None  # the article body as HTML, as the page has it
    method: str  # "selector" or the general extractor's name, "readability-lxml"
    reason: str | None = None  # why html is None, for the user
    # What relative URLs in html are relative to when that is not the page's
    # URL: the page's <base href>, resolved. (The general extractor resolves
    # <base> itself, so this is only ever set by a selector.)
    base_url: str | None = None


@dataclass(frozen=True)
class _TextStats:
    chars: int  # visible characters, whitespace not counted
    link_chars: int  # of which inside links
    has_media: bool  # an image, video, embed...


def extract_article(
    page: bytes, *, url: str, content_type: str | None, selector: str | None
) -> Extraction:
    """The article body of ``page``, fetched from ``url``: by ``selector``, else by readability.

    Never raises for anything a page or a selector can hold: what cannot be
    done comes back as ``Extraction(None, method, reason)``.
    """
    method = GENERAL if selector is None else SELECTOR
    if selector is not None:
        problem = validate_selector(selector)
        if problem is not None:
            return Extraction(None, method, problem)
    if not page.strip():
        return Extraction(None, method, "empty page")
    not_html = _not_html_reason(page, content_type)
    if not_html is not None:
        return Extraction(None, method, not_html)
    text, codec = decode_page(page, content_type)
    log.debug("%s: decoded as %s", url, codec)
    if not text.strip():
        return Extraction(None, method, "empty page")
    if selector is not None:
        return _by_selector(text, selector, url)
    return _by_extractor(text, url)


def validate_selector(selector: str) -> str | None:
    """Why ``selector`` cannot be used, as a message naming it; None when it can."""
    if not selector.strip():
        return "empty CSS selector"
    try:
        LexborHTMLParser("").css(selector)
    except SelectolaxError:
        hint = ""
        if "::" in selector:
            hint = ": pseudo-elements (::before) are not elements"
        elif ":contains(" in selector:
            hint = ": :contains() is jQuery's, not CSS"
        return f"invalid CSS selector {selector!r}{hint}"
    return None


def better_than_feed(extracted: str, feed_content: str) -> bool:
    """Whether ``extracted`` should replace the feed's content for an article.

    Yes when it has more visible text than the feed's content and at least
    ``MIN_BODY_CHARS`` characters of it: a summary gives way to the full text,
    and a full-text feed is kept when the page has nothing more (or a paywall's
    one line). Characters, not bytes or words: Chinese has no spaces between
    words, and a Chinese character counts once, like a Latin letter.
    """
    extracted_chars = visible_length(extracted)
    return extracted_chars >= MIN_BODY_CHARS and extracted_chars > visible_length(feed_content)


def visible_length(html: str) -> int:
    """Characters of text a reader sees in ``html``, whitespace (full-width too) not counted."""
    return _text_stats(html).chars


def decode_page(page: bytes, content_type: str | None) -> tuple[str, str]:
    """The page's text and the codec it was read with.

    In order: a BOM; UTF-8, when the body is valid UTF-8 (but for a last
    character the size limit cut), whatever it declares: servers answering
    ``charset=gbk`` for every page are common, a GBK page that happens to be
    valid UTF-8 is not; the HTTP charset, then the page's <meta>, each first
    strictly, then allowing a stray byte in a thousand; detection; an HTTP
    ISO-8859-1 the page did not confirm; UTF-8 with replacement characters.
    """
    if page.startswith(codecs.BOM_UTF8):
        return page[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8"
    for bom, codec in _UTF16_BOMS:
        if page.startswith(bom):
            return page[len(bom) :].decode(codec, errors="replace"), codec
    if page.isascii():
        return page.decode("ascii"), "ascii"
    utf8 = _utf8_text(page)
    if utf8 is not None:
        return utf8, "utf-8"
    http = _HTTP_CHARSET.search(content_type or "")
    http_codecs = codecs_for(http.group(1), _PAGE_CODECS) if http else ()
    meta = _META_CHARSET.search(page, 0, META_SNIFF_BYTES)
    meta_codecs = codecs_for(meta.group(1).decode("ascii", "replace"), _PAGE_CODECS) if meta else ()
    # ISO-8859-1 is many servers' default (Tomcat's, for one), said of every
    # page whatever it holds: it counts only when nothing else says anything.
    server_default = http_codecs == _PAGE_LATIN
    declared = [*meta_codecs] if server_default else [*http_codecs, *meta_codecs]
    candidates = list(dict.fromkeys(declared))
    for codec in candidates:
        try:
            return page.decode(codec), codec
        except UnicodeDecodeError:
            continue
    for codec in candidates:
        text = page.decode(codec, errors="replace")
        if text.count("\ufffd") * 1000 <= max(1000, len(page) * MAX_UNDECODABLE_PER_MILLE):
            return text, codec
    from charset_normalizer import from_bytes  # 35 ms to import: only for such pages

    best = from_bytes(page).best()
    if best is not None:
        return str(best), best.encoding
    codec = _PAGE_LATIN[0] if server_default else "utf-8"
    return page.decode(codec, errors="replace"), codec


def _by_selector(text: str, selector: str, url: str) -> Extraction:
    tree = LexborHTMLParser(text)
    matches = tree.css(selector)
    if not matches:
        return Extraction(None, SELECTOR, f"selector {selector} matched nothing")
    if len(matches) > 1:
        log.debug(
            "%s: selector %s matched %d elements, the first taken", url, selector, len(matches)
        )
    body = matches[0].inner_html or ""
    stats = _text_stats(body)
    if not stats.chars and not stats.has_media:
        return Extraction(
            None, SELECTOR, f"selector {selector} matched an element with no text or image"
        )
    base = tree.css_first("base[href]")
    href = (base.attributes.get("href") or "").strip() if base is not None else ""
    return Extraction(body, SELECTOR, base_url=urljoin(url, href) if href else None)


def _by_extractor(text: str, url: str) -> Extraction:
    tree = LexborHTMLParser(text)
    # readability drops these itself; gone first, they do not count against the
    # size limit, and readability's libxml2 parses the tree a browser would build.
    tree.strip_tags(_INVISIBLE_TAGS)
    markup = tree.html or ""
    if len(markup) > MAX_GENERAL_CHARS:
        return Extraction(
            None,
            GENERAL,
            f"page too large for the general extractor ({len(markup):,} characters of markup, "
            f"limit {MAX_GENERAL_CHARS:,}); give the source a selector",
        )
    from readability.readability import Unparseable  # type: ignore[import-untyped]

    document = _readability_document()(markup)
    try:
        body = document.summary(html_partial=True)
    except Unparseable as error:
        log.debug("%s: readability failed", url, exc_info=True)
        return Extraction(None, GENERAL, f"the page could not be parsed: {error}")
    if not document.found_article:
        return Extraction(None, GENERAL, "no article found on the page")
    stats = _text_stats(body)
    if stats.chars < MIN_BODY_CHARS:
        return Extraction(
            None,
            GENERAL,
            f"no article found: the likeliest part of the page has {stats.chars} characters "
            f"of text (fewer than {MIN_BODY_CHARS})",
        )
    if stats.link_chars > stats.chars * MAX_LINK_DENSITY:
        return Extraction(
            None,
            GENERAL,
            f"no article found: the likeliest part of the page is mostly links "
            f"({stats.link_chars} of its {stats.chars} characters)",
        )
    return Extraction(body, GENERAL)


@cache
def _readability_document() -> Any:
    """readability's ``Document``, serializing its result itself; imported on first use (80 ms)."""
    from lxml import etree
    from readability import Document  # type: ignore[import-untyped]

    class ReadabilityDocument(Document):
        found_article = False

        def get_clean_html(self) -> str:
            # readability's hook for turning its result into a string. It hands
            # over the <div> it built around the article or, when it found none,
            # the page's <body>. Its own version strips width, height and style
            # by regex: left to the clean stage, which knows what is benign.
            node = self.html
            self.found_article = node.tag not in ("body", "html")
            # readability renames a <div> holding no <p>, <div>, <img>... to <p>,
            # even when it holds a heading; such a <p> is a <div> again.
            for paragraph in node.iter("p"):
                if any(child.tag in _BLOCK_TAGS for child in paragraph.iterchildren("*")):
                    paragraph.tag = "div"
            inner = html_text.escape(node.text or "", quote=False) + "".join(
                etree.tostring(child, encoding="unicode", method="html") for child in node
            )
            return inner.strip()

    return ReadabilityDocument


def _text_stats(html: str) -> _TextStats:
    tree = LexborHTMLParser(html)
    tree.strip_tags(_INVISIBLE_TAGS)
    root = tree.root
    if root is None:
        return _TextStats(0, 0, False)
    chars = _count(root.text(deep=True, separator=""))
    link_chars = sum(_count(link.text(deep=True, separator="")) for link in tree.css("a"))
    return _TextStats(chars, link_chars, tree.css_first(_MEDIA) is not None)


def _count(text: str) -> int:
    """Characters other than whitespace; str.split knows U+3000 and U+00A0 as whitespace."""
    return sum(len(word) for word in text.split())


def _not_html_reason(page: bytes, content_type: str | None) -> str | None:
    """Why the body is not an HTML page, or None when it is one."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    head = _head(page)
    for signature, sniffed in _SIGNATURES:
        if signature.match(head):
            return f"not an HTML page ({_served_as(sniffed, media_type)})"
    if head.lstrip()[:1] in (b"{", b"[") and _is_json(page):
        return f"not an HTML page ({_served_as('application/json', media_type)})"
    if media_type in HTML_TYPES:
        return None
    if media_type not in SNIFFED_TYPES:
        return f"not an HTML page ({media_type})"
    if _HTML_START.match(head):
        return None
    return f"not an HTML page ({media_type or 'no Content-Type'}, and no HTML markup at its start)"


def _served_as(sniffed: str, media_type: str) -> str:
    if media_type and media_type != sniffed:
        return f"{sniffed}, served as {media_type}"
    return sniffed


def _head(page: bytes) -> bytes:
    """The page's first bytes, without a BOM, UTF-16 re-encoded as UTF-8 for sniffing."""
    if page.startswith(codecs.BOM_UTF8):
        return page[len(codecs.BOM_UTF8) : HEAD_SNIFF_BYTES]
    for bom, codec in _UTF16_BOMS:
        if page.startswith(bom):
            return page[len(bom) : HEAD_SNIFF_BYTES].decode(codec, errors="ignore").encode()
    return page[:HEAD_SNIFF_BYTES]


def _is_json(page: bytes) -> bool:
    try:
        json.loads(page)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        return False
    return True


def _utf8_text(data: bytes) -> str | None:
    """``data`` read as UTF-8, less a last character cut short; None when it is not UTF-8."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return None
