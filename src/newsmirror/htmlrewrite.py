"""Rewriting attribute values inside HTML while every other byte stays as it was.

Making a relative URL absolute or pointing an image at its archived copy must
not re-serialize the whole article: the archive is read in git diffs, and
SPEC.md wants benign HTML kept byte for byte. So start tags are found with the
standard library's HTML tokenizer (which knows comments, CDATA-like elements and
quoting), and only the attributes a rewrite changes are replaced in place.

This is not a sanitizer and must never be used as one: it trusts the HTML to be
made safe elsewhere (``clean``) and only edits what it is asked to.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

# An attribute inside a start tag: name, then an optional quoted or bare value
# (HTML Living Standard §13.1.2.3).
_ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+)))?"""
)
_TAG_NAME = re.compile(r"<\s*[^\s/>]+")

# (tag, attribute, value) → the new value, the same value to keep it, or None to drop it.
AttributeRewrite = Callable[[str, str, str], str | None]


@dataclass(frozen=True)
class Attribute:
    tag: str  # lower-cased element name
    name: str  # lower-cased attribute name
    value: str  # entity-decoded value ("" for a bare attribute)
    start: int  # span of the whole ``name=value`` text in the document
    end: int


class _StartTags(HTMLParser):
    """Collects (offset, source text, name) of every start tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[tuple[int, int], str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text()
        if text is not None:
            self.found.append((self.getpos(), text, tag))

    handle_startendtag = handle_starttag


def iter_attributes(html: str, tags: Collection[str] | None = None) -> Iterator[Attribute]:
    """Every attribute of every start tag (of ``tags`` only, if given), in document order."""
    if "<" not in html:
        return
    parser = _StartTags()
    parser.feed(html)
    parser.close()
    line_starts = [0]
    line_starts += [m.end() for m in re.finditer("\n", html)]
    for (line, column), text, tag in parser.found:
        if tags is not None and tag not in tags:
            continue
        origin = line_starts[line - 1] + column
        name_end = _TAG_NAME.match(text)
        position = name_end.end() if name_end else 1
        for match in _ATTRIBUTE.finditer(text, position, len(text) - 1):
            raw = match.group("dq")
            if raw is None:
                raw = match.group("sq")
            if raw is None:
                raw = match.group("bare") or ""
            yield Attribute(
                tag=tag,
                name=match.group("name").lower(),
                value=htmllib.unescape(raw),
                start=origin + match.start(),
                end=origin + match.end(),
            )


def quote_attribute(name: str, value: str) -> str:
    """``name="value"`` with the value escaped for a double-quoted attribute."""
    return f'{name}="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}"'


def rewrite_attributes(
    html: str, rewrite: AttributeRewrite, tags: Collection[str] | None = None
) -> str:
    """``html`` with the attributes ``rewrite`` changes replaced, and nothing else touched."""
    pieces: list[str] = []
    position = 0
    for attribute in iter_attributes(html, tags):
        new = rewrite(attribute.tag, attribute.name, attribute.value)
        if new == attribute.value:
            continue
        pieces.append(html[position : attribute.start])
        if new is None:
            # Drop the attribute and the white space before it.
            pieces[-1] = pieces[-1].rstrip(" \t\n\r\f")
        else:
            pieces.append(quote_attribute(attribute.name, new))
        position = attribute.end
    if not pieces:
        return html
    pieces.append(html[position:])
    return "".join(pieces)


# -- srcset (HTML Living Standard §4.8.4.3.1) ----------------------------------------


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """``"a.jpg 1x, b.jpg 2x"`` → ``[("a.jpg", "1x"), ("b.jpg", "2x")]``.

    The URL runs to the next white space; commas at its end separate candidates;
    a descriptor runs to the next comma (the standard's parsing, without its
    error recovery for parentheses in descriptors).
    """
    candidates: list[tuple[str, str]] = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if not url:
            break
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        comma = value.find(",", position)
        end = length if comma == -1 else comma
        candidates.append((url, value[position:end].strip()))
        position = end + 1
    return candidates


def format_srcset(candidates: Collection[tuple[str, str]]) -> str:
    return ", ".join(f"{url} {descriptor}".strip() for url, descriptor in candidates)
