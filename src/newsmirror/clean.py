"""Clean: article HTML made safe to publish, with benign HTML kept byte for byte.

SPEC.md step 5. Third-party article HTML goes into SQLite, Markdown files and
the static site; nothing in it may run there. ``clean_html`` does, per article:

1. **Absolutize.** Relative ``href``, ``src``, ``srcset``, ``poster`` and
   ``cite`` URLs are resolved against the article's URL, in place, with the
   byte-preserving rewriter (``htmlrewrite``): html1.
2. **Sanitize.** html1 goes through nh3 (Ammonia, on html5ever), configured
   here with explicit allow-lists: html2, the sanitizer's re-serialization.
3. **Compare trees.** html1 and html2 are parsed by a second WHATWG parser
   (Lexbor, through selectolax, scripting on as in a browser) inside a stand-in
   page (``_PAGE_BEFORE`` / ``_PAGE_AFTER``). When the two pages are the same
   tree, a browser builds from html1 what it builds from the sanitized html2,
   and html1 is published: benign HTML stays as received, its quoting, entities
   and ``<br/>`` included. Otherwise html2 is published. Comparing in a page
   makes markup that would leak out of the article (a stray ``</div>``, an
   unclosed ``<a>`` or comment, ``<body onload>``, ``<frameset>``) a difference.
4. **Verify.** The tree of whatever is published is walked against the same
   allow-lists (elements, attributes, URL schemes, iframe hosts, CSS); should
   that ever fail (a sanitizer bug, a parser differential), the article is
   published as escaped text. html1 must pass more: its tokens too (tags and
   attributes a browser drops and other readers may not: ``<tr>`` outside a
   table, a second ``href``), no ``<`` written inside an attribute value and no
   comment holding ``<``, ``>`` or ``--`` (parsers that are not browsers may
   read those as markup; the sanitizer's serialization escapes or drops them).

The allow-lists (``ALLOWED_TAGS``, ``TAG_ATTRIBUTES``, ...) hold what news
articles use. Gone: scripts, event handlers, forms and their controls,
``<object>``/``<embed>``/``<applet>``, ``<style>``, ``<meta>``/``<base>``/
``<link>``, SVG and MathML (namespace confusion), ``<template>``,
``<noscript>``, frames, raw-text elements, ``srcdoc``, ``data-*`` attributes
(script gadgets), URL schemes other than http(s), mailto, tel and ftp
(``data:`` only for raster images in ``<img src>``), iframes not served over
https from ``iframe_hosts``, and CSS that could load anything or cover the
page. Comments stay, unless one of them could be misread: then all go.

Never: fetch anything; let a regular expression decide what is safe (the
decisions are made by the sanitizer and on parsed trees and URLs; the token
check can only refuse the original bytes); publish bytes that are not
tree-equal to the sanitizer's output and verified.
"""

from __future__ import annotations

import functools
import html as htmllib
import logging
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit

import nh3
from selectolax.lexbor import LexborHTMLParser, LexborNode

from .htmlrewrite import (
    count_attributes,
    format_srcset,
    iter_start_tags,
    iter_tags,
    parse_srcset,
    rewrite_attributes,
)

log = logging.getLogger(__name__)

# Video and audio players whose embeds articles carry. Matched exactly (no
# subdomains), over https only, on the default port, without user info.
DEFAULT_IFRAME_HOSTS: tuple[str, ...] = (
    "www.youtube.com",  # YouTube's embed player (youtube.com/embed/ID)
    "www.youtube-nocookie.com",  # YouTube's "privacy-enhanced" embed player
    "player.vimeo.com",  # Vimeo's embed player
    "player.bilibili.com",  # Bilibili (哔哩哔哩) embed player, common in Chinese articles
    "v.qq.com",  # Tencent Video (腾讯视频) embed player (v.qq.com/txp/iframe/player.html)
    "w.soundcloud.com",  # SoundCloud's audio player (radio and podcast pieces)
)

# -- allow-lists ----------------------------------------------------------------------

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ALLOWED_TAGS = frozenset(
    {
        # text
        "p", "br", "hr", "div", "span", "blockquote", "q", "cite", "pre", "code", "kbd",
        "samp", "var", "abbr", "acronym", "dfn", "time", "data", "mark", "small", "big",
        "strong", "em", "b", "i", "u", "s", "strike", "del", "ins", "sub", "sup", "tt",
        "font", "center", "address", "wbr", "bdi", "bdo", "ruby", "rt", "rp", "rtc",
        *_HEADINGS, "hgroup",
        # sections
        "section", "article", "header", "footer", "aside", "nav", "main",
        "details", "summary",
        # lists and tables
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td",
        # links and media
        "a", "img", "figure", "figcaption", "picture", "source", "video", "audio", "track",
        "iframe",
    }
)  # fmt: skip

