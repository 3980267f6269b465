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
same pages: 100 % of every query above, titles always before bodies; 3.2 s,
130 MB and 6.3 MB in 139 files for 2,000 pages; 23.5 s, 412 MB and 46 MB in
1,106 files for 20,000 (Pagefind extended: 70 s, 6.2 GB, 84 MB in 21,107 files).
A query downloads one shard per distinct first character (~70 KB), a chunk of
titles (~40 KB) and the ten article pages it shows.

The widget builds results with ``textContent``, never ``innerHTML``: titles and
text are data. Article content reaches the pages cleaned of every ``data-*``
attribute (clean.py), so an article cannot mark itself ignored or as a title.

## What the site's pages must carry (the attributes are Pagefind's vocabulary)

On the element holding an article (``<article>``), article pages only:

- ``data-pagefind-body`` — this page is indexed; its text is this element's.
- ``data-pagefind-filter="source:{source name}"`` — shown in the results.
- ``data-pagefind-sort="published:{published, UTC, ISO 8601, e.g. 2020-11-21T11:08:55Z}"``
  — orders results newest first (compared as a string).
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

import hashlib
import html
import json
import logging
import operator
import time
import unicodedata
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import lxml.etree
import lxml.html

from ..errors import PublishError
from ..publish.files import write_if_changed

log = logging.getLogger(__name__)

# The index folder at the site's root. Not ``_search``: GitHub Pages' Jekyll
# drops folders starting with "_"; not ``search/``: a site may want search/index.html.
INDEX_DIR = "search-index"
INDEX_FORMAT = 1
# Keys go to shards by their first character (so a one-character query reads one
# shard); the shard count grows with the index so that one shard stays near this
# size (a two-character query downloads about this much).
TARGET_SHARD_BYTES = 64 * 1024
MAX_SHARDS = 4096
# Documents' titles, URLs and dates, in chunks the results page loads as it shows them.
DOCS_PER_CHUNK = 256

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
    pages: int  # pages with a data-pagefind-body, indexed
    skipped: int  # HTML pages without one
    keys: int  # distinct bigrams (and run-final characters)
    files: int
    bytes: int
    seconds: float


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


@dataclass(frozen=True)
class BuiltIndex:
    files: dict[str, bytes]  # path under INDEX_DIR → content
    keys: int


def build_index(pages: Iterable[IndexedPage]) -> BuiltIndex:
    """The index's files for these pages: the same pages give the same bytes.

    Documents are numbered newest first (then by URL), so that the widget orders
    results by number. A key's postings are the numbers of the documents that
    hold it, delta-encoded in base 36; those whose title holds it follow a ";".
    """
    ordered = sorted(pages, key=lambda p: p.url)
    ordered.sort(key=lambda p: p.published, reverse=True)  # stable: ties stay by URL
    postings: defaultdict[str, list[int]] = defaultdict(list)
    title_postings: defaultdict[str, list[int]] = defaultdict(list)
    for number, page in enumerate(ordered):
        title_keys = keys(page.title)
        for key in title_keys | keys(page.text):
            postings[key].append(number)
        for key in title_keys:
            title_postings[key].append(number)

    encoded = {key: _encode(postings[key], title_postings.get(key, ())) for key in postings}
    total = sum(len(k.encode()) + len(v) + 6 for k, v in encoded.items())
    shard_count = 1
    while shard_count < MAX_SHARDS and total / shard_count > TARGET_SHARD_BYTES:
        shard_count *= 2
    shards: dict[int, dict[str, str]] = {}
    for key in sorted(encoded):
        shards.setdefault(ord(key[0]) % shard_count, {})[key] = encoded[key]

    data: dict[str, bytes] = {}
    for number in range(shard_count):  # every one, empty or not: the widget asks by number
        data[f"shards/{number:x}"] = _payload(f"shards/{number:x}", shards.get(number, {}))
    for start in range(0, len(ordered), DOCS_PER_CHUNK):
        name = f"docs/{start // DOCS_PER_CHUNK:x}"
        chunk = [
            [p.url, p.title, p.source, p.date or p.published[:10]]
            for p in ordered[start : start + DOCS_PER_CHUNK]
        ]
        data[name] = _payload(name, chunk)
    digest = hashlib.sha256()
    for name in sorted(data):
        digest.update(name.encode() + b"\0" + data[name])
    meta = {
        "format": INDEX_FORMAT,
        "build": digest.hexdigest()[:16],
        "documents": len(ordered),
        "shards": shard_count,
        "chunk": DOCS_PER_CHUNK,
    }
    files = {f"{name}.js": content for name, content in data.items()}
    files["meta.js"] = _payload("meta", meta)
    files["search.js"] = SEARCH_JS.encode()
    files["search.css"] = SEARCH_CSS.encode()
    return BuiltIndex(files, len(encoded))


