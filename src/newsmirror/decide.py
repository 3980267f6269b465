"""Pure decisions about entries: their stable key, whether a source keeps them, and
whether each is new, updated or unchanged against what the store already holds.

Nothing here reads a clock, a file, the network or the store: every function
takes what it needs (the time of the run included) and returns plain data, so
the rules can be tested with literals. The pipeline applies the results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .config import Filters, SourceConfig
from .models import Entry

# Query parameters that identify a campaign or a click, never an article.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "spm"}
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
UNTITLED = "无标题"
# A title made from the body when the feed gives none: long enough to tell articles apart.
FALLBACK_TITLE_CHARS = 50
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Candidate:
    """An entry made ready to store: keyed, titled and dated."""

    key: str
    guid: str | None
    link: str
    title: str
    content: str
    author: str | None
    categories: tuple[str, ...]
    published_at: datetime
    date_from_feed: bool
    fingerprint: str  # what a change of is an update: title, link, the feed's content
    # The content as received (feed or page) when cleaning changed it; None: ``content`` is.
    raw: str | None = None
    note: str | None = None  # what enrich and clean did, for the record


@dataclass(frozen=True)
class Known:
    """What the store holds of an article, as much as deciding needs."""

    article_id: int
    fingerprint: str


@dataclass(frozen=True)
class Batch:
    """A feed's entries made candidates: what a source keeps, once each."""

    candidates: tuple[Candidate, ...]
    filtered: int  # entries the source's filters dropped
    duplicates: int  # entries the feed listed more than once

    @property
    def keys(self) -> list[str]:
        return [candidate.key for candidate in self.candidates]


@dataclass(frozen=True)
class Decision:
    new: tuple[Candidate, ...]
    updated: tuple[tuple[int, Candidate], ...]
    unchanged: int
    filtered: int
    duplicates: int  # entries the feed listed more than once


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and tracking parameters dropped."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    if parts.username or parts.password:
        host = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{host}"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in TRACKING_PARAMS and not name.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query, safe="/:@,;=+"), ""))


def is_web_url(value: str | None) -> bool:
    return bool(value) and re.match(r"^https?://[^/\s]+", value or "", re.IGNORECASE) is not None


def article_key(entry: Entry, source: SourceConfig) -> str:
    """The stable key of SPEC.md: id_pattern's capture, else guid, else canonical URL.

    The prefixes keep the spaces apart: a guid that happens to equal another
    entry's URL does not merge the two.
    """
    if source.id_pattern is not None:
        for candidate in (entry.link, entry.guid):
            if candidate:
                match = source.id_pattern.search(candidate)
                if match:
                    return "id:" + next((g for g in match.groups() if g), match.group(0))
    if entry.guid and entry.guid.strip():
        return "guid:" + entry.guid.strip()
    if entry.link and entry.link.strip():
        return "url:" + canonical_url(entry.link)
    # No identity at all: what the entry says is all that tells it apart.
    digest = hashlib.sha256(f"{entry.title}\x00{entry.content}".encode()).hexdigest()
    return "hash:" + digest[:32]


def entry_title(entry: Entry) -> str:
    """The feed's title, else the start of the body's text, else a placeholder."""
    if entry.title and entry.title.strip():
        return entry.title
    text = _SPACE.sub(" ", _TAG.sub(" ", entry.content)).strip()
    if text:
        return text[:FALLBACK_TITLE_CHARS]
    return UNTITLED


def entry_link(entry: Entry) -> str:
    if entry.link and entry.link.strip():
        return entry.link.strip()
    if is_web_url(entry.guid):
        return (entry.guid or "").strip()
    return ""


def published_time(entry: Entry, now: datetime) -> tuple[datetime, bool]:
    """The entry's date, else the time it was first seen; a future date becomes ``now``."""
    stated = entry.published_at or entry.updated_at
    if stated is None:
        return now, False
    return min(stated, now), True


def fingerprint(title: str, link: str, content: str) -> str:
    return hashlib.sha256(f"{title}\x00{link}\x00{content}".encode()).hexdigest()


def keeps(source: SourceConfig, entry: Entry) -> bool:
    """Per-source filters: include (any matches) then exclude (none matches)."""
    title = entry.title or ""
    if source.include and not _matches(source.include, title, entry.categories):
        return False
    return not (source.exclude and _matches(source.exclude, title, entry.categories))


def _matches(filters: Filters, title: str, categories: Sequence[str]) -> bool:
    if filters.title is not None and filters.title.search(title):
        return True
    return filters.category is not None and any(filters.category.search(c) for c in categories)


def candidates(entries: Iterable[Entry], source: SourceConfig, now: datetime) -> Batch:
    """Entries → candidates in feed order: filtered, keyed, each key once."""
    out: list[Candidate] = []
    seen: set[str] = set()
    filtered = duplicates = 0
    for entry in entries:
        if not keeps(source, entry):
            filtered += 1
            continue
        key = article_key(entry, source)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        title = entry_title(entry)
        link = entry_link(entry)
        published_at, from_feed = published_time(entry, now)
        out.append(
            Candidate(
                key=key,
                guid=entry.guid.strip() if entry.guid else None,
                link=link,
                title=title,
                content=entry.content,
                author=entry.author,
                categories=entry.categories,
                published_at=published_at,
                date_from_feed=from_feed,
                fingerprint=fingerprint(title, link, entry.content),
            )
        )
    return Batch(tuple(out), filtered, duplicates)


def decide(batch: Batch, known: Mapping[str, Known]) -> Decision:
    """Sort a batch into new, updated and unchanged against ``known`` (by key)."""
    new: list[Candidate] = []
    updated: list[tuple[int, Candidate]] = []
    unchanged = 0
    for candidate in batch.candidates:
        stored = known.get(candidate.key)
        if stored is None:
            new.append(candidate)
        elif stored.fingerprint != candidate.fingerprint:
            updated.append((stored.article_id, candidate))
        else:
            unchanged += 1
    return Decision(tuple(new), tuple(updated), unchanged, batch.filtered, batch.duplicates)


def publication_order(new: Sequence[Candidate]) -> list[Candidate]:
    """Oldest first, so that ids counting down give the newest the smallest id.

    Feeds list newest first, so among equal dates the later feed position is older.
    """
    indexed = list(enumerate(new))
    indexed.sort(key=lambda pair: (pair[1].published_at, -pair[0]))
    return [candidate for _, candidate in indexed]
