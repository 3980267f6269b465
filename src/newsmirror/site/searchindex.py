"""The site's in-browser search: a static bigram index that finds Chinese, and its widget.

A reader types 台湾, 香港 or 新冠 into ``search.html`` and gets every article
whose title or text holds it, titles first, newest first, with an excerpt. No
server answers the search: the index is a set of small JavaScript files under
``search-index/`` that the widget loads with ``<script>`` tags, so it works on
a plain static server and, for titles, from a cloned copy opened as
``file://`` too. Nothing is loaded from another host; building the index needs
no network.

Why not Pagefind, the tool the issue suggested? Measured
on 2,000 real Chinese news articles (``../shared/corpus`` text), Pagefind 1.5:

- the standard binary (``pagefind[bin]``) does not segment Chinese at all: a
  whole run of characters between punctuation is one "word", so 台湾 is found
  only where a run starts with it (1 of 4 pages in a small test site, 经济 0 of 3);
- the extended binary (``pagefind[extended]``) segments with a dictionary and
  finds 100 % for 台湾, 香港, 经济, 北京, but 39 % for 疫情 (443 of 726 articles
  missed: 新冠疫情 is one "word"), 13 % for 习近平, 7 % for 新冠, 6 % for
  新冠病毒, 7 % for the single character 湾, and a four-character phrase matches
  its words anywhere (国家安全: 192 right, 731 wrong). It took 7.8 s and 965 MB
  for 2,000 pages.

This index has no dictionary to be wrong: every pair of adjacent characters
(a bigram) is a key, so any query of two characters is found exactly, a single
character through the keys it starts (and the last character of each run), and
a longer one through all of its bigrams, confirmed against the page text. On the
same pages: 100 % of every query above, titles always before bodies (measured
then, with the index built whole each time: 3.2 s and 130 MB for 2,000 pages;
Pagefind extended took 70 s and 6.2 GB for 20,000). A query downloads one shard
per distinct first character (~70 KB), the chunks of times holding the numbers
it found (24 KB each), a chunk of titles (~40 KB) and the ten article pages it shows.

The widget builds results with ``textContent``, never ``innerHTML``: titles and
text are data. Article content reaches the pages cleaned of every ``data-*``
attribute (clean.py), so an article cannot mark itself ignored or as a title.

## The files, and how a build keeps them up to date

Every data file is a script calling ``newsmirrorSearch.put(name, value)``:

- ``meta.js`` — the format, the build (a digest of every data file: the widget
  asks for the others with it, so a browser never mixes two builds), the number
  of documents, of shards and the chunk sizes. Asked for afresh on each visit.
- ``shards/{s:x}.js`` — ``{key: postings}`` for the keys whose first character
  has ``ord(c) % shards == s``. Postings are document numbers in base 36, each
  after the first the difference from the one before; those whose title holds
  the key follow a ";". A later build appends a run after a "." that starts
  again from 0 (so appending reads no number before it); a run is merged into
  the one before it while it is at least half as long, so a key holds about
  log₂ of its postings' runs.
- ``docs/{c:x}.js`` — 256 documents' ``[url, title, source, date]``; 0 when dead.
- ``times/{c:x}.js`` — 4,096 documents' published times, 6 base-36 digits of
  minutes each (they compare as strings), ``------`` when dead. Results are
  ordered titles first, then newest first, then by number.
- ``index.state`` — not for the widget: each number's URL, version (the store's
  revision) and a digest of what it shows, and each data file's size and digest.

A document's number never changes once given (article id order in a whole
build, then in the order articles are indexed). A build compares the state
with the articles and indexes only the new and changed ones: they get new
numbers, appended to the shards, ``docs/`` and ``times/`` they touch; the old
number of a changed or removed article dies, and the widget skips it. Only
files whose bytes change are written; a build that changes no article writes
nothing. Shards double when they outgrow TARGET_SHARD_BYTES, by splitting (old
shard s becomes s and s + old count, read once). The state is removed before
the first file changes and written again last, so a build killed half way
leaves none; an index with no state, one from another format, or one whose
files do not match it (missing, another size, other bytes when read) is built
whole, as is one with more than a quarter of its numbers dead, and ``newsmirror
build`` (``full``) builds an index updated in place whole again (compacted).

Whole or not, texts are read from the store 500 articles at a time; a batch's
postings are encoded and spilled to temporary files by their key's first
character, then merged into the shards a group of those files at a time, so
memory holds one batch, then one group and one shard, however many articles
there are. Keys are made at C speed (``_pairs``: the text's UTF-32 read as
64-bit pairs of characters), ~2.3× faster than ``keys()`` on real articles, with
the same keys (tested), decoded into strings once per key and build.

Measured on articles from ``bench/site_build.py``'s generator (200 sources,
bodies of 2–20 KB; its small vocabulary makes few keys: real text makes many
more), this project's 2-core machine, the index alone, peak RSS of the process
(which holds the site's list of articles, 56 MB at 10,000 and 84 MB at 50,000):

| index | before (rebuilt whole, all texts in memory) | now |
|---|---|---|
| 10,000 articles, whole | 8.9 s, 230 MB | 5.7 s, 79 MB (16 MB in 302 files) |
| 50,000 articles, whole | 45.8 s, 943 MB | 27.7 s, 132 MB (84 MB in 2,260 files) |
| 10,000 + 500 new | (whole again) | 0.5 s, 77 MB (190 files written) |
| 50,000 + 500 new | (whole again) | 1.3 s, 129 MB (324 files written) |

What still grows with the number of articles is bookkeeping, not their texts
or postings: the list of documents and the state, about 0.5 KB per article
(25 MB at 50,000), on top of the site build's own list of articles.

## What the site's pages must carry (the attributes are Pagefind's vocabulary)

On the element holding an article (``<article>``), article pages only:

- ``data-pagefind-body`` — this page is indexed; its text is this element's.
- ``data-pagefind-filter="source:{source name}"`` — shown in the results.
- ``data-pagefind-sort="published:{published, UTC, ISO 8601, e.g. 2020-11-21T11:08:55Z}"``
  — orders results newest first (to the minute).
- ``data-pagefind-meta="date:{date to show, e.g. 2020-11-21 in the archive's zone}"``
  — optional; without it the date part of ``published`` is shown.

(Pagefind's other form works too: ``data-pagefind-filter="source"`` on the element
whose text is the value. Without a sort attribute, the first ``<time datetime>``
in the article gives ``published``.)

Inside it:

- ``data-pagefind-meta="title"`` on the ``<h1>`` with the title: searched and shown
  as the result's title (a title match ranks first), left out of the excerpt.
  Without it, the first ``<h1>`` in the article is the title (as in Pagefind).
- ``data-pagefind-ignore`` on everything in the article that is not its text:
  byline, original link, dates, revision list, removed-at-source banner.

Every other page (home, source and day lists, about, search.html, feeds) carries
no ``data-pagefind-body`` and is not indexed. One ``key:value`` per attribute;
the value ends at the attribute's end (no comma lists).

## Serving

The index is ``.js`` files and the widget's ``.css``: any static server's
default types do (``text/javascript``, ``text/css``). Excerpts and the
confirmation of queries of three characters or more fetch the article page
itself (``fetch`` is unavailable on ``file://``: there the results show titles,
sources and dates, and may hold a rare page where a longer phrase's bigrams
occur apart).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import itertools
import json
import logging
import marshal
import operator
import os
import sys
import time
import unicodedata
import urllib.parse
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import lxml.etree
import lxml.html

from ..errors import PublishError
from ..publish.files import TEMP_PREFIX, write_if_changed
from .stamp import INDEX_DIR

log = logging.getLogger(__name__)

INDEX_FORMAT = 2
# What each document number is, and each file's size and digest: the index is
# updated from it. JSON, but not named .json (nor .js): it is no page, feed or
# script of the site, and the widget never loads it.
STATE_FILE = "index.state"
# Keys go to shards by their first character (so a one-character query reads one
# shard); the shard count grows with the index so that one shard stays near this
# size (a two-character query downloads about this much).
TARGET_SHARD_BYTES = 64 * 1024
MAX_SHARDS = 4096
# Documents' titles, URLs and dates, in chunks the results page loads as it shows them.
DOCS_PER_CHUNK = 256
# Documents' published times, base-36 minutes of fixed width (6 digits last until
# the year 6100), in chunks a query loads once for the numbers it finds (24 KB each).
TIME_WIDTH = 6
TIMES_PER_CHUNK = 4096
DEAD_TIME = "-" * TIME_WIDTH  # a dead number: its article changed or left the site
# Documents whose postings are in memory at once while indexing (~25 MB for 500
# articles of 2-20 KB); also the largest gap within a batch, which _SMALL must cover.
BATCH = 500
# Spill files while indexing: one per this many documents indexed (a power of two),
# so that merging one into the shards holds the postings of ~1,000 documents.
DOCUMENTS_PER_SPILL_BUCKET = 1000
MAX_SPILL_BUCKETS = 256
# Past this share of dead numbers the index is built again whole, without them.
MAX_DEAD_SHARE = 0.25

# Elements whose edges separate words, in the index and in the widget alike
# (``<p>香</p><p>港</p>`` holds no 香港). Shared with the JavaScript below.
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details",
        "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript"})
# Unicode general categories that separate words: spaces (Z*), controls and
# format characters (Cc, Cf) and punctuation (P*). The widget splits queries on
# the same: ``[\p{Z}\p{Cc}\p{Cf}\p{P}]``.
SEPARATOR_CATEGORIES = ("Z", "Cc", "Cf", "P")

BODY_ATTRIBUTE = "data-pagefind-body"
IGNORE_ATTRIBUTE = "data-pagefind-ignore"
META_ATTRIBUTE = "data-pagefind-meta"
FILTER_ATTRIBUTE = "data-pagefind-filter"
SORT_ATTRIBUTE = "data-pagefind-sort"


@dataclass(frozen=True)
class SearchIndexReport:
    """What ``index_site`` did: pages indexed, where, how big, how long."""

    site_dir: Path
    pages: int  # documents in the index (not dead)
    skipped: int  # HTML pages without one
    keys: int  # distinct bigrams (and run-final characters)
    files: int
    bytes: int
    seconds: float
    added: int = 0  # documents indexed by this call (all of them when built whole)
    removed: int = 0  # numbers that died: their article changed or left the site
    written: int = 0  # files written (a file whose bytes did not change is not)
    full: bool = True  # built whole rather than updated


@dataclass(frozen=True)
class IndexedPage:
    """An article page as the index sees it."""

    url: str  # relative to the site's root, with "/", percent-encoded
    title: str
    text: str  # the body's text, title and ignored parts left out
    source: str
    published: str  # ISO 8601 UTC, "" when the page gives none
    date: str  # as shown


# -- text --------------------------------------------------------------------------


class _IndexChars(dict[int, str]):
    """Code point → its NFKC form, lower-cased, separators made spaces; one code point at a time.

    Per code point because the widget normalizes the query that way; a translate
    table because it is the fast way through megabytes of text.
    """

    def __missing__(self, code_point: int) -> str:
        value = "".join(
            " " if is_separator(char) else char
            for char in unicodedata.normalize("NFKC", chr(code_point)).lower()
        )
        self[code_point] = value
        return value


_INDEX_CHARS = _IndexChars()


def is_separator(char: str) -> bool:
    return unicodedata.category(char).startswith(SEPARATOR_CATEGORIES)


def runs(text: str) -> list[str]:
    """Runs of characters between separators, normalized: "Ｃｏｖｉｄ-19，台湾" → covid 19 台湾."""
    return text.translate(_INDEX_CHARS).split()


def keys(text: str) -> set[str]:
    """Index keys of plain text: every bigram of each run, and each run's last character.

    Every character of a run starts a key, so a one-character query finds it
    among the keys it starts; a query of two or more characters, having no
    separator, is in a text exactly when all its bigrams are in one run in order.
    """
    found: set[str] = set()
    for run in runs(text):
        found.update(map(str.__add__, run, run[1:]))
        found.add(run[-1])
    return found


# The build's keys, the same as keys() gives, at C speed: after translate(), the
# text's UTF-32 read as 64-bit words at offsets 0 and 4 is every pair of adjacent
# characters (the first in the low half), and a set of those words is the text's
# distinct pairs. A pair of two characters is a bigram; a character then a space
# is the last character of a run; a space then anything is no key. Decoded into
# strings once per key and build, not once per document.
_LOW = 0xFFFFFFFF
_SPACE = ord(" ")
_BIG_ENDIAN = sys.byteorder == "big"
assert array("Q").itemsize == 8


def _pairs(text: str) -> set[int]:
    """The text's keys (and pairs starting with a space) as pairs of code points."""
    data = (text.translate(_INDEX_CHARS) + " ").encode("utf-32-le", "surrogatepass")
    even = array("Q", data[: len(data) // 8 * 8])
    odd = array("Q", data[4 : 4 + (len(data) - 4) // 8 * 8])
    if _BIG_ENDIAN:
        even.byteswap()
        odd.byteswap()
    pairs = set(even)
    pairs.update(odd)
    return pairs


def _key_of(pair: int) -> str:
    second = pair >> 32
    return chr(pair & _LOW) if second == _SPACE else chr(pair & _LOW) + chr(second)


def pair_keys(text: str) -> set[str]:
    """keys(), the way the build makes them (for tests: the two must agree)."""
    return {_key_of(pair) for pair in _pairs(text) if pair & _LOW != _SPACE}


# -- reading the site -----------------------------------------------------------


def read_page(path: Path, site_dir: Path) -> IndexedPage | None:
    """The page's article, or None when it has no ``data-pagefind-body``."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PublishError(path, f"cannot read a page to index: {e.strerror}") from e
    if BODY_ATTRIBUTE.encode() not in data:
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        document = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError) as e:
        log.warning("%s: not indexed: %s", path, e)
        return None
    bodies = document.xpath(f"//*[@{BODY_ATTRIBUTE}]")
    if not bodies:
        return None
    body = bodies[0]
    title_element = _title_element(document, body)
    title = _pair(document, META_ATTRIBUTE, "title")
    if not title and title_element is not None:
        title = _collapse(_text(title_element))
    if not title:
        titles = document.xpath("//title")
        title = _collapse(_text(titles[0])) if titles else ""
    published = _pair(document, SORT_ATTRIBUTE, "published")
    if not published:
        times = body.xpath(".//time[@datetime]")
        published = times[0].get("datetime", "") if times else ""
    return IndexedPage(
        url=urllib.parse.quote(path.relative_to(site_dir).as_posix()),
        title=title,
        text=_collapse(_text(body, title_element)),
        source=_pair(document, FILTER_ATTRIBUTE, "source"),
        published=_utc(published),
        date=_pair(document, META_ATTRIBUTE, "date"),
    )


def _utc(moment: str) -> str:
    """An ISO 8601 time in UTC with "Z", so that times compare as strings; as given if not one."""
    try:
        parsed = datetime.fromisoformat(moment.strip())
    except ValueError:
        return moment.strip()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _title_element(
    document: lxml.html.HtmlElement, body: lxml.html.HtmlElement
) -> lxml.html.HtmlElement | None:
    """The element in the body holding the title, left out of the text.

    As Pagefind: the element marked ``data-pagefind-meta="title"``, else the
    first ``<h1>``; none when the title is given in an attribute (``title:…``).
    Mirrors ``titleElement`` in the JavaScript.
    """
    if document.xpath(f'//*[starts-with(@{META_ATTRIBUTE}, "title:")]'):
        return None
    marked = body.xpath(f'.//*[@{META_ATTRIBUTE}="title"]') or body.xpath(".//h1")
    return marked[0] if marked else None


def _pair(document: lxml.html.HtmlElement, attribute: str, key: str) -> str:
    """Pagefind's ``attribute="key:value"``, or ``attribute="key"`` on the element holding it."""
    for element in document.xpath(f"//*[@{attribute}]"):
        name, colon, value = element.get(attribute, "").partition(":")
        if name.strip() != key:
            continue
        return _collapse(value if colon else _text(element))
    return ""


def _text(root: lxml.html.HtmlElement, title: lxml.html.HtmlElement | None = None) -> str:
    """The text under ``root`` as the widget reads it: ignored parts out, blocks spaced.

    Iterative (a hostile page may nest deeper than Python recurses); comments
    give their tail only. Mirrors ``textOf`` in the JavaScript.
    """
    parts: list[str] = [root.text or ""]
    # (element, entering): entering adds its text and children, leaving its tail.
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [
        (child, True) for child in reversed(list(root))
    ]
    while stack:
        element, entering = stack.pop()
        tag = element.tag
        if not isinstance(tag, str):  # comment, processing instruction
            parts.append(element.tail or "")
            continue
        block = tag.lower() in BLOCK_TAGS
        if block:
            parts.append(" ")
        if not entering:
            parts.append(element.tail or "")
        elif element is title or element.get(IGNORE_ATTRIBUTE) is not None or tag in SKIPPED_TAGS:
            parts.append(" " if block else "")
            parts.append(element.tail or "")
        else:
            parts.append(element.text or "")
            stack.append((element, False))
            stack.extend((child, True) for child in reversed(list(element)))
    return "".join(parts)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def read_site(site_dir: Path) -> tuple[list[IndexedPage], int]:
    """Article pages of a built site, and how many other HTML pages there were."""
    pages: list[IndexedPage] = []
    skipped = 0
    for path in sorted(site_dir.rglob("*.html")):
        if path.relative_to(site_dir).parts[0] == INDEX_DIR:
            continue
        page = read_page(path, site_dir)
        if page is None:
            skipped += 1
        else:
            pages.append(page)
    return pages, skipped


# -- the index ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Document:
    """An article as the index lists it; its text is asked for only when it is (re)indexed."""

    url: str  # its identity in the index: relative to the site's root, percent-encoded
    version: str  # changes whenever its title or text may have (the store's revision)
    title: str
    source: str
    published: int  # minutes since 1970-01-01 UTC; 0 when unknown
    date: str  # as shown


# The texts of these documents, in their order ("" for one that has none). Asked
# for only for the documents being (re)indexed and consumed as it goes, so that
# an iterator reading the store a chunk at a time never holds them all.
Texts = Callable[[Sequence[Document]], Iterable[str]]


class _Inconsistent(Exception):
    """The index on disk is not what its state says: build it again whole."""


@dataclass
class _State:
    """``index.state``: what each number is, and every data file's size and digest.

    A document's entry is ``[url, version, digest of what it shows]``, or 0 once
    it is dead (its article changed or left the site: the widget skips it).
    """

    documents: list[list[str] | int] = field(default_factory=list)
    files: dict[str, list[int | str]] = field(default_factory=dict)  # name → [size, digest]
    shards: int = 0
    keys: int = 0
    compact: bool = True  # no dead document and no appended run: as a full build leaves it

    def expected_files(self) -> set[str]:
        total = len(self.documents)
        return (
            {f"shards/{s:x}" for s in range(self.shards)}
            | {f"docs/{c:x}" for c in range(-(-total // DOCS_PER_CHUNK))}
            | {f"times/{c:x}" for c in range(-(-total // TIMES_PER_CHUNK))}
        )

    def to_json(self) -> bytes:
        value = {
            "format": INDEX_FORMAT,
            "shards": self.shards,
            "keys": self.keys,
            "compact": self.compact,
            "files": self.files,
            "documents": self.documents,
        }
        return (
            json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
        ).encode()


def _read_state(target: Path) -> _State | None:
    """The state of the index in ``target``, or None when it is missing, from another
    format, or does not match the files (one missing, or of another size)."""
    try:
        raw = json.loads((target / STATE_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != INDEX_FORMAT:
        return None
    try:
        state = _State(
            documents=list(raw["documents"]),
            files={str(name): list(entry) for name, entry in raw["files"].items()},
            shards=int(raw["shards"]),
            keys=int(raw["keys"]),
            compact=bool(raw["compact"]),
        )
        well_formed = all(
            entry == 0 or (isinstance(entry, list) and len(entry) == 3) for entry in state.documents
        ) and all(len(entry) == 2 for entry in state.files.values())
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if not well_formed or state.shards < 1 or set(state.files) != state.expected_files():
        return None
    for name, (size, _) in state.files.items():
        try:
            if (target / f"{name}.js").stat().st_size != size:
                return None
        except OSError:
            return None
    return state


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=8).hexdigest()


def _shown(document: Document) -> str:
    """What the results show of a document (and order it by), as a digest: a change renews it."""
    return _digest(document.title, document.source, document.date, str(document.published))


def _changes(state: _State, documents: Sequence[Document]) -> tuple[list[Document], list[int]]:
    """The documents to index (new, or changed since they were) and the numbers that die."""
    numbers = {entry[0]: n for n, entry in enumerate(state.documents) if isinstance(entry, list)}
    add: list[Document] = []
    dead: list[int] = []
    seen: set[str] = set()
    for document in documents:
        if document.url in seen:
            continue
        seen.add(document.url)
        number = numbers.pop(document.url, None)
        if number is not None:
            entry = state.documents[number]
            if entry[1:] == [document.version, _shown(document)]:  # type: ignore[index]
                continue
            dead.append(number)
        add.append(document)
    dead.extend(numbers.values())  # gone from the site
    return add, sorted(dead)


def index_site(
    site_dir: Path,
    documents: Sequence[Document] | None = None,
    texts: Texts | None = None,
    *,
    full: bool = False,
) -> SearchIndexReport:
    """Bring ``site_dir/search-index/`` up to date with ``documents``.

    ``documents`` are the site's articles in the order new ones are numbered,
    and ``texts`` gives the text of those being indexed (the site build knows
    both from the store); without them the built pages are read back and parsed.
    The index already there is updated: new and changed documents are appended,
    the numbers of changed and removed ones die, and only files whose bytes
    change are written. It is built whole, streaming, when there is none, when
    its state is missing or does not match its files, when more than a quarter
    of its numbers are dead, or (``full``) to compact it.

    Raises :class:`PublishError` when the site is missing or the index cannot be written.
    """
    started = time.perf_counter()
    if not site_dir.is_dir():
        raise PublishError(site_dir, "no site to index (build the site first)")
    skipped = 0
    if documents is None or texts is None:
        pages, skipped = read_site(site_dir)
        documents, texts = _from_pages(pages)
    target = site_dir / INDEX_DIR
    try:
        target.mkdir(parents=True, exist_ok=True)
        writer = _update(target, documents, texts, full=full)
    except OSError as e:
        raise PublishError(target, f"cannot write the search index: {e}") from e
    state = writer.state
    seconds = time.perf_counter() - started
    report = SearchIndexReport(
        site_dir=site_dir,
        pages=sum(1 for entry in state.documents if entry != 0),
        skipped=skipped,
        keys=state.keys,
        files=len(state.files) + len(writer.fixed),
        bytes=sum(int(size) for size, _ in state.files.values()) + sum(writer.fixed.values()),
        seconds=seconds,
        added=writer.added,
        removed=writer.removed,
        written=writer.written,
        full=writer.full,
    )
    log.info(
        "search index: %d pages (%d added, %d removed, %s), %d files written in %.2f s",
        report.pages,
        report.added,
        report.removed,
        "whole" if report.full else "updated",
        report.written,
        seconds,
    )
    return report


def _from_pages(pages: Sequence[IndexedPage]) -> tuple[list[Document], Texts]:
    """Documents and texts of pages read from a built site (their version: their words)."""
    texts = {page.url: page.text for page in pages}
    documents = [
        Document(
            url=page.url,
            version=_digest(page.title, page.text),
            title=page.title,
            source=page.source,
            published=_minutes(page.published),
            date=page.date or page.published[:10],
        )
        for page in pages
    ]
    return documents, lambda chosen: (texts[document.url] for document in chosen)


def _minutes(moment: str) -> int:
    """Minutes since the epoch of an ISO 8601 time (UTC when it names no zone); 0 if not one."""
    try:
        parsed = datetime.fromisoformat(moment.strip())
    except ValueError:
        return 0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() // 60)


def _update(target: Path, documents: Sequence[Document], texts: Texts, *, full: bool) -> _Writer:
    state = _read_state(target)
    add: list[Document] = []
    dead: list[int] = []
    if state is not None:
        add, dead = _changes(state, documents)
        numbers = len(state.documents) + len(add)
        dead_after = state.documents.count(0) + len(dead)
        if (full and not (state.compact and not add and not dead)) or (
            dead_after > MAX_DEAD_SHARE * numbers
        ):
            state = None
    if state is not None:
        writer = _Writer(target, state, full=False)
        writer.remove_unknown()
        if add or dead:
            try:
                writer.apply(add, dead, texts)
            except _Inconsistent as e:
                log.warning("search index: %s; building it whole", e)
                state = None
    if state is None:
        writer = _Writer(target, _State(), full=True)
        unique: dict[str, Document] = {}
        for document in documents:
            unique.setdefault(document.url, document)
        writer.apply(list(unique.values()), [], texts)
        writer.remove_unknown()
    writer.finish()
    return writer


def _file_entry(data: bytes) -> list[int | str]:
    """How the state describes a data file: its size and the start of its SHA-256."""
    return [len(data), hashlib.sha256(data).hexdigest()[:16]]


class _Writer:
    """Writes the index's files for a state, keeping the state's sizes and digests in step.

    Before the first data file changes, ``index.state`` is removed; it is written
    again last, after ``meta.js``. A build killed in between leaves no state, so
    the next one builds the index whole rather than trust files half updated.
    """

    def __init__(self, target: Path, state: _State, *, full: bool) -> None:
        self.target = target
        self.state = state
        self.full = full
        self.written = 0
        self.added = 0
        self.removed = 0
        self.fixed: dict[str, int] = {}  # meta.js, search.js, search.css → size
        self._state_removed = False

    # -- files ---------------------------------------------------------------------------
    def put(self, name: str, value: object) -> None:
        data = _payload(name, value)
        entry = _file_entry(data)
        path = self.target / f"{name}.js"
        if self.state.files.get(name) != entry:
            with contextlib.suppress(OSError):
                if path.read_bytes() == data:  # a full build finding what is there
                    self.state.files[name] = entry
                    return
            if not self._state_removed:
                with contextlib.suppress(FileNotFoundError):
                    (self.target / STATE_FILE).unlink()
                self._state_removed = True
            self.written += write_if_changed(path, data)
            self.state.files[name] = entry

    def get(self, name: str) -> Any:
        """A data file's value, checked against the state."""
        path = self.target / f"{name}.js"
        try:
            data = path.read_bytes()
        except OSError as e:
            raise _Inconsistent(f"{name}.js cannot be read: {e.strerror}") from e
        if self.state.files.get(name) != _file_entry(data):
            raise _Inconsistent(f"{name}.js is not the file the state describes")
        head = f"newsmirrorSearch.put({json.dumps(name)},".encode()
        if not (data.startswith(head) and data.endswith(b");\n")):
            raise _Inconsistent(f"{name}.js is not an index file")
        try:
            return json.loads(data[len(head) : -3])
        except ValueError as e:
            raise _Inconsistent(f"{name}.js: {e}") from e

    def remove_unknown(self) -> None:
        """Remove files that are no part of the index (an older format's, a stale shard)."""
        known = {f"{name}.js" for name in self.state.files} | {
            "meta.js",
            "search.js",
            "search.css",
            STATE_FILE,
        }
        for path in sorted(self.target.rglob("*"), reverse=True):
            name = path.relative_to(self.target).as_posix()
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif name not in known:
                path.unlink()

    def finish(self) -> None:
        digest = hashlib.sha256()
        for name in sorted(self.state.files):
            digest.update(f"{name}\0{self.state.files[name][1]}\n".encode())
        meta = {
            "format": INDEX_FORMAT,
            "build": digest.hexdigest()[:16],
            "documents": len(self.state.documents),
            "shards": self.state.shards,
            "chunk": DOCS_PER_CHUNK,
            "times": TIMES_PER_CHUNK,
            "width": TIME_WIDTH,
        }
        for name, data in (
            ("meta.js", _payload("meta", meta)),
            ("search.js", SEARCH_JS.encode()),
            ("search.css", SEARCH_CSS.encode()),
        ):
            self.written += write_if_changed(self.target / name, data)
            self.fixed[name] = len(data)
        write_if_changed(self.target / STATE_FILE, self.state.to_json())

    # -- documents -----------------------------------------------------------------------
    def apply(self, add: Sequence[Document], dead: Sequence[int], texts: Texts) -> None:
        """Kill the ``dead`` numbers and append ``add``, with their postings."""
        state = self.state
        first = len(state.documents)
        for number in dead:
            state.documents[number] = 0
        state.documents.extend([d.url, d.version, _shown(d)] for d in add)
        self.added, self.removed = len(add), len(dead)
        if dead or (add and not self.full):
            state.compact = False
        self._documents(first, add, dead)
        self._times(first, add, dead)
        self._postings(first, add, texts)

    def _documents(self, first: int, add: Sequence[Document], dead: Sequence[int]) -> None:
        """``docs/{chunk}``: each number's [url, title, source, date], 0 when dead."""
        for chunk, start, killed, added in _chunks(DOCS_PER_CHUNK, first, len(add), dead):
            name = f"docs/{chunk:x}"
            entries = self.get(name) if name in self.state.files else []
            if not isinstance(entries, list) or len(entries) != _held(DOCS_PER_CHUNK, first, start):
                raise _Inconsistent(f"{name}.js does not hold the documents the state lists")
            for number in killed:
                entries[number - start] = 0
            entries.extend(
                [d.url, d.title, d.source, d.date] for d in add[added.start : added.stop]
            )
            self.put(name, entries)

    def _times(self, first: int, add: Sequence[Document], dead: Sequence[int]) -> None:
        """``times/{chunk}``: each number's published time, TIME_WIDTH base-36 digits of
        minutes (so that they compare as strings), DEAD_TIME when dead."""
        for chunk, start, killed, added in _chunks(TIMES_PER_CHUNK, first, len(add), dead):
            name = f"times/{chunk:x}"
            text = self.get(name) if name in self.state.files else ""
            if not isinstance(text, str) or len(text) != TIME_WIDTH * _held(
                TIMES_PER_CHUNK, first, start
            ):
                raise _Inconsistent(f"{name}.js does not hold the times the state lists")
            fields = [text[i : i + TIME_WIDTH] for i in range(0, len(text), TIME_WIDTH)]
            for number in killed:
                fields[number - start] = DEAD_TIME
            fields.extend(_time(d.published) for d in add[added.start : added.stop])
            self.put(name, "".join(fields))

    # -- postings ------------------------------------------------------------------------
    def _postings(self, first: int, add: Sequence[Document], texts: Texts) -> None:
        """Postings of ``add`` (numbered from ``first``) merged into the shards.

        A batch of documents at a time, their postings are encoded and spilled to
        temporary files by their key's first character; then a group of those
        files at a time is merged into the shards it maps to. Memory holds one
        batch, then one group and one shard, whatever the number of documents.
        """
        buckets = _spill_buckets(len(add))
        pid = os.getpid()
        paths = [self.target / f"{TEMP_PREFIX}search-{pid}-{b:x}.tmp" for b in range(buckets)]
        try:
            with contextlib.ExitStack() as stack:
                files = [stack.enter_context(path.open("wb")) for path in paths]
                spilled = _spill(files, first, add, texts)
            self._merge(paths, spilled)
        finally:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _merge(self, paths: Sequence[Path], spilled: int) -> None:
        state = self.state
        old = state.shards
        shard_bytes = sum(int(state.files[f"shards/{s:x}"][0]) for s in range(old))
        count = max(old, 1)
        # Shards double (never halve but in a full build) to stay near TARGET_SHARD_BYTES;
        # with ``ord(key[0]) % count``, old shard s splits into s, s + old, s + 2 old…
        while count < MAX_SHARDS and (shard_bytes + spilled) / count > TARGET_SHARD_BYTES:
            count *= 2
        # A group of spill files maps to the shards s ≡ group (mod groups); no more
        # groups than old shards, so that an old shard's new shards are in one group.
        groups = min(len(paths), count, old or count)
        for group in range(groups):
            merged = _read_spill(paths[group::groups])
            by_shard: defaultdict[int, list[int]] = defaultdict(list)
            for pair in merged:
                by_shard[(pair & _LOW) % count].append(pair)
            if not old:
                for shard in range(group, count, groups):
                    self._write_shard(shard, {}, by_shard.get(shard, []), merged)
                continue
            for parent in range(group, old, groups):
                if count == old and parent not in by_shard:
                    continue  # untouched: its bytes stay
                # Read whole before any of its new shards (one of which has its name) is written.
                values = self.get(f"shards/{parent:x}")
                if not isinstance(values, dict):
                    raise _Inconsistent(f"shards/{parent:x}.js is not a shard")
                children: dict[int, dict[str, str]] = {s: {} for s in range(parent, count, old)}
                for key, value in values.items():
                    children[ord(key[0]) % count][key] = value
                del values
                for shard, held in children.items():
                    self._write_shard(shard, held, by_shard.get(shard, []), merged)
        state.shards = count

    def _write_shard(
        self, shard: int, values: dict[str, str], pairs: Sequence[int], merged: dict[int, Any]
    ) -> None:
        """Shard ``shard``: the ``values`` it held, with the merged postings of ``pairs``."""
        for pair in pairs:
            key = _key_of(pair)
            postings = merged[pair]
            value = values.get(key)
            if value is None:
                self.state.keys += 1
            values[key] = _extended(value, ",".join(postings[0]), ",".join(postings[2]))
        self.put(f"shards/{shard:x}", values)


def _chunks(
    size: int, first: int, added: int, dead: Sequence[int]
) -> Iterator[tuple[int, int, list[int], range]]:
    """The chunks of ``size`` numbers that change: (chunk, its first number, numbers
    in it that die, the indexes into the added documents that it gets)."""
    touched: dict[int, list[int]] = {}
    for number in dead:
        touched.setdefault(number // size, []).append(number)
    if added:
        for chunk in range(first // size, (first + added - 1) // size + 1):
            touched.setdefault(chunk, [])
    for chunk in sorted(touched):
        start = chunk * size
        low, high = max(start, first), min(start + size, first + added)
        yield chunk, start, touched[chunk], range(low - first, max(low, high) - first)


def _held(size: int, first: int, start: int) -> int:
    """How many of the numbers before ``first`` a chunk of ``size`` from ``start`` holds."""
    return min(size, max(0, first - start))


def _time(minutes: int) -> str:
    return _base36(min(max(minutes, 0), 36**TIME_WIDTH - 1)).rjust(TIME_WIDTH, "0")


def _spill_buckets(documents: int) -> int:
    """Spill files for this many documents: a group's postings stay small when merged."""
    buckets = 1
    while buckets < MAX_SPILL_BUCKETS and buckets * DOCUMENTS_PER_SPILL_BUCKET < documents:
        buckets *= 2
    return buckets


def _spill(files: Sequence[BinaryIO], first: int, add: Sequence[Document], texts: Texts) -> int:
    """Each batch's postings, encoded, to the file of their key's first character; returns
    about how many bytes they will add to the shards."""
    spilled = 0
    stream = iter(texts(add))
    for start in range(0, len(add), BATCH):
        batch = add[start : start + BATCH]
        # zip(strict) would consume a text past the batch: take exactly its own.
        batch_texts = list(itertools.islice(stream, len(batch)))
        if len(batch_texts) != len(batch):
            raise ValueError("texts gave fewer texts than documents")
        spilled += _spill_batch(files, first + start, batch, batch_texts)
    return spilled


def _spill_batch(
    files: Sequence[BinaryIO], first: int, batch: Sequence[Document], texts: Sequence[str]
) -> int:
    postings: defaultdict[int, list[int]] = defaultdict(list)
    title_postings: defaultdict[int, list[int]] = defaultdict(list)
    everywhere, in_titles = postings.__getitem__, title_postings.__getitem__
    for number, (document, text) in enumerate(zip(batch, texts, strict=True), first):
        # Title and text apart (a space between): their keys, and no key across them.
        for numbers in map(everywhere, _pairs(f"{document.title} {text}")):
            numbers.append(number)
        for numbers in map(in_titles, _pairs(document.title)):
            numbers.append(number)
    records: list[list[tuple[int, ...]]] = [[] for _ in files]
    spilled = 0
    for pair, numbers in postings.items():
        if pair & _LOW == _SPACE:
            continue  # a space then something: no key
        rest = _gaps(numbers)
        titled = title_postings.get(pair)
        record: tuple[int | str, ...] = (pair, numbers[0], numbers[-1], rest)
        if titled:
            record += (titled[0], titled[-1], _gaps(titled))
        records[(pair & _LOW) % len(files)].append(record)  # type: ignore[arg-type]
        spilled += len(rest) + 10
    for file, bucket in zip(files, records, strict=True):
        marshal.dump(bucket, file)
    return spilled


def _gaps(numbers: list[int]) -> str:
    """The differences between numbers of one batch (each < BATCH): looked up, not computed."""
    return ",".join(map(_SMALL.__getitem__, map(operator.sub, numbers[1:], numbers)))


def _read_spill(paths: Sequence[Path]) -> dict[int, list[Any]]:
    """Pair → [pieces of its run, last number, pieces of its title run, last title number]."""
    merged: dict[int, list[Any]] = {}
    for path in paths:
        with path.open("rb") as file:
            while True:
                try:
                    records = marshal.load(file)
                except EOFError:
                    break
                for record in records:
                    _merge_record(merged, record)
    return merged


def _merge_record(merged: dict[int, list[Any]], record: tuple[Any, ...]) -> None:
    pair, first, last, rest = record[:4]
    entry = merged.get(pair)
    if entry is None:
        entry = merged[pair] = [[], 0, [], 0]
    entry[0].append(_piece(first - entry[1], rest))
    entry[1] = last
    if len(record) > 4:
        title_first, title_last, title_rest = record[4:]
        entry[2].append(_piece(title_first - entry[3], title_rest))
        entry[3] = title_last


def _piece(gap: int, rest: str) -> str:
    return f"{_base36(gap)},{rest}" if rest else _base36(gap)


def _extended(value: str | None, numbers: str, titled: str) -> str:
    """A key's value (``run[;title run]``) with new numbers, all larger, appended."""
    if value is None:
        return f"{numbers};{titled}" if titled else numbers
    old, _, old_titled = value.partition(";")
    numbers = _append_run(old, numbers)
    titled = _append_run(old_titled, titled) if titled else old_titled
    return f"{numbers};{titled}" if titled else numbers


def _append_run(value: str, run: str) -> str:
    """Runs of numbers separated by "." (each starting from 0), ``run`` appended.

    Appending needs no number of the runs before; merging the last run into the
    one before it needs that one's sum. Runs are merged while the last is at
    least half as long as the one before, so a key holds about log₂ of its
    postings' runs and each posting is summed again a few times at most.
    """
    while value:
        head, _, last = value.rpartition(".")
        if 2 * len(run) < len(last):
            break
        run = _join_runs(last, run)
        value = head
    return f"{value}.{run}" if value else run


def _join_runs(first: str, second: str) -> str:
    total = sum(map(int, first.split(","), itertools.repeat(36)))
    head, comma, rest = second.partition(",")
    return f"{first},{_base36(int(head, 36) - total)}{comma}{rest}"


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# Most deltas are small: their digits are looked up, not computed.
_SMALL = [a + b for a in ("", *_DIGITS[1:]) for b in _DIGITS]


def _base36(number: int) -> str:
    if number < len(_SMALL):
        return _SMALL[number]
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
    return out


def _payload(name: str, value: object) -> bytes:
    """A data file: a script that hands its value to the widget (works on file:// too)."""
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    # "</script" cannot end anything in an external script, but U+2028/2029 were
    # not valid in JavaScript strings before ES2019: escape them.
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"newsmirrorSearch.put({json.dumps(name)},{body});\n".encode()


# -- the widget -------------------------------------------------------------------------


def search_widget(root: str) -> str:
    """The search box and results for ``search.html``; ``root`` is the site's root from there.

    ``root`` is a relative prefix such as ``""`` or ``"../"`` (or ``"/"`` when the
    site is served at a host's root). Everything loads from ``{root}search-index/``;
    no inline script. The page's ``?q=`` is searched on load, so a search box
    elsewhere on the site can be a plain GET form to ``search.html``.
    """
    base = html.escape(f"{root}{INDEX_DIR}/", quote=True)
    root_attr = html.escape(root, quote=True)
    return f"""<link rel="stylesheet" href="{base}search.css">
<div class="nm-search" data-root="{root_attr}" data-index="{base}">
<form class="nm-search-form" role="search" action="">
<input class="nm-search-input" type="search" name="q" placeholder="搜索标题和正文，如：台湾" \
aria-label="搜索文章" autocomplete="off" enterkeyhint="search">
<button class="nm-search-button" type="submit">搜索</button>
</form>
<p class="nm-search-status" role="status" aria-live="polite"></p>
<ol class="nm-search-results"></ol>
<button class="nm-search-more" type="button" hidden>更多结果</button>
<noscript><p>搜索需要浏览器启用 JavaScript。</p></noscript>
</div>
<script src="{base}search.js"></script>
"""


SEARCH_CSS = """\
.nm-search{max-width:46rem}
.nm-search-form{display:flex;gap:.5rem}
.nm-search-input{flex:1;font:inherit;font-size:1.1rem;padding:.45rem .6rem;
border:1px solid #999;border-radius:4px}
.nm-search-button,.nm-search-more{font:inherit;padding:.45rem 1rem;border:1px solid #999;
border-radius:4px;background:#f3f3f3;cursor:pointer}
.nm-search-status{color:#555}
.nm-search-results{list-style:none;padding:0;margin:0}
.nm-search-result{margin:0 0 1.25rem}
.nm-search-title{font-size:1.1rem;font-weight:600}
.nm-search-meta{color:#666;font-size:.85rem;margin:.15rem 0}
.nm-search-excerpt{margin:.2rem 0;line-height:1.6}
.nm-search mark{background:#ffe58a;color:inherit;padding:0 .05em}
@media (prefers-color-scheme:dark){
.nm-search-input,.nm-search-button,.nm-search-more{background:#222;color:#eee;border-color:#666}
.nm-search-status,.nm-search-meta{color:#aaa}
.nm-search mark{background:#806a00}}
"""

# The widget. It must read text, split queries and make keys exactly as the
# Python above does (BLOCK_TAGS, SKIPPED_TAGS, separators, normalize, keys).
_SEARCH_JS_TEMPLATE = r"""/* newsmirror: the site search, a static bigram index (searchindex.py). */
(function () {
  "use strict";
  var BLOCK = new Set(__BLOCK_TAGS__);
  var SKIPPED = new Set(__SKIPPED_TAGS__);
  var SEPARATORS = /[\p{Z}\p{Cc}\p{Cf}\p{P}]+/u;
  var PAGE = 10, BEFORE = 30, AFTER = 70, TYPING_PAUSE_MS = 250;
  var data = new Map(), pending = new Map();

  function put(name, value) { data.set(name, value); }

  // A data file is a script calling put(): <script> loads work on file:// as well.
  function load(base, name, version) {
    if (data.has(name)) return Promise.resolve(data.get(name));
    if (!pending.has(name)) {
      pending.set(name, new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = base + name + ".js?v=" + encodeURIComponent(version);
        script.onload = function () {
          script.remove();
          if (data.has(name)) resolve(data.get(name)); else reject(new Error(name));
        };
        script.onerror = function () {
          script.remove();
          pending.delete(name);
          reject(new Error(name));
        };
        document.head.appendChild(script);
      }));
    }
    return pending.get(name);
  }

  // Per code point, as normalize() in Python; map[i] is the original index of normalized i.
  function normalizeMapped(text) {
    var out = "", map = [];
    for (var i = 0; i < text.length;) {
      var ch = String.fromCodePoint(text.codePointAt(i));
      var n = ch.normalize("NFKC").toLowerCase();
      for (var j = 0; j < n.length; j++) map.push(i);
      out += n;
      i += ch.length;
    }
    map.push(text.length);
    return { text: out, map: map };
  }
  function normalize(text) { return normalizeMapped(text).text; }

  function termsOf(query) {
    var seen = new Set();
    return normalize(query).split(SEPARATORS).filter(function (t) {
      if (!t || seen.has(t)) return false;
      seen.add(t);
      return true;
    });
  }

  // The title element, left out of the text: the one marked as title, else the first <h1>.
  function titleElement(page, body) {
    if (page.querySelector('[data-pagefind-meta^="title:"]')) return null;
    return body.querySelector('[data-pagefind-meta="title"]') || body.querySelector("h1");
  }

  function textOf(root, title) {
    var parts = [];
    (function walk(node) {
      for (var child = node.firstChild; child; child = child.nextSibling) {
        if (child.nodeType === 3) { parts.push(child.data); continue; }
        if (child.nodeType !== 1) continue;
        var tag = child.localName, block = BLOCK.has(tag);
        if (block) parts.push(" ");
        var ignored = child.hasAttribute("data-pagefind-ignore");
        if (!(child === title || ignored || SKIPPED.has(tag))) walk(child);
        if (block) parts.push(" ");
      }
    })(root);
    return parts.join("").split(/\s+/).filter(Boolean).join(" ");
  }

  // A run of numbers: base 36, each after the first the difference from the one before.
  // Runs a later build appended follow a ".", each starting again from 0.
  function decode(value) {
    var out = [];
    if (!value) return out;
    value.split(".").forEach(function (run) {
      var n = 0;
      run.split(",").forEach(function (d) { n += parseInt(d, 36); out.push(n); });
    });
    return out;
  }

  function shardName(meta, ch) {
    return "shards/" + (ch.codePointAt(0) % meta.shards).toString(16);
  }

  // [all documents holding the term, those whose title holds it] as Sets of numbers.
  function termDocuments(index, term) {
    var chars = Array.from(term), meta = index.meta;
    var wanted = chars.length === 1 ? [chars[0]] : chars.slice(0, -1);
    return Promise.all(wanted.map(function (ch) {
      return load(index.base, shardName(meta, ch), meta.build);
    })).then(function (shards) {
      if (chars.length === 1) {
        var all = new Set(), titles = new Set(), shard = shards[0];
        Object.keys(shard).forEach(function (key) {
          if (!key.startsWith(chars[0])) return;
          var parts = shard[key].split(";");
          decode(parts[0]).forEach(function (n) { all.add(n); });
          decode(parts[1]).forEach(function (n) { titles.add(n); });
        });
        return [all, titles];
      }
      var result = null;
      for (var i = 0; i + 1 < chars.length; i++) {
        var value = shards[i][chars[i] + chars[i + 1]];
        if (value === undefined) return [new Set(), new Set()];
        var parts = value.split(";");
        var pair = [new Set(decode(parts[0])), new Set(decode(parts[1]))];
        result = result ? [intersect(result[0], pair[0]), intersect(result[1], pair[1])] : pair;
      }
      return result;
    });
  }

  function intersect(a, b) {
    var out = new Set();
    a.forEach(function (n) { if (b.has(n)) out.add(n); });
    return out;
  }

  // number → its published time (fixed-width base-36 minutes: they compare as strings),
  // from the chunks of times holding these numbers, each loaded once.
  function timesOf(index, numbers) {
    var meta = index.meta, chunks = new Set();
    numbers.forEach(function (n) { chunks.add(Math.floor(n / meta.times)); });
    return Promise.all(Array.from(chunks).map(function (c) {
      return load(index.base, "times/" + c.toString(16), meta.build).then(function (text) {
        return [c, text];
      });
    })).then(function (loaded) {
      var text = new Map(loaded), time = new Map();
      numbers.forEach(function (n) {
        var at = (n % meta.times) * meta.width;
        time.set(n, text.get(Math.floor(n / meta.times)).slice(at, at + meta.width));
      });
      return time;
    });
  }

  // The live documents holding every term: titles first, then newest first, then by number.
  function find(index, terms) {
    return Promise.all(terms.map(function (t) { return termDocuments(index, t); }))
      .then(function (sets) {
        var all = sets[0][0], titles = sets[0][1];
        sets.slice(1).forEach(function (s) {
          all = intersect(all, s[0]);
          titles = intersect(titles, s[1]);
        });
        var numbers = Array.from(all);
        return timesOf(index, numbers).then(function (time) {
          // A dead number (its article changed or left the site) has no time.
          var live = numbers.filter(function (n) {
            var t = time.get(n);
            return t.length === index.meta.width && t.charAt(0) !== "-";
          });
          return live.sort(function (a, b) {
            var ta = titles.has(a), tb = titles.has(b);
            if (ta !== tb) return ta ? -1 : 1;
            var x = time.get(a), y = time.get(b);
            return x < y ? 1 : x > y ? -1 : a - b;
          });
        });
      });
  }

  function document_(index, number) {
    var chunk = Math.floor(number / index.meta.chunk).toString(16);
    return load(index.base, "docs/" + chunk, index.meta.build).then(function (docs) {
      var d = docs[number % index.meta.chunk];
      if (!d) return null;
      return { url: d[0], title: d[1], source: d[2], date: d[3] };
    });
  }

  // The article's own text, from its page (null where pages cannot be fetched: file://).
  function pageText(root, url) {
    return fetch(root + url).then(function (r) {
      if (!r.ok) return null;
      return r.text().then(function (markup) {
        var page = new DOMParser().parseFromString(markup, "text/html");
        var body = page.querySelector("[data-pagefind-body]");
        return body ? textOf(body, titleElement(page, body)) : null;
      });
    }).catch(function () { return null; });
  }

  // Ranges [start, end) of the original text where any term occurs.
  function ranges(text, terms) {
    var n = normalizeMapped(text), found = [];
    terms.forEach(function (t) {
      for (var i = n.text.indexOf(t); i >= 0; i = n.text.indexOf(t, i + t.length))
        found.push([n.map[i], n.map[i + t.length]]);
    });
    found.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var merged = [];
    found.forEach(function (r) {
      var last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]); else merged.push(r.slice());
    });
    return merged;
  }

  function marked(element, text, found) {
    var at = 0;
    found.forEach(function (r) {
      if (r[0] < at || r[0] >= text.length) return;
      element.appendChild(document.createTextNode(text.slice(at, r[0])));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(r[0], Math.min(r[1], text.length));
      element.appendChild(mark);
      at = Math.min(r[1], text.length);
    });
    element.appendChild(document.createTextNode(text.slice(at)));
  }

  function excerpt(text, found) {
    var first = found.length ? found[0][0] : 0;
    var start = Math.max(0, first - BEFORE), end = Math.min(text.length, first + AFTER);
    var shown = found.filter(function (r) { return r[0] >= start && r[1] <= end; })
      .map(function (r) { return [r[0] - start, r[1] - start]; });
    return {
      text: (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : ""),
      found: shown.map(function (r) { return start > 0 ? [r[0] + 1, r[1] + 1] : r; })
    };
  }

  function contains(text, terms) {
    var n = normalize(text);
    return terms.every(function (t) { return n.indexOf(t) >= 0; });
  }

  function Widget(element) {
    this.element = element;
    this.root = element.getAttribute("data-root") || "";
    this.base = element.getAttribute("data-index");
    this.input = element.querySelector(".nm-search-input");
    this.status = element.querySelector(".nm-search-status");
    this.list = element.querySelector(".nm-search-results");
    this.more = element.querySelector(".nm-search-more");
    this.generation = 0;
    this.index = null;
    var self = this, timer = null;
    element.querySelector(".nm-search-form").addEventListener("submit", function (e) {
      e.preventDefault(); clearTimeout(timer); self.search(self.input.value);
    });
    this.input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.search(self.input.value); }, TYPING_PAUSE_MS);
    });
    this.more.addEventListener("click", function () { self.show(self.generation); });
    var q = new URLSearchParams(location.search).get("q");
    if (q) { this.input.value = q; this.search(q); }
  }

  Widget.prototype.loadIndex = function () {
    var self = this;
    if (!this.index) {
      // meta.js is asked for afresh on each visit: it names the build the other files belong to.
      this.index = load(this.base, "meta", String(Date.now())).then(function (meta) {
        return { base: self.base, meta: meta };
      });
      this.index.catch(function () { self.index = null; });
    }
    return this.index;
  };

  Widget.prototype.search = function (query) {
    var self = this, generation = ++this.generation, terms = termsOf(query);
    this.list.textContent = "";
    this.more.hidden = true;
    try {
      var url = new URL(location.href);
      if (query.trim()) url.searchParams.set("q", query.trim()); else url.searchParams.delete("q");
      history.replaceState(null, "", url);
    } catch (e) { /* file:// may refuse; the search still runs */ }
    if (!terms.length) { this.status.textContent = ""; return Promise.resolve(); }
    this.status.textContent = "正在搜索…";
    return this.loadIndex().then(function (index) {
      return find(index, terms).then(function (numbers) {
        if (generation !== self.generation) return;
        self.results = { index: index, terms: terms, numbers: numbers, next: 0,
                         exact: terms.every(function (t) { return Array.from(t).length <= 2; }) };
        if (!numbers.length) {
          self.status.textContent = "没有找到包含“" + query.trim() + "”的文章。";
          return;
        }
        var about = self.results.exact ? "找到 " : "约 ";
        self.status.textContent = about + numbers.length + " 篇文章";
        return self.show(generation);
      });
    }).catch(function () {
      if (generation === self.generation) self.status.textContent = "搜索索引未能加载。";
    });
  };

  // Show up to a page more of results; longer terms are confirmed against the page text.
  Widget.prototype.show = function (generation, wanted) {
    var self = this, r = this.results;
    if (!r || generation !== this.generation) return Promise.resolve();
    wanted = wanted || PAGE;
    this.more.hidden = true;
    var batch = r.numbers.slice(r.next, r.next + wanted);
    r.next += batch.length;
    return Promise.all(batch.map(function (n) {
      return document_(r.index, n).then(function (doc) {
        if (!doc) return null;
        return pageText(self.root, doc.url).then(function (text) { doc.text = text; return doc; });
      });
    })).then(function (docs) {
      if (generation !== self.generation) return;
      var shown = 0;
      docs.forEach(function (doc) {
        if (!doc) return;
        if (!r.exact && doc.text !== null && !contains(doc.title + " " + doc.text, r.terms)) return;
        self.list.appendChild(self.item(doc, r.terms));
        shown++;
      });
      if (shown < wanted && r.next < r.numbers.length) return self.show(generation, wanted - shown);
      self.more.hidden = r.next >= r.numbers.length;
    });
  };

  Widget.prototype.item = function (doc, terms) {
    var li = document.createElement("li");
    li.className = "nm-search-result";
    var a = document.createElement("a");
    a.className = "nm-search-title";
    a.href = this.root + doc.url;
    marked(a, doc.title, ranges(doc.title, terms));
    li.appendChild(a);
    var meta = document.createElement("div");
    meta.className = "nm-search-meta";
    meta.textContent = [doc.source, doc.date].filter(Boolean).join(" · ");
    li.appendChild(meta);
    if (doc.text) {
      var p = document.createElement("p");
      p.className = "nm-search-excerpt";
      var e = excerpt(doc.text, ranges(doc.text, terms));
      marked(p, e.text, e.found);
      li.appendChild(p);
    }
    return li;
  };

  function mountAll() {
    document.querySelectorAll(".nm-search").forEach(function (element) {
      if (!element.newsmirrorWidget) element.newsmirrorWidget = new Widget(element);
    });
  }

  // Without the widget: the documents matching a query, best first, as {url, title, ...}
  // (longer terms not yet confirmed against the text). For tests and other pages.
  function query(base, text) {
    var terms = termsOf(text);
    if (!terms.length) return Promise.resolve([]);
    return load(base, "meta", String(Date.now())).then(function (meta) {
      var index = { base: base, meta: meta };
      return find(index, terms).then(function (numbers) {
        return Promise.all(numbers.map(function (n) {
          return document_(index, n).then(function (doc) {
            if (doc) doc.number = n;
            return doc;
          });
        }));
      });
    });
  }

  window.newsmirrorSearch = { put: put, mountAll: mountAll, query: query, terms: termsOf };
  // No inline script needed (a Content-Security-Policy of script-src 'self' holds).
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
"""

SEARCH_JS = _SEARCH_JS_TEMPLATE.replace("__BLOCK_TAGS__", json.dumps(sorted(BLOCK_TAGS)))
SEARCH_JS = SEARCH_JS.replace("__SKIPPED_TAGS__", json.dumps(sorted(SKIPPED_TAGS)))