def _encode(numbers: Sequence[int], title_numbers: Sequence[int]) -> str:
    value = _deltas(numbers)
    return value + ";" + _deltas(title_numbers) if title_numbers else value


def _deltas(numbers: Sequence[int]) -> str:
    return ",".join(map(_base36, map(operator.sub, numbers, [0, *numbers[:-1]])))


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


def index_site(site_dir: Path, pages: Sequence[IndexedPage] | None = None) -> SearchIndexReport:
    """Index the built site at ``site_dir`` into ``site_dir/search-index/``.

    ``pages`` are the article pages as the index sees them, when the caller knows
    them already (the site build does, from the store); otherwise the built
    pages are read back and parsed.

    Raises :class:`PublishError` when the site is missing or the index cannot be written.
    """
    started = time.perf_counter()
    if not site_dir.is_dir():
        raise PublishError(site_dir, "no site to index (build the site first)")
    if pages is None:
        pages, skipped = read_site(site_dir)
    else:
        skipped = 0
    built = build_index(pages)
    target = site_dir / INDEX_DIR
    try:
        _sync_folder(target, built.files)
    except OSError as e:
        raise PublishError(target, f"cannot write the search index: {e}") from e
    seconds = time.perf_counter() - started
    report = SearchIndexReport(
        site_dir=site_dir,
        pages=len(pages),
        skipped=skipped,
        keys=built.keys,
        files=len(built.files),
        bytes=sum(len(c) for c in built.files.values()),
        seconds=seconds,
    )
    log.info("search index: %d pages, %d bytes in %.2f s", report.pages, report.bytes, seconds)
    return report


def _sync_folder(target: Path, files: dict[str, bytes]) -> int:
    """Make ``target`` hold exactly ``files``: each written atomically and only when its
    bytes change, files no longer in the index removed. Returns the files written.

    An index that did not change touches no file, as the rest of the site; a
    reader in the middle of an update may get one shard new and one old, which
    shows a result less or more until the next page load, never a broken page.
    """
    written = sum(write_if_changed(target / name, content) for name, content in files.items())
    for path in sorted(target.rglob("*"), reverse=True):
        name = path.relative_to(target).as_posix()
        if path.is_file() and name not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return written


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

  function decode(value) {
    var out = [], n = 0;
    if (!value) return out;
    value.split(",").forEach(function (d) { n += parseInt(d, 36); out.push(n); });
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
  function byNumber(a, b) { return a - b; }

  function find(index, terms) {
    return Promise.all(terms.map(function (t) { return termDocuments(index, t); }))
      .then(function (sets) {
        var all = sets[0][0], titles = sets[0][1];
        sets.slice(1).forEach(function (s) {
          all = intersect(all, s[0]);
          titles = intersect(titles, s[1]);
        });
        titles = intersect(titles, all);
        var rest = [];
        all.forEach(function (n) { if (!titles.has(n)) rest.push(n); });
        return Array.from(titles).sort(byNumber).concat(rest.sort(byNumber));
      });
  }

  function document_(index, number) {
    var chunk = Math.floor(number / index.meta.chunk).toString(16);
    return load(index.base, "docs/" + chunk, index.meta.build).then(function (docs) {
      var d = docs[number % index.meta.chunk];
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
        return pageText(self.root, doc.url).then(function (text) { doc.text = text; return doc; });
      });
    })).then(function (docs) {
      if (generation !== self.generation) return;
      var shown = 0;
      docs.forEach(function (doc) {
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
        return Promise.all(numbers.map(function (n) { return document_(index, n); }));
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
