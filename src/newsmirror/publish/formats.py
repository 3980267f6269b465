"""The archive's text formats, exactly as SPEC.md and the seed files show them.

Pure functions from an article (and its source's name) to the text of a file.
The rules are those of the tools before newsmirror, so that an existing
archive continues without a diff, with two fixes that SPEC.md asks for: English
words on either side of a line break are not glued together, and ``<pre>``
keeps its line breaks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from urllib.parse import quote

from ..store import Article, ListedArticle, to_ms
from .names import list_name, markdown_name

# What JavaScript's String.prototype.trim removes (ECMA-262 WhiteSpace and
# LineTerminator): the tools before newsmirror stripped lines with it.
JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
LIST_LENGTH = 300  # SPEC.md: a list shows the 300 newest articles of its source
_PRE = re.compile(r"<pre\b[^>]*>.*?</pre\s*>", re.IGNORECASE | re.DOTALL)
# Scripts written without spaces between words: a line break between two of
# their characters is dropped, as the seeds show for Chinese.
_NO_SPACE_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals
    (0x3000, 0x30FF),  # CJK symbols, Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3190, 0x31FF),  # Kanbun, Bopomofo extended, Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # full-width and half-width forms
    (0x20000, 0x3FFFF),  # CJK extensions B and later
)


def _spaced_word_char(char: str) -> bool:
    """A letter or digit of a language written with spaces between words."""
    if not char.isalnum():
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _NO_SPACE_RANGES)


@functools.lru_cache(maxsize=4)  # both layouts of an article flatten the same content
def flatten_content(html: str) -> str:
    """Each line stripped, lines joined with nothing (SPEC.md), text kept intact.

    A line break between two letters or digits of a spaced language becomes a
    space; inside ``<pre>`` line breaks are kept, as ``&#10;``.
    """
    html = _PRE.sub(lambda m: m.group(0).replace("\r\n", "\n").replace("\n", "&#10;"), html)
    joined: list[str] = []
    previous = ""
    for raw in html.split("\n"):
        line = raw.strip(JS_WHITESPACE)
        if not line:
            continue
        if previous and _spaced_word_char(previous[-1]) and _spaced_word_char(line[0]):
            joined.append(" ")
        joined.append(line)
        previous = line
    return "".join(joined)


# -- YAML (1.1 and 1.2 alike) -------------------------------------------------

_YAML_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u00a0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# Characters YAML forbids unescaped in a document (YAML 1.2 §5.1 c-printable).
_YAML_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
# Start characters that make a plain scalar something else (YAML §5.3 indicators).
_YAML_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
# Plain words YAML 1.1 (Jekyll's Psych, PyYAML) reads as booleans or null.
_YAML_RESERVED = {
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
}  # fmt: skip


# Any character that a double-quoted scalar escapes, or a plain one may not hold as it is.
_YAML_ESCAPED = re.compile(
    "[" + "".join(map(re.escape, _YAML_ESCAPES)) + "]|" + _YAML_UNPRINTABLE.pattern
)


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted string holding exactly ``text``."""
    if not _YAML_ESCAPED.search(text):  # most titles: nothing to escape
        return f'"{text}"'
    out = []
    for char in text:
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif _YAML_UNPRINTABLE.match(char):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def yaml_scalar(text: str, *, flow: bool = False) -> str:
    """``text`` as a plain scalar when that reads back as the same string, else quoted.

    Flow indicators are refused even outside ``[ ]`` (stricter than YAML needs);
    with ``flow``, for values also written inside ``[ ]``, so are ``?``, ``:``
    and ``#``, which some parsers (PyYAML) misread there.
    """
    if (
        not text
        or (flow and any(c in text for c in "?:#"))
        or text != text.strip(" \t")
        or text[0] in _YAML_INDICATORS
        or any(c in text for c in ",[]{}")
        or ": " in text
        or " #" in text
        or text.endswith(":")
        or text.lower() in _YAML_RESERVED
        or re.match(r"^[-+.]?[0-9]", text)  # numbers, dates, sexagesimals
        or text.lower() in (".inf", "-.inf", "+.inf", ".nan")
        or _YAML_ESCAPED.search(text)
    ):
        return yaml_quoted(text)
    return text


# -- articles -----------------------------------------------------------------


def iso_ms(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and Z: ``2020-11-21T11:08:55.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _link_target(url: str) -> str:
    # A Markdown link destination ends at whitespace (CommonMark §6.3).
    return re.sub(r"\s", lambda m: quote(m.group(0)), url.strip())


def header(article: Article) -> str:
    """The three lines that open every article file."""
    title = article.title.strip(JS_WHITESPACE)
    link = _link_target(article.link)
    return f"<!--{to_ms(article.published_at)}-->\n[{title}]({link})\n------\n"


def jekyll_post(article: Article, source_name: str) -> str:
    """A Jekyll post (seeds/000_…): front matter, header, the content in a ``<div>``."""
    name = yaml_scalar(source_name, flow=True)
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_quoted(article.title)}\n"
        f"date: {iso_ms(article.published_at)}\n"
        f"author: {name}\n"
        f"from: {yaml_scalar(article.link)}\n"
        f"tags: [ {name} ]\n"
        f"categories: [ {name} ]\n"
        "---\n"
        f"{header(article)}\n<div>\n{flatten_content(article.content)}\n</div>\n"
    )


def markdown_article(article: Article) -> str:
    """A numbered Markdown article (seeds/004_…): header, blank line, content."""
    return f"{header(article)}\n{flatten_content(article.content)}\n"


# -- lists and README ---------------------------------------------------------


def source_list(source_name: str, slug: str, newest: Sequence[ListedArticle], zone: tzinfo) -> str:
    """``lists/{name}.md``: the name, ``------``, then the newest articles, newest first."""
    lines = [f"{source_name}\n------\n\n"]
    for article in newest[:LIST_LENGTH]:
        local = article.published_at.astimezone(zone)
        title = article.title.strip(JS_WHITESPACE)
        target = "/" + markdown_name(slug, article.markdown_id)
        lines.append(f"{local.month}-{local.day} [{title}]({target})\n\n")
    return "".join(lines)


def readme(title: str, source_names: Sequence[str]) -> str:
    """The archive's ``README.md``: a link to every source's list."""
    lines = [f"{title}\n------\n\n"]
    for name in source_names:
        lines.append(f"[{name}]({_path_link_unicode(list_name(name))})\n\n")
    return "".join(lines)


def _path_link_unicode(path: str) -> str:
    # Code hosts show UTF-8 paths as they are; only what ends or breaks a link is escaped.
    return re.sub(r"[\s()<>%#?\[\]]", lambda m: quote(m.group(0)), path)