# On every allowed element. ``id`` is kept for in-page anchors (footnotes); the
# site's own scripts must not read globals an element id could shadow (DOM
# clobbering). ``name`` is allowed on <a> only: on <img> it would shadow
# document properties.
GENERIC_ATTRIBUTES = frozenset(
    {"class", "id", "title", "lang", "dir", "style", "align", "role", "tabindex"}
)
# Accessibility attributes (WAI-ARIA), on every allowed element too. Not data-*:
# scripts act on those (the site's search indexer reads data-pagefind-*).
GENERIC_ATTRIBUTE_PREFIXES = frozenset({"aria-"})
_CELL = frozenset(
    {"colspan", "rowspan", "headers", "valign", "width", "height", "bgcolor", "nowrap"}
)
_IMAGE_ATTRIBUTES = frozenset(
    {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding", "border",
     "hspace", "vspace", "referrerpolicy"}
)  # fmt: skip
_IFRAME_ATTRIBUTES = frozenset(
    {"src", "width", "height", "allowfullscreen", "frameborder", "scrolling", "loading",
     "referrerpolicy", "allow", "sandbox", "marginwidth", "marginheight"}
)  # fmt: skip
TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name", "rel", "hreflang", "type", "referrerpolicy"}),
    "img": _IMAGE_ATTRIBUTES,
    "source": frozenset({"src", "srcset", "sizes", "media", "type", "width", "height"}),
    "video": frozenset(
        {"src", "poster", "controls", "width", "height", "preload", "loop", "muted", "playsinline"}
    ),
    "audio": frozenset({"src", "controls", "preload", "loop", "muted"}),
    "track": frozenset({"src", "kind", "srclang", "label", "default"}),
    "iframe": _IFRAME_ATTRIBUTES,
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "del": frozenset({"cite", "datetime"}),
    "ins": frozenset({"cite", "datetime"}),
    "time": frozenset({"datetime"}),
    "data": frozenset({"value"}),
    "details": frozenset({"open"}),
    "ol": frozenset({"start", "reversed", "type"}),
    "ul": frozenset({"type"}),
    "li": frozenset({"value", "type"}),
    "table": frozenset(
        {"border", "cellpadding", "cellspacing", "width", "height", "summary", "bgcolor"}
    ),
    "tr": frozenset({"valign", "bgcolor", "height"}),
    "td": _CELL,
    "th": _CELL | {"scope", "abbr"},
    "col": frozenset({"span", "width", "valign"}),
    "colgroup": frozenset({"span", "width", "valign"}),
    "thead": frozenset({"valign"}),
    "tbody": frozenset({"valign"}),
    "tfoot": frozenset({"valign"}),
    "font": frozenset({"color", "face", "size"}),
    "hr": frozenset({"size", "width", "noshade"}),
    "bdo": frozenset({"dir"}),
}
# Attributes kept only with one of these values (compared ignoring ASCII case).
# A named target would give the opened page a handle on ours (window.opener);
# "_blank" no longer does in browsers.
TAG_ATTRIBUTE_VALUES: dict[str, dict[str, frozenset[str]]] = {
    "a": {"target": frozenset({"_blank", "_self"})},
}
# Removed with everything inside them. Their content is code, form controls,
# markup parsed as text (showing it would show raw tags), or in a foreign
# namespace (SVG/MathML: where mutation XSS lives).
CLEAN_CONTENT_TAGS = frozenset(
    {
        "script", "style", "template", "noscript", "xmp", "plaintext", "noembed", "noframes",
        "textarea", "title", "select", "option", "optgroup", "datalist", "button", "svg",
        "math", "frameset", "frame", "head",
    }
)  # fmt: skip

URL_ATTRIBUTES = frozenset({"href", "src", "poster", "cite"})  # and srcset, a list of URLs
_URL_NAMES = URL_ATTRIBUTES | {"srcset"}
# Allowed attributes whose every value is fine (the others go through filter_attribute).
_NOT_FILTERED = (GENERIC_ATTRIBUTES | frozenset().union(*TAG_ATTRIBUTES.values())) - (
    _URL_NAMES | {"style", "rel", "allow"}
)
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})
# data: URLs kept in <img src> only, and only for raster formats: an image
# element never runs script, and none of these can hold any.
RASTER_DATA_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}
)
# Permissions policy features an allowed player may ask for (what YouTube's and
# Vimeo's embed codes list); camera, microphone, geolocation, payment... are not.
IFRAME_PERMISSIONS = frozenset(
    {
        "accelerometer", "autoplay", "clipboard-write", "encrypted-media", "fullscreen",
        "gyroscope", "picture-in-picture", "web-share",
    }
)  # fmt: skip
# CSS in style attributes: these properties only, with values made of words,
# numbers, colours, quoted font names and the colour functions below. No url(),
# expression(), var() or any other function, no escapes, no comments, nothing
# positioned over the page.
STYLE_PROPERTIES = frozenset(
    {
        "color", "background", "background-color", "font", "font-family", "font-size",
        "font-style", "font-variant", "font-weight", "line-height", "letter-spacing",
        "word-spacing", "text-align", "text-decoration", "text-indent", "text-transform",
        "white-space", "word-break", "word-wrap", "overflow-wrap", "vertical-align",
        "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
        "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
        "border", "border-top", "border-right", "border-bottom", "border-left",
        "border-width", "border-style", "border-color", "border-radius", "border-collapse",
        "border-spacing", "width", "height", "max-width", "max-height", "min-width",
        "min-height", "float", "clear", "display", "list-style-type", "table-layout",
        "overflow", "box-sizing", "text-overflow", "cursor",
        "-moz-border-radius", "-webkit-border-radius",
    }
)  # fmt: skip
STYLE_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla"})
_CSS_PUNCTUATION = frozenset(" \t\n\r\f#%.,-+!/_")

