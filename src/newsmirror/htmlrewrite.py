"""Rewriting attribute values inside HTML while every other byte stays as it was.

Making a relative URL absolute or pointing an image at its archived copy must
not re-serialize the whole article: the archive is read in git diffs, and
SPEC.md wants benign HTML kept byte for byte. So start tags are found by a small
tokenizer that follows the HTML Living Standard's tokenization (§13.2.5) where
it decides what is a tag: comments (including ``<!-->`` and ``--!>``), bogus
comments (``<!x>``, ``<?x>``, ``<![CDATA[x]]>``), raw-text and RCDATA elements
(``<script>``, ``<style>``, ``<textarea>``, ``<title>``, ``<xmp>``, ``<iframe>``,
``<noembed>``, ``<noframes>``, ``<noscript>`` as with scripting enabled),
``<plaintext>``, quoting, and the attribute-value rules for character
references. Only the attributes a rewrite changes are replaced in place.

Known simplifications, none of which can add markup (they only decide which
attributes get rewritten): the script-data escape states (``<!--`` inside
``<script>``) are not followed, nor foreign content (inside ``<svg>`` and
``<math>``, ``<style>`` is not raw text and ``<![CDATA[`` is CDATA).

This is not a sanitizer and must never be used as one: it trusts the HTML to be
made safe elsewhere (``clean``) and only edits what it is asked to.
"""

from __future__ import annotations

import html as htmllib
import re
import string
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from html.entities import html5 as _NAMED_REFERENCES

# (tag, attribute, value) → the new value, the same value to keep it, or None to drop it.
AttributeRewrite = Callable[[str, str, str], str | None]

# ASCII whitespace (Infra §4.6); the tokenizer sees CR too, as a browser does before
# it normalizes newlines.
ASCII_WHITESPACE = "\t\n\f\r "
# HTML lower-cases tag and attribute names in ASCII only (§13.2.5.8): "İ" stays.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

# Elements whose content is text up to their end tag (§13.2.5.2-5, with the
# scripting flag set as in a browser that runs scripts, so <noscript> too).
RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
# "An appropriate end tag": "</name" then white space, "/" or ">" (§13.2.5.11),
# names compared in ASCII only (re.ASCII: no "ſ" for "s", no Kelvin sign for "k").
_RAW_TEXT_END = {
    name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE | re.ASCII)
    for name in RAW_TEXT_ELEMENTS
}

# One attribute, as the attribute-name and -value states read it (§13.2.5.32-40):
# a name (which may start with "="), then "=" and a double-quoted, single-quoted
# or unquoted value, or an empty value right before ">", or no "=" at all. "/"
# between attributes is a parse error read as white space. The quantifiers are
# possessive so that a quote left open is the end of the input (no tag), never
# re-read as something else.
_ATTRIBUTE_SYNTAX = r"""
    [\t\n\f\r /]*+
    ({name}[^\t\n\f\r />][^\t\n\f\r />=]*+)
    (?:
        [\t\n\f\r ]*+=[\t\n\f\r ]*+
        (?: "({double}[^"]*+)" | '({single}[^']*+)'
          | ({bare}[^\t\n\f\r >"'][^\t\n\f\r >]*+) | (?=>) )
      | (?![\t\n\f\r ]*+=)
    )
"""
_ATTRIBUTE = re.compile(
    _ATTRIBUTE_SYNTAX.format(
        name="?P<name>", double="?P<double>", single="?P<single>", bare="?P<bare>"
    ),
    re.VERBOSE,
)
_ATTRIBUTES = _ATTRIBUTE_SYNTAX.format(name="?:", double="?:", single="?:", bare="?:")
# What starts at a "<" that opens something (§13.2.5.6-8, 41-52). A construct not
# closed before the end of the input matches nothing.
_MARKUP = re.compile(
    rf"""<(?:
        (?P<start>[a-zA-Z][^\t\n\f\r />]*+)(?:{_ATTRIBUTES})*+[\t\n\f\r /]*+>   # start tag
      | /[a-zA-Z][^\t\n\f\r />]*+(?:{_ATTRIBUTES})*+[\t\n\f\r /]*+>            # end tag
      | !--(?:>|->|.*?--!?>)                   # comment, "<!-->" and "--!>" included
      | /(?![a-zA-Z])[^>]*+>                   # "</>", or a bogus comment "</ x>"
      | !(?!--)[^>]*+>                         # <!DOCTYPE>, <![CDATA[...]> and other bogus comments
      | \?[^>]*+>                              # <?...>: a bogus comment
    )""",
    re.VERBOSE | re.DOTALL,
)
# Each construct in turn; "<" then a letter, "/", "!" or "?" where no construct
# matches opens one that the end of the input cuts off. Any other "<" is text.
_SCAN = re.compile(_MARKUP.pattern + r"| (?P<unclosed><[a-zA-Z/!?])", re.VERBOSE | re.DOTALL)

