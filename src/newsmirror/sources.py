"""Managing the sources of the config file: list, add, remove, OPML in and out, feed discovery.

The config file stays the single source of truth: every change is made to the
TOML text itself, so the user's comments, order and formatting survive. An
edit is a splice of whole lines -- the new ``[[source]]`` table (rendered by
tomlkit, which quotes the values) goes after the last source, a removed one
takes its own lines and the comment lines just above its header with it, and
nothing else changes by a byte. (tomlkit alone would not do: it files the
comment above a table under the table before it, so deleting a table with
tomlkit deletes the comment of the next one.)

Every edit is checked before it is written -- the new text must decode to the
old sources plus or minus exactly the one changed, and pass ``parse_config`` --
then written atomically (a temporary file in the same folder, ``os.replace``),
then read back with ``load_config``; if that fails, the old file is put back.

OPML is read with a parser that never touches the network and never expands
entities (no XXE, no "billion laughs"). This module never fetches anything but
in ``discover_feed``, and never touches the store or the archive.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import tomlkit

from .config import SLUG_PATTERN, SourceConfig, load_config, parse_config
from .errors import ConfigError
from .fetch import Fetcher

log = logging.getLogger(__name__)

# A derived slug names a folder and is typed in commands: keep it short.
MAX_DERIVED_SLUG = 32
# Fewer Latin letters than this in a name (none in "美国之音", a stray "K"): use the host.
MIN_SLUG_LETTERS = 2
# The same test as config's: an http(s) URL with a host.
FEED_URL = re.compile(r"^https?://[^/\s]+\S*$", re.IGNORECASE)
# Media types of feeds named by <link rel="alternate" type=...> (RSS Advisory
# Board's autodiscovery; RFC 4287 for Atom; jsonfeed.org/version/1.1).
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# JSON Feed 1.0 told pages to link it as plain application/json: a link may say so,
# but a body served as JSON is only taken for a feed when it reads like one.
LINKED_FEED_TYPES = (*FEED_TYPES, "application/json")
# A body that is already a feed: its root element (or JSON Feed's version key)
# shows in the first bytes, after an XML declaration and comments.
FEED_SNIFF_BYTES = 2048
FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")
JSON_FEED = re.compile(rb'^\s*\{.*"version"\s*:\s*"https://jsonfeed\.org/version/', re.DOTALL)
# Table headers at the start of a line: "[archive]", "[[source]]  # comment".
TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?$")
SOURCE_HEADER = re.compile(r"^\s*\[\[\s*source\s*\]\]\s*(?:#.*)?$")
COMMENT_LINE = re.compile(r"^\s*#")


class FeedNotFoundError(ConfigError):
    """``add`` was given a page that names no feed."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(url, message)
        self.url = url

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class OutlineNote:
    """An OPML outline not imported, and why."""

    name: str
    url: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    added: tuple[SourceConfig, ...]
    skipped: tuple[OutlineNote, ...]  # already in the config (same URL), or twice in the OPML
    invalid: tuple[OutlineNote, ...]  # no usable feed URL


# -- the public functions -------------------------------------------------------


def list_sources(config_path: Path) -> list[SourceConfig]:
    return list(load_config(config_path).sources)


def add_source(
    config_path: Path,
    url: str,
    *,
    name: str | None,
    slug: str | None,
    fetcher_url_resolver: Callable[[str], str] | None = None,
) -> SourceConfig:
    """Append a ``[[source]]`` for ``url``; a web page's feed is found by ``fetcher_url_resolver``.

    Without ``name``, the URL's host is the name; without ``slug``, one is
    derived from the name (or the host, for a name not in Latin letters).
    """
    config = load_config(config_path)
    url = url.strip()
    if fetcher_url_resolver is not None:
        url = fetcher_url_resolver(url)
    problem = url_problem(url)
    if problem:
        raise ConfigError(config_path, problem, "url")
    existing = _url_key_index(config.sources)
    if _url_key(url) in existing:
        other = existing[_url_key(url)]
        raise ConfigError(config_path, f"{url} is already a source: {other.slug!r}", "url")
    names = {source.name for source in config.sources}
    slugs = {source.slug for source in config.sources}
    if name is not None:
        name = name.strip()
        if name in names:
            raise ConfigError(config_path, f"there is already a source named {name!r}", "name")
    else:
        name = unique_name(_host(url).removeprefix("www.") or url, names)
    if slug is not None:
        if slug in slugs:
            raise ConfigError(config_path, f"there is already a source with slug {slug!r}", "slug")
        if not SLUG_PATTERN.match(slug):
            raise ConfigError(
                config_path, f"{slug!r} is not a slug: use a-z, 0-9, '-' and '_'", "slug"
            )
    else:
        slug = derive_slug(name, url, slugs)
    _edit(config_path, add=[{"name": name, "slug": slug, "url": url}])
    return load_config(config_path).source(slug)