# -- limits ---------------------------------------------------------------------------

# HTML tree construction is quadratic in nesting depth for some elements (the
# "has an element in scope" checks): 10,000 nested <div> take ~0.4 s in the two
# parsers together, 100,000 take 30 s. A real article, even a long one with
# tables, has a few thousand tags; past this many "<" it is shown as text.
MAX_TAGS = 10_000
# Lexbor checks duplicate attributes in quadratic time. Tags in articles have
# a handful of attributes; inputs larger than PRESCAN_ABOVE characters are
# scanned for tags with more than MAX_ATTRIBUTES_PER_TAG (below it, at most a
# few thousand fit and they cost well under a second).
MAX_ATTRIBUTES_PER_TAG = 1_000
PRESCAN_ABOVE = 50_000

# The stand-in page the trees are compared in: the article inside two
# containers, with text after each, so that a stray end tag, an unclosed element
# or comment moves that text. Nothing before it: a <frameset> there would replace
# the page (on a real page it may not).
_SENTINEL = "x"
_PAGE_BEFORE = "<div><div>"
_PAGE_AFTER = f"</div>{_SENTINEL}</div>{_SENTINEL}"

_C0_AND_SPACE = "".join(map(chr, range(0x21)))  # stripped from URLs (URL Standard §4.4)
_TAB_AND_NEWLINE = str.maketrans("", "", "\t\n\r")  # removed from URLs anywhere
_SCHEME_PUNCTUATION = str.maketrans("", "", "+-.")
_ASCII_WHITESPACE = "\t\n\f\r "


@dataclass(frozen=True)
class Cleaned:
    html: str
    removed: tuple[str, ...] = ()  # what was removed, for people: "<script>", "onerror attribute"

    @property
    def changed(self) -> bool:
        """Whether anything was removed or re-serialized (making URLs absolute does not count)."""
        return bool(self.removed)


def clean_html(
    html: str, *, base_url: str | None, iframe_hosts: Collection[str] = DEFAULT_IFRAME_HOSTS
) -> Cleaned:
    """``html`` with relative URLs made absolute against ``base_url`` and nothing dangerous.

    Benign HTML comes back byte for byte (URLs aside); otherwise the sanitized,
    re-serialized HTML, with ``removed`` saying what went.
    """
    if isinstance(iframe_hosts, str):
        raise TypeError("iframe_hosts is a collection of host names, not one string")
    html, notes = _valid_unicode(html)
    if "<" not in html and "\0" not in html:  # text: nothing to parse, nothing to run
        return Cleaned(html, notes)
    too_much = _too_much_markup(html)
    if too_much:
        return Cleaned(htmllib.escape(html, quote=False), (*notes, too_much))
    policy = _policy(frozenset(host.strip().lower() for host in iframe_hosts))
    base = _Base.of(base_url)

    html1, tree1, inspection1 = _absolutized(html, policy, base)
    not_as_is = _not_as_is(html1, inspection1, policy)
    if not not_as_is:
        # Nothing the attribute filter would change: nh3 without it (5x faster)
        # gives the same tree, and the result is verified either way.
        html2 = policy.cleaner_unfiltered.clean(html1)
        if html2 == html1 or tree1.html == _parse(html2).html:
            return Cleaned(html1, notes)

    strip_comments = inspection1.risky_comments or not_as_is == _DECLARATIONS_NOTE
    html2, tree2, inspection2 = _sanitized(html1, policy, base, strip_comments=strip_comments)
    if not not_as_is and tree1.html == tree2.html:
        return Cleaned(html1, notes)
    if not inspection2.safe or inspection2.risky_comments:
        # Never expected: nh3's output failed the allow-lists once parsed again.
        log.error("sanitized HTML failed verification (%s); publishing text only", inspection2)
        content = _content(tree2)
        text = content.text(deep=True) if content is not None else ""
        return Cleaned(htmllib.escape(text, quote=False), (*notes, "all markup (unverifiable)"))
    removed = _removed(tree1, tree2, policy, html1, not_as_is or "malformed markup")
    return Cleaned(html2, tuple(dict.fromkeys((*notes, *removed))))