_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;"})
# A character reference as html.unescape finds one (§13.2.5.72).
_CHARACTER_REFERENCE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


@dataclass(frozen=True)
class Attribute:
    tag: str  # lower-cased element name
    name: str  # lower-cased attribute name
    value: str  # entity-decoded value ("" for a bare attribute)
    start: int  # span of the whole ``name=value`` text in the document
    end: int


@dataclass(frozen=True)
class StartTag:
    name: str  # lower-cased element name
    start: int  # span of the whole tag, "<" to ">"
    end: int
    attributes: tuple[Attribute, ...]


def iter_start_tags(html: str) -> Iterator[StartTag]:
    """Every start tag a browser's tokenizer would see in ``html``, in document order.

    A tag cut off by the end of the input is no tag (§13.2.5: EOF in a tag emits
    nothing), and neither is anything inside a comment or a raw-text element.
    """
    for name, tag in _start_tags(html):
        yield StartTag(
            name=name, start=tag.start(), end=tag.end(), attributes=tuple(_attributes(name, tag))
        )


def iter_tags(html: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(name, [(attribute name, decoded value), ...]) of every start tag.

    What ``iter_start_tags`` finds, without positions and about twice as fast,
    for checking every tag of an article.
    """
    for name, tag in _start_tags(html):
        start = tag.end("start")
        if html[start] == ">":
            yield name, []
            continue
        attributes = _ATTRIBUTE.findall(html, start, tag.end())
        yield (
            name,
            [
                (attribute.translate(_ASCII_LOWER), _unescape_attribute(double or single or bare))
                for attribute, double, single, bare in attributes
            ],
        )


def count_attributes(html: str) -> Iterator[tuple[str, int]]:
    """(name, number of attributes) of every start tag, in constant memory.

    For refusing absurd markup before a parser spends quadratic time on it.
    """
    for name, tag in _start_tags(html):
        yield name, sum(1 for _ in _ATTRIBUTE.finditer(html, tag.end("start"), tag.end()))


def _start_tags(html: str) -> Iterator[tuple[str, re.Match[str]]]:
    """(lower-cased name, match of the whole tag) for every start tag."""
    position = 0
    while True:
        for markup in _SCAN.finditer(html, position):
            if markup.group("unclosed") is not None:
                return  # never closed: the rest of the input is inside it
            name = markup.group("start")
            if name is None:
                continue
            name = name.translate(_ASCII_LOWER)
            yield name, markup
            if name in RAW_TEXT_ELEMENTS:
                end_tag = _RAW_TEXT_END[name].search(html, markup.end())
                if end_tag is None:
                    return
                position = end_tag.start()
                break
            if name == "plaintext":  # text to the end of the input
                return
        else:
            return


def _attributes(name: str, tag: re.Match[str]) -> Iterator[Attribute]:
    html = tag.string
    start = tag.end("start")
    if html[start] == ">":  # no attributes: most tags
        return
    for attribute in _ATTRIBUTE.finditer(html, start, tag.end()):
        yield Attribute(
            tag=name,
            name=attribute.group("name").translate(_ASCII_LOWER),
            value=_unescape_attribute(
                attribute.group("double")
                or attribute.group("single")
                or attribute.group("bare")
                or ""
            ),
            start=attribute.start("name"),
            end=attribute.end(),
        )


def _unescape_attribute(raw: str) -> str:
    """An attribute value with its character references decoded as in an attribute.

    Unlike text, a legacy named reference without ";" followed by "=" or a letter
    or digit stays as written (§13.2.5.73): ``?a=1&copy=2`` keeps "&copy".
    """
    if "&" not in raw:
        return raw
    return _CHARACTER_REFERENCE.sub(_decode_attribute_reference, raw)


def _decode_attribute_reference(match: re.Match[str]) -> str:
    text = match.group(1)
    if text[0] == "#" or text in _NAMED_REFERENCES:
        return htmllib.unescape(match.group(0))
    # The longest legacy name (one valid without ";") that starts the text.
    for length in range(len(text) - 1, 1, -1):
        replacement = _NAMED_REFERENCES.get(text[:length])
        if replacement is not None:
            following = text[length : length + 1]
            if following == "=" or (following.isascii() and following.isalnum()):
                return match.group(0)
            return replacement + text[length:]
    return match.group(0)


def iter_attributes(html: str, tags: Collection[str] | None = None) -> Iterator[Attribute]:
    """Every attribute of every start tag (of ``tags`` only, if given), in document order."""
    if "<" not in html:
        return
    for name, tag in _start_tags(html):
        if tags is None or name in tags:
            yield from _attributes(name, tag)


def quote_attribute(name: str, value: str) -> str:
    """``name="value"`` with the value escaped for a double-quoted attribute.

    "<" and ">" too (as the HTML Standard's serializer now does): a reader that
    is not a browser must not take a URL holding "<script" for a tag.
    """
    return f'{name}="{value.translate(_ATTRIBUTE_ESCAPES)}"'


def rewrite_attributes(
    html: str, rewrite: AttributeRewrite, tags: Collection[str] | None = None
) -> str:
    """``html`` with the attributes ``rewrite`` changes replaced, and nothing else touched.

    A replaced attribute keeps its name as written (``HREF`` stays ``HREF``) and
    gets a double-quoted value.
    """
    pieces: list[str] = []
    position = 0
    for attribute in iter_attributes(html, tags):
        new = rewrite(attribute.tag, attribute.name, attribute.value)
        if new == attribute.value:
            continue
        pieces.append(html[position : attribute.start])
        if new is None:
            # Drop the attribute and the white space before it, but keep the
            # next attribute apart from whatever came before (``<a x="1"href>``).
            pieces[-1] = pieces[-1].rstrip(ASCII_WHITESPACE)
            if html[attribute.end : attribute.end + 1] not in ("", *ASCII_WHITESPACE, "/", ">"):
                pieces.append(" ")
        else:
            raw_name = html[attribute.start : attribute.start + len(attribute.name)]
            pieces.append(quote_attribute(raw_name, new))
        position = attribute.end
    if not pieces:
        return html
    pieces.append(html[position:])
    return "".join(pieces)


# -- srcset (HTML Living Standard §4.8.4.3.1) ----------------------------------------


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """``"a.jpg 1x, b.jpg 2x"`` → ``[("a.jpg", "1x"), ("b.jpg", "2x")]``.

    The URL runs to the next ASCII white space; commas at its end separate
    candidates; a descriptor runs to the next comma (the standard's parsing,
    without its error recovery for parentheses in descriptors). Only ASCII white
    space separates: a URL may hold U+3000 or U+00A0.
    """
    candidates: list[tuple[str, str]] = []
    position, length = 0, len(value)
    while position < length:
        while position < length and value[position] in ASCII_WHITESPACE + ",":
            position += 1
        start = position
        while position < length and value[position] not in ASCII_WHITESPACE:
            position += 1
        url = value[start:position]
        if not url:
            break
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        comma = value.find(",", position)
        end = length if comma == -1 else comma
        candidates.append((url, value[position:end].strip(ASCII_WHITESPACE)))
        position = end + 1
    return candidates


def format_srcset(candidates: Collection[tuple[str, str]]) -> str:
    return ", ".join(f"{url} {descriptor}".strip() for url, descriptor in candidates)