def remove_source(config_path: Path, slug: str) -> SourceConfig:
    """Delete the source's table (and the comment lines just above it); returns what it was."""
    config = load_config(config_path)
    try:
        removed = config.source(slug)
    except KeyError:
        known = ", ".join(source.slug for source in config.sources) or "none"
        raise ConfigError(
            config_path, f"no source with slug {slug!r} (slugs: {known})", "source"
        ) from None
    _edit(config_path, remove=config.sources.index(removed))
    return removed


def import_opml(config_path: Path, opml: bytes) -> ImportReport:
    """Add every feed of an OPML file (folders flattened) not already a source, in one write."""
    config = load_config(config_path)
    by_url = _url_key_index(config.sources)
    names = {source.name for source in config.sources}
    slugs = {source.slug for source in config.sources}
    seen: set[str] = set()
    tables: list[dict[str, str]] = []
    skipped: list[OutlineNote] = []
    invalid: list[OutlineNote] = []
    for outline_name, url in _read_outlines(opml):
        problem = url_problem(url)
        if problem:
            invalid.append(OutlineNote(outline_name, url, problem))
            continue
        key = _url_key(url)
        if key in by_url:
            reason = f"already a source: {by_url[key].slug!r}"
            skipped.append(OutlineNote(outline_name, url, reason))
            continue
        if key in seen:
            skipped.append(OutlineNote(outline_name, url, "listed twice in the OPML"))
            continue
        seen.add(key)
        name = unique_name(outline_name or _host(url).removeprefix("www.") or url, names)
        slug = derive_slug(name, url, slugs)
        names.add(name)
        slugs.add(slug)
        tables.append({"name": name, "slug": slug, "url": url})
    added: tuple[SourceConfig, ...] = ()
    if tables:
        _edit(config_path, add=tables)
        new_config = load_config(config_path)
        added = tuple(new_config.source(table["slug"]) for table in tables)
    return ImportReport(added=added, skipped=tuple(skipped), invalid=tuple(invalid))


def export_opml(config_path: Path, *, title: str | None = None) -> bytes:
    """OPML 2.0 of the sources, in config order; the same config gives the same bytes."""
    config = load_config(config_path)
    root = lxml.etree.Element("opml", version="2.0")
    head = lxml.etree.SubElement(root, "head")
    # No dateCreated: it would make every export differ from the last.
    lxml.etree.SubElement(head, "title").text = title or config.site.title
    body = lxml.etree.SubElement(root, "body")
    for source in config.sources:
        attributes = {"type": "rss", "text": source.name, "title": source.name}
        attributes["xmlUrl"] = source.url
        lxml.etree.SubElement(body, "outline", attributes)
    lxml.etree.indent(root, space="  ")
    serialized: bytes = lxml.etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return serialized


async def discover_feed(fetcher: Fetcher, url: str) -> str:
    """The feed at ``url``: the URL itself if it is a feed, else the feed its page links to.

    Autodiscovery: the first ``<link rel="alternate">`` whose ``type`` is a feed's
    (RSS, Atom, JSON Feed), its ``href`` made absolute against the page (or its
    ``<base href>``). Raises FetchError when the page cannot be had and
    FeedNotFoundError when it names no feed.
    """
    result = await fetcher.fetch(url)
    media_type = (result.content_type or "").split(";")[0].strip().lower()
    head = result.body[:FEED_SNIFF_BYTES]
    if media_type in FEED_TYPES or FEED_ROOT.search(head) or JSON_FEED.match(head):
        return result.final_url
    feed = _linked_feed(result.body, result.final_url)
    if feed is None:
        raise FeedNotFoundError(
            url,
            f"no feed found at {url}: it is not a feed and links none "
            '(<link rel="alternate" type="application/rss+xml" href=...>)',
        )
    return feed


# -- names, slugs, URLs ------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed URL, or None."""
    if not url:
        return "no feed URL (xmlUrl)"
    if not FEED_URL.match(url):
        return f"not an http:// or https:// URL: {url!r}"
    try:
        host = urlsplit(url).hostname
    except ValueError as e:
        return f"not a valid URL: {e}"
    if not host:
        return f"no host in {url!r}"
    return None


def derive_slug(name: str, url: str, taken: Iterable[str]) -> str:
    """A slug from the name's Latin letters, else from the host; -2, -3 to be unique.

    "BBC 中文" gives "bbc"; "美国之音" (or "36氪") at rss.voa.example gives "rss-voa-example".
    """
    base = _slugify(name)
    if sum(char.isalpha() for char in base) < MIN_SLUG_LETTERS:
        base = _slugify(_host(url).removeprefix("www."))
    base = base[:MAX_DERIVED_SLUG].rstrip("-_") or "feed"
    return _first_untaken(base, "{}-{}", taken)