def _absolutized(
    html: str, policy: _Policy, base: _Base | None
) -> tuple[str, LexborHTMLParser, _Inspection]:
    """html1: ``html`` with its relative URLs made absolute, parsed and inspected."""
    tree = _parse(html)
    inspection = policy.inspect(tree, base)
    if inspection.needs_absolutizing:
        absolute = rewrite_attributes(html, functools.partial(_absolutize_attribute, base=base))
        if absolute != html:
            tree = _parse(absolute)
            return absolute, tree, policy.inspect(tree, base)
    return html, tree, inspection


def _not_as_is(html1: str, inspection: _Inspection, policy: _Policy) -> str:
    """Why html1 may not be published as it is, as a note for ``removed``; "" if it may."""
    if not inspection.safe:
        return f"{inspection.problem} (re-serialized)"
    misreadable = inspection.misreadable
    if misreadable == _LT_IN_ATTRIBUTE and not _raw_lt_in_attributes(html1):
        misreadable = ""  # only "&lt;": escaped already
    if misreadable:
        return f"{misreadable} (re-serialized)"
    if "\0" in html1:
        return "NUL characters"
    if _DECLARATION.search(html1):
        return _DECLARATIONS_NOTE
    # What the tree cannot show: tags and attributes a browser ignores in a page
    # (<frameset>, <tr> outside a table, a second href) but other readers may not.
    return policy.token_problem(html1, inspection.verified)


def _sanitized(
    html1: str, policy: _Policy, base: _Base | None, *, strip_comments: bool
) -> tuple[str, LexborHTMLParser, _Inspection]:
    """html2: nh3's output for html1, parsed and inspected."""
    cleaner = policy.cleaner_without_comments if strip_comments else policy.cleaner
    html2 = cleaner.clean(html1)
    tree2 = _parse(html2)
    if _fix_iframes(tree2):
        content = _content(tree2)
        html2 = cleaner.clean((content.inner_html or "") if content is not None else "")
        tree2 = _parse(html2)
    inspection2 = policy.inspect(tree2, base)
    if inspection2.needs_absolutizing:
        # A URL the rewriter could not see in html1 (inside markup the sanitizer
        # took apart, such as <svg>) is one html2 shows plainly.
        html3 = rewrite_attributes(html2, functools.partial(_absolutize_attribute, base=base))
        tree3 = _parse(html3)
        inspection3 = policy.inspect(tree3, base)
        if inspection3.safe:
            html2, tree2, inspection2 = html3, tree3, inspection3
    if inspection2.safe and inspection2.risky_comments and not strip_comments:
        # html5ever read a comment (or "<?x>") that Lexbor did not: drop them all.
        return _sanitized(html2, policy, base, strip_comments=True)
    return html2, tree2, inspection2


# -- the policy: nh3's configuration and the same rules for verifying ------------------


@dataclass(frozen=True)
class _Inspection:
    safe: bool  # only what the allow-lists allow, and the page's shape kept
    risky_comments: bool  # a comment holding "<", ">" or "--" (or perhaps: page broken)
    needs_absolutizing: bool  # a URL to make absolute
    problem: str  # why not safe
    # Why the bytes of a safe tree may still not be published as they are: a
    # parser that is not a browser's could misread them (a comment or an
    # attribute value holding "<"). The sanitizer's serialization escapes them.
    misreadable: str
    # (tag, attribute, value) seen and allowed, for the token check not to redo.
    verified: set[tuple[str, str, str]]


_LT_IN_ATTRIBUTE = "raw < in attribute values"
# "<?x>", "<!x>", "<![CDATA[", "</ x>": comments to a browser (HTML §13.2.5.6-8,
# 42), something else to XML and older parsers. Only ever stops html1 from being
# published as it is; the sanitizer writes them as <!--comments--> or drops them.
_DECLARATION = re.compile(r"<(?:\?|!(?!--)|/[^a-zA-Z>])")
_DECLARATIONS_NOTE = "declarations or processing instructions"


def _raw_lt_in_attributes(html: str) -> bool:
    """Whether an attribute is written with a "<" in it (not as "&lt;")."""
    return any(
        "<" in html[attribute.start : attribute.end]
        for tag in iter_start_tags(html)
        for attribute in tag.attributes
    )


