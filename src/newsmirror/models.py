"""Plain data that crosses stages: frozen dataclasses, UTC-aware datetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True)
class Entry:
    """One item as a feed states it, before it is matched against the store.

    Strings are as the feed gives them (entities decoded, markup in ``content``
    kept as received). ``published_at`` / ``updated_at`` are UTC-aware or None.
    """

    title: str | None
    link: str | None
    guid: str | None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    content: str = ""
    author: str | None = None
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed body holds: its own metadata and its entries, in feed order."""

    format: str  # "rss2", "rss1", "atom", "json", ...
    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    parser: str = ""  # which parser produced it, for the record
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpCache:
    """Validators from the last 200 answer, sent back for a conditional GET (RFC 9110 §13)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one successful HTTP exchange (a 200 or a 304)."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int  # 200 or 304
    body: bytes = b""
    content_type: str | None = None
    cache: HttpCache = field(default_factory=HttpCache)
    headers: tuple[tuple[str, str], ...] = ()
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class FetchSettings:
    """Limits of the HTTP client; each has a reason in README's "Limits"."""

    timeout: float = 30.0  # seconds for one whole request (connect + headers + body)
    connect_timeout: float = 10.0
    retries: int = 3  # further attempts after the first, on timeouts, 5xx, 429
    backoff: float = 1.0  # first wait between attempts; doubles each time
    max_backoff: float = 60.0  # longest wait we accept, from backoff or Retry-After
    max_bytes: int = 20 * 1024 * 1024  # decoded body limit; feeds above this are refused
    max_redirects: int = 5
    concurrency: int = 16  # connections in flight overall
    per_host: int = 4  # connections in flight to one host
    user_agent: str = ""  # empty: newsmirror's own, naming its version