def unique_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)``: a name is also a file name and must be unique."""
    return _first_untaken(name, "{} ({})", taken)


def _first_untaken(base: str, numbered: str, taken: Iterable[str]) -> str:
    """``base``, else ``numbered.format(base, 2)``, ``…(base, 3)``…: the first not taken."""
    taken = set(taken)
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = numbered.format(base, n)
    return candidate


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _url_key(url: str) -> str:
    """URLs compared as the same feed: scheme and host are case-insensitive (RFC 3986 §6.2.2.1)."""
    parts = urlsplit(url.strip())
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _url_key_index(sources: Iterable[SourceConfig]) -> dict[str, SourceConfig]:
    return {_url_key(source.url): source for source in sources}


# -- OPML and HTML -------------------------------------------------------------------


def _read_outlines(opml: bytes) -> list[tuple[str, str]]:
    """(name, xmlUrl) of every feed outline, folders flattened, in document order."""
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = lxml.etree.fromstring(opml, parser)
    except lxml.etree.XMLSyntaxError as e:
        raise ConfigError("OPML", f"not well-formed XML: {e}") from e
    if root.tag != "opml":
        raise ConfigError("OPML", f"not an OPML document (the root is <{root.tag}>)")
    outlines = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        # An outline without xmlUrl is a folder, unless it says it is a feed.
        if not url and outline.get("type", "").lower() not in ("rss", "atom"):
            continue
        name = (outline.get("text") or outline.get("title") or "").strip()
        outlines.append((" ".join(name.split()), url))
    return outlines


def _linked_feed(body: bytes, page_url: str) -> str | None:
    if not body.strip():
        return None
    try:
        document = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return None
    base = page_url
    for element in document.iter("base"):
        if element.get("href"):
            base = urljoin(page_url, element.get("href").strip())
            break
    for link in document.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and media_type in LINKED_FEED_TYPES and href:
            feed = urljoin(base, href)
            if url_problem(feed) is None:
                return feed
    return None


# -- editing the file ----------------------------------------------------------------


def _edit(
    config_path: Path, *, add: list[dict[str, str]] | None = None, remove: int | None = None
) -> None:
    raw = config_path.read_bytes()
    old_text = raw.decode("utf-8")
    old_sources = tomllib.loads(old_text).get("source", [])
    lines = old_text.splitlines(keepends=True)
    spans = _source_spans(lines)
    if len(spans) != len(old_sources):
        raise ConfigError(
            config_path,
            f"cannot edit safely: {len(old_sources)} sources but {len(spans)} [[source]] "
            "header lines; edit the file by hand",
        )
    expected = list(old_sources)
    if remove is not None:
        start, end = spans[remove]
        new_lines = lines[:start] + lines[end:]
        if end == len(lines):  # no blank lines left dangling at the end of the file
            while new_lines and not new_lines[-1].strip():
                new_lines.pop()
        del expected[remove]
    else:
        new_lines = list(lines)
    if add:
        newline = "\r\n" if "\r\n" in old_text else "\n"
        tables = tomlkit.aot()
        for values in add:
            table = tomlkit.table()
            for key, value in values.items():
                table.add(key, value)
            tables.append(table)
        document = tomlkit.document()
        document.add("source", tables)
        rendered = tomlkit.dumps(document).replace("[[source]]", "\n[[source]]")
        rendered = rendered.lstrip("\n").replace("\n", newline)
        at = spans[-1][1] if spans else len(new_lines)
        before, after = new_lines[:at], new_lines[at:]
        if before and not before[-1].endswith("\n"):
            before[-1] += newline
        if before and before[-1].strip():
            before.append(newline)
        if after and after[0].strip():
            rendered += newline
        new_lines = [*before, rendered, *after]
        expected += add
    new_text = "".join(new_lines)
    _check(config_path, new_text, expected)
    _write_atomically(config_path, new_text.encode("utf-8"))
    try:
        load_config(config_path)
    except ConfigError as e:
        _write_atomically(config_path, raw)
        raise ConfigError(config_path, f"change refused, file restored: {e.reason}") from e


def _source_spans(lines: list[str]) -> list[tuple[int, int]]:
    """[start, end) line ranges of each [[source]] table, comments above it included.

    A table runs from its header to the next header (``[source.include]`` belongs
    to it); comment lines right above a header belong to that header, and the
    blank lines after a table go with it.
    """
    headers = [i for i, line in enumerate(lines) if TABLE_HEADER.match(line)]
    spans = []
    for n, i in enumerate(headers):
        if not SOURCE_HEADER.match(lines[i]):
            continue
        start = i
        while start > 0 and COMMENT_LINE.match(lines[start - 1]):
            start -= 1
        end = len(lines)
        for j in headers[n + 1 :]:
            name = TABLE_HEADER.match(lines[j])
            if name and not name.group(1).replace(" ", "").startswith("source."):
                end = j
                break
        while end > start + 1 and COMMENT_LINE.match(lines[end - 1]) and end < len(lines):
            end -= 1
        spans.append((start, end))
    return spans


def _check(config_path: Path, new_text: str, expected: list[Any]) -> None:
    """The edited text must hold exactly the expected sources and be a valid config."""
    try:
        data = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(config_path, f"change refused: it would not be valid TOML: {e}") from e
    if data.get("source", []) != expected:
        raise ConfigError(
            config_path, "cannot edit safely: the file's layout is unusual; edit it by hand"
        )
    try:
        parse_config(data, config_path)
    except ConfigError as e:
        raise ConfigError(config_path, f"change refused, file unchanged: {e.reason}", e.key) from e


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside ``path``, then rename it over: readers see old or new."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