class _Policy:
    """The allow-lists with one set of iframe hosts: an nh3 cleaner and a verifier."""

    def __init__(self, iframe_hosts: frozenset[str]) -> None:
        self.iframe_hosts = iframe_hosts
        self.cleaner = self._cleaner(strip_comments=False)
        self.cleaner_without_comments = self._cleaner(strip_comments=True)
        # For HTML the verifier found nothing to filter in.
        self.cleaner_unfiltered = self._cleaner(strip_comments=False, filtered=False)

    def _cleaner(self, *, strip_comments: bool, filtered: bool = True) -> nh3.Cleaner:
        return nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags=set(CLEAN_CONTENT_TAGS),
            attributes={
                "*": set(GENERIC_ATTRIBUTES),
                **{tag: set(names) for tag, names in TAG_ATTRIBUTES.items()},
            },
            generic_attribute_prefixes=set(GENERIC_ATTRIBUTE_PREFIXES),
            tag_attribute_values={
                tag: {name: set(values) for name, values in by_name.items()}
                for tag, by_name in TAG_ATTRIBUTE_VALUES.items()
            },
            attribute_filter=self.filter_attribute if filtered else None,
            strip_comments=strip_comments,
            # rel stays the article's own (less "opener"): adding noopener
            # noreferrer would change every link's bytes, and browsers imply
            # noopener for target=_blank anyway.
            link_rel=None,
            url_schemes=set(URL_SCHEMES | {"data"}),  # data: narrowed in filter_attribute
        )

    def filter_attribute(self, tag: str, name: str, value: str) -> str | None:
        """The value to keep for an allowed attribute (``value`` itself if it is fine), or None."""
        if name in URL_ATTRIBUTES:
            if tag == "iframe" and name == "src":
                return value if self.iframe_source_allowed(value) else None
            return value if url_allowed(tag, name, value) else None
        if name == "srcset":
            candidates = parse_srcset(value)
            kept = [(url, size) for url, size in candidates if url_allowed(tag, "srcset", url)]
            if len(kept) == len(candidates):
                return value
            return format_srcset(kept) if kept else None
        if name == "style":
            return safe_style(value)
        if name == "rel":
            tokens = value.split()
            kept_tokens = [token for token in tokens if token.lower() != "opener"]
            if len(kept_tokens) == len(tokens):
                return value
            return " ".join(kept_tokens) or None
        if name == "allow":
            return _iframe_permissions(value)
        return value

    def iframe_source_allowed(self, url: str) -> bool:
        """An https URL on one of the allowed hosts, written so that every URL parser agrees.

        Anything a browser would read differently from urlsplit is refused:
        white space or control characters anywhere, backslashes, user info,
        ports other than 443.
        """
        if any(ord(char) <= 0x20 or char in "\\\x7f" for char in url):
            return False
        parts = _split(url)
        if parts is None or parts.scheme != "https":
            return False
        host = parts.netloc.removesuffix(":443")
        return host.isascii() and host.lower() in self.iframe_hosts

    def token_problem(self, html: str, verified: Collection[tuple[str, str, str]] = ()) -> str:
        """The first start tag or attribute in ``html``'s tokens the allow-lists refuse, or "".

        Tokens, not tree: this sees what a browser's tree builder drops (tags it
        ignores, duplicate attributes), which the bytes still hold. ``verified``:
        (tag, attribute, value) known to be allowed.
        """
        for tag, attributes in iter_tags(html):
            if tag not in ALLOWED_TAGS:
                return f"<{tag}>"
            seen: set[str] = set()
            for name, value in attributes:
                if (tag, name, value) in verified:
                    pass
                elif not self.attribute_allowed(tag, name, value):
                    return f"duplicate {name} attribute" if name in seen else f"{name} attribute"
                seen.add(name)
        return ""

    def attribute_allowed(self, tag: str, name: str, value: str) -> bool:
        if name in _NOT_FILTERED and (
            name in GENERIC_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ())
        ):
            return True
        if name in GENERIC_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ()):
            return self.filter_attribute(tag, name, value) == value
        if name.startswith(tuple(GENERIC_ATTRIBUTE_PREFIXES)):
            return True
        values = TAG_ATTRIBUTE_VALUES.get(tag, {}).get(name)
        return values is not None and value.lower() in values

    def inspect(self, tree: LexborHTMLParser, base: _Base | None) -> _Inspection:
        """Whether ``tree`` (a parsed stand-in page) holds only what the allow-lists allow.

        Also says whether a URL in it is to be made absolute against ``base``.
        """
        content = _content(tree)
        if content is None:
            # Comments included: an unclosed one may hold the rest of the page.
            problem = "unclosed or stray tags"
            return _Inspection(False, True, _needs_absolutizing(tree, base), problem, "", set())
        risky_comments = needs_absolutizing = False
        problem = misreadable = ""
        verified: set[tuple[str, str, str]] = set()
        for node in content.traverse():
            if node.is_comment_node:
                comment = node.comment_content or ""
                if "<" in comment or ">" in comment or "--" in comment:
                    risky_comments = True
                continue
            if not node.is_element_node:
                # Lexbor keeps "<?x>" as a processing instruction where the HTML
                # Standard (and html5ever) make a bogus comment: may be misread.
                risky_comments = True
                continue
            tag = node.tag or ""
            if tag not in ALLOWED_TAGS:
                if node.mem_id != content.mem_id:
                    problem = problem or f"<{tag}>"
                continue
            attributes = node.attributes
            if tag == "iframe":
                if "src" not in attributes:
                    problem = problem or "<iframe> without src"
                if node.child is not None:  # text a browser never shows, "<script>" perhaps
                    problem = problem or "content inside <iframe>"
            allowed = TAG_ATTRIBUTES.get(tag, frozenset())
            for name, value in attributes.items():
                value = value or ""
                if "<" in value:  # fine in a browser, but not in a naive parser's hands
                    misreadable = _LT_IN_ATTRIBUTE
                if name in _NOT_FILTERED and (name in GENERIC_ATTRIBUTES or name in allowed):
                    continue
                if self.attribute_allowed(tag, name, value):
                    verified.add((tag, name, value))
                elif not problem:
                    problem = f"{name} on <{tag}>"
                if not needs_absolutizing and name in _URL_NAMES:
                    needs_absolutizing = _absolutize_attribute(tag, name, value, base=base) != value
        if problem:  # URLs in elements the walk did not look at
            needs_absolutizing = needs_absolutizing or _needs_absolutizing(tree, base)
        if risky_comments:
            misreadable = misreadable or "comments holding markup"
        return _Inspection(
            not problem, risky_comments, needs_absolutizing, problem, misreadable, verified
        )


@functools.lru_cache(maxsize=16)
def _policy(iframe_hosts: frozenset[str]) -> _Policy:
    return _Policy(iframe_hosts)


# -- URLs -----------------------------------------------------------------------------


def url_scheme(url: str) -> str | None:
    """The lower-cased scheme a browser reads in ``url``, or None for a relative URL.

    URL Standard §4.4: leading and trailing C0 controls and spaces are stripped,
    tabs and newlines removed anywhere (``jav&#x09;ascript:`` is ``javascript:``),
    then a scheme is an ASCII letter followed by letters, digits, "+", "-" or
    "." up to ":".
    """
    colon = url.find(":")
    if colon < 0:
        return None
    scheme = url[:colon]
    if not scheme.isascii():
        return None
    if scheme and min(scheme) <= " ":  # a control character or space in it
        scheme = scheme.lstrip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINE)
    if scheme[:1].isalpha() and scheme.translate(_SCHEME_PUNCTUATION).isalnum():
        return scheme.lower()
    return None


def _split(url: str) -> SplitResult | None:
    """``urlsplit(url)``, or None where it refuses (an unclosed "[" in the host)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def url_allowed(tag: str, attribute: str, url: str) -> bool:
    """Whether ``url`` may stay in ``attribute`` of ``tag``: relative, or an allowed scheme."""
    scheme = url_scheme(url)
    if scheme is None or scheme in URL_SCHEMES:
        return True
    return scheme == "data" and (tag, attribute) == ("img", "src") and _raster_data_url(url)


def _raster_data_url(url: str) -> bool:
    """A data: URL (RFC 2397) whose media type is one of ``RASTER_DATA_TYPES``."""
    url = url.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINE)
    media_type = url.partition(":")[2].partition(",")[0].partition(";")[0]
    return media_type.strip(_ASCII_WHITESPACE).lower() in RASTER_DATA_TYPES


def _iframe_permissions(value: str) -> str | None:
    """An iframe ``allow`` list with the features of ``IFRAME_PERMISSIONS`` only."""
    directives = [directive.strip(_ASCII_WHITESPACE) for directive in value.split(";")]
    directives = [directive for directive in directives if directive]
    kept = [d for d in directives if _first_word(d).lower() in IFRAME_PERMISSIONS]
    if len(kept) == len(directives):
        return value
    return "; ".join(kept) or None


def _first_word(text: str) -> str:
    """``text`` up to its first ASCII white space."""
    for index, char in enumerate(text):
        if char in _ASCII_WHITESPACE:
            return text[:index]
    return text


@dataclass(frozen=True)
class _Base:
    url: str
    scheme: str
    origin: str  # scheme://host[:port]

    @classmethod
    def of(cls, base_url: str | None) -> _Base | None:
        """The article URL to resolve against: an absolute http(s) URL, else none."""
        if not base_url:
            return None
        base_url = base_url.strip(_C0_AND_SPACE)
        parts = _split(base_url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        return cls(base_url, parts.scheme, f"{parts.scheme}://{parts.netloc}")


def absolute_url(url: str, base: _Base | None) -> str:
    """``url`` resolved against ``base``; as it is when absolute, a fragment, or there is no base.

    A scheme-relative ``//host/x`` gets the base's scheme, or https without a
    base (a page opened from a file would otherwise look for it on disk).
    Backslashes before the query are slashes, as browsers read http(s) URLs.
    """
    stripped = url.strip(_C0_AND_SPACE)
    if not stripped or stripped.startswith("#") or url_scheme(stripped) is not None:
        return url
    stripped = stripped.translate(_TAB_AND_NEWLINE)
    cut = min((i for i in (stripped.find("?"), stripped.find("#")) if i >= 0), default=None)
    path, rest = (stripped, "") if cut is None else (stripped[:cut], stripped[cut:])
    stripped = path.replace("\\", "/") + rest
    if stripped.startswith("//"):
        return f"{base.scheme if base else 'https'}:{stripped}"
    if base is None:
        return url
    if stripped.startswith("/") and "/." not in stripped:  # the common case, quickly
        return base.origin + stripped
    try:
        return urljoin(base.url, stripped)
    except ValueError:  # "[" where a host is: left for the sanitizer to judge
        return url


def _absolutize_attribute(tag: str, name: str, value: str, *, base: _Base | None) -> str:
    if name in URL_ATTRIBUTES:
        return absolute_url(value, base)
    if name == "srcset":
        candidates = parse_srcset(value)
        resolved = [(absolute_url(url, base), size) for url, size in candidates]
        return value if resolved == candidates else format_srcset(resolved)
    return value


def _needs_absolutizing(tree: LexborHTMLParser, base: _Base | None) -> bool:
    for node in tree.css("[href], [src], [srcset], [poster], [cite]"):
        for name, value in node.attributes.items():
            if not value or (name not in URL_ATTRIBUTES and name != "srcset"):
                continue
            if _absolutize_attribute(node.tag or "", name, value, base=base) != value:
                return True
    return False


# -- CSS ------------------------------------------------------------------------------


def safe_style(value: str) -> str | None:
    """A ``style`` attribute with only the declarations ``STYLE_PROPERTIES`` allows.

    ``value`` itself when every declaration passes (so ``color: #999;`` keeps
    its bytes), the passing declarations joined when some do not, None when none.
    """
    kept: list[str] = []
    dropped = False
    for declaration in value.split(";"):
        text = declaration.strip(_ASCII_WHITESPACE)
        if not text:
            continue
        name, colon, css = text.partition(":")
        name = name.strip(_ASCII_WHITESPACE)
        # CSS names compare in ASCII only: "bac\u212aground" (Kelvin sign) is no property.
        name = name.lower() if name.isascii() else ""
        allowed = colon and name in STYLE_PROPERTIES and _safe_css(css)
        # A negative margin moves an element over the page around the article.
        if allowed and not (name.startswith("margin") and "-" in css):
            kept.append(text)
        else:
            dropped = True
    if not dropped:
        return value
    return "; ".join(kept) or None


def _safe_css(css: str) -> bool:
    """A declaration value of words, numbers, colours, quoted names and colour functions."""
    if not css.strip(_ASCII_WHITESPACE):
        return False
    quote = ""
    in_function = False
    for index, char in enumerate(css):
        if quote:
            if char == quote:
                quote = ""
            elif char in "\\\n\r\f":  # escapes and broken strings
                return False
        elif char in "\"'":
            quote = char
        elif char == "(":
            if in_function or _function_name(css, index) not in STYLE_FUNCTIONS:
                return False
            in_function = True
        elif char == ")":
            if not in_function:
                return False
            in_function = False
        elif not (char.isalnum() or char in _CSS_PUNCTUATION):
            return False
    return not quote and not in_function


def _function_name(css: str, parenthesis: int) -> str:
    start = parenthesis
    while start > 0 and (css[start - 1].isalnum() or css[start - 1] == "-"):
        start -= 1
    return css[start:parenthesis].lower() if css[start:parenthesis].isascii() else ""


# -- trees ----------------------------------------------------------------------------


def _parse(html: str) -> LexborHTMLParser:
    """``html`` as a browser running scripts parses it inside the stand-in page."""
    return LexborHTMLParser(_PAGE_BEFORE + html + _PAGE_AFTER, scripting=True)


def _content(tree: LexborHTMLParser) -> LexborNode | None:
    """The article's container in a parsed stand-in page, if the page kept its shape.

    The shape: <html> and <body> without attributes, <head> empty, and in the body
    exactly: <div>[<div>[the article], text], text.
    """
    html_element = tree.root
    head, body = tree.head, tree.body
    if html_element is None or head is None or body is None:
        return None
    if html_element.attributes or head.attributes or head.child is not None or body.attributes:
        return None
    outer = _shape(body)
    if outer is None or outer.attributes:
        return None
    inner = _shape(outer)
    if inner is None or inner.attributes:
        return None
    return inner


def _shape(node: LexborNode) -> LexborNode | None:
    """The <div> of ``node`` if its children are exactly: <div>, sentinel text."""
    children = list(node.iter(include_text=True))
    if len(children) != 2:
        return None
    container, after = children
    if container.tag != "div" or not after.is_text_node or after.text_content != _SENTINEL:
        return None
    return container


def _fix_iframes(tree: LexborHTMLParser) -> bool:
    """Remove the iframes nh3 left without a src (theirs was not allowed), and the
    content of the others (raw text that browsers ignore); anything changed?"""
    changed = False
    for iframe in tree.css("iframe"):
        if "src" not in iframe.attributes:
            iframe.decompose()
            changed = True
            continue
        for child in list(iframe.iter(include_text=True)):
            child.decompose()
            changed = True
    return changed


def _inventory(tree: LexborHTMLParser) -> tuple[Counter[str], Counter[tuple[str, str, str]]]:
    """How many of each element (and comments, as "!--") and of each (tag, attribute, value)."""
    elements: Counter[str] = Counter()
    attributes: Counter[tuple[str, str, str]] = Counter()
    root = tree.root
    if root is None:
        return elements, attributes
    for node in root.traverse():
        if node.is_comment_node:
            elements["!--"] += 1
            continue
        tag = node.tag or ""
        elements[tag] += 1
        for name, value in node.attributes.items():
            attributes[tag, name, value or ""] += 1
    return elements, attributes


def _removed(
    before: LexborHTMLParser, after: LexborHTMLParser, policy: _Policy, html1: str, fallback: str
) -> list[str]:
    """Short notes, for people, on what is in ``before`` and not in ``after``.

    ``fallback`` is the note when the trees differ in nothing that has a name.
    """
    elements_before, attributes_before = _inventory(before)
    elements_after, attributes_after = _inventory(after)
    notes: list[str] = []
    for tag in elements_before - elements_after:
        if tag == "!--":
            notes.append("comments")
        elif tag == "iframe":
            notes.extend(_iframe_notes(before, policy))
        elif tag not in ALLOWED_TAGS:
            notes.append(f"<{tag}>")
    kept_tags = ALLOWED_TAGS | {"html", "body"}
    for tag, name, value in attributes_before - attributes_after:
        if tag not in kept_tags or elements_before[tag] > elements_after[tag]:
            continue  # went with its element
        if not (name in GENERIC_ATTRIBUTES or name in TAG_ATTRIBUTES.get(tag, ())):
            notes.append(f"{name} attribute")
        elif name in URL_ATTRIBUTES:
            scheme = url_scheme(value)
            notes.append(f"{scheme}: URL in {name}" if scheme else f"URL in {name}")
        elif name == "srcset":
            notes.append("URL in srcset")
        elif name == "style":
            notes.append("unsafe CSS in style")
        elif name == "rel":
            notes.append("rel=opener")
        elif name == "allow":
            notes.append("iframe permissions")
        else:
            notes.append(f"{name} attribute")
    if "\0" in html1:
        notes.append("NUL characters")
    return notes or [fallback]


def _iframe_notes(tree: LexborHTMLParser, policy: _Policy) -> Iterator[str]:
    for iframe in tree.css("iframe"):
        source = (iframe.attributes.get("src") or "").strip(_C0_AND_SPACE)
        if policy.iframe_source_allowed(source):
            continue
        if not source:
            yield "<iframe> without an address"
            continue
        # Read as a browser reads an http(s) URL: "\\" is "/" before the query.
        parts = _split(source.replace("\\", "/"))
        if parts is None:
            yield "<iframe> with an invalid address"
            continue
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            yield f"<iframe> with a {scheme}: address" if scheme else "<iframe> without a host"
        else:
            host = parts.hostname or "?"
            yield f"<iframe> from {host}" + (" over http" if scheme == "http" else "")


# -- inputs ---------------------------------------------------------------------------


def _valid_unicode(html: str) -> tuple[str, tuple[str, ...]]:
    """``html`` with lone surrogates (which no UTF-8 file can hold) replaced by U+FFFD."""
    try:
        html.encode("utf-8")
    except UnicodeEncodeError:
        fixed = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in html)
        return fixed, ("invalid characters",)
    return html, ()


def _too_much_markup(html: str) -> str:
    """Why ``html`` is too costly to parse as HTML (see MAX_TAGS), or ""."""
    tags = html.count("<")
    if tags > MAX_TAGS:
        return f"all markup ({tags:,} tags, more than {MAX_TAGS:,})"
    if len(html) > PRESCAN_ABOVE:
        for name, count in count_attributes(html):
            if count > MAX_ATTRIBUTES_PER_TAG:
                return f"all markup (<{name}> with {count:,} attributes)"
    return ""
