"""The pipeline of SPEC.md, joined up:

    sources ─▶ fetch ─▶ parse ─▶ decide ─▶ store ─▶ publish

Every source is fetched concurrently (``fetch.Fetcher`` holds the global and
per-host limits). As each answer arrives it is parsed, sorted into new,
updated and unchanged entries (``decide``), and committed to the store in
one transaction per source, together with the source's HTTP validators and
health. A 304 ends a source's work before parsing. A failure is recorded
against its source and never stops the others. Once every source is done,
``publish`` writes the files of what changed.

Nothing here formats output for a person: results are returned (and handed to
an optional callback as each source finishes) for the CLI to show.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import Config, SourceConfig
from .decide import candidates, decide, publication_order
from .errors import FetchError, ParseError
from .fetch import Fetcher
from .models import FetchResult, HttpCache, ParsedFeed
from .parse import parse_feed
from .publish import PublishReport, assign_names, publish
from .store import FetchRecord, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceResult:
    """What one source's run came to."""

    slug: str
    name: str
    outcome: str  # "ok", "not_modified" or "failed"
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    filtered: int = 0
    duplicates: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass(frozen=True)
class RunReport:
    started_at: datetime
    finished_at: datetime
    results: tuple[SourceResult, ...]
    publish: PublishReport = field(default_factory=lambda: PublishReport((), 0))

    @property
    def all_failed(self) -> bool:
        return bool(self.results) and all(r.failed for r in self.results)


OnResult = Callable[[SourceResult], None]


def run(
    store: Store,
    config: Config,
    *,
    slugs: Sequence[str] | None = None,
    now: datetime | None = None,
    on_result: OnResult | None = None,
) -> RunReport:
    """Fetch, parse and store every source (or those in ``slugs``), then publish."""
    started_at = now or datetime.now(UTC)
    sources = [s for s in config.sources if slugs is None or s.slug in slugs]
    store.sync_sources((s.slug, s.name, s.url) for s in config.sources)
    results = asyncio.run(_run_sources(store, config, sources, started_at, on_result))
    report = publish(store, config)
    order = {s.slug: i for i, s in enumerate(sources)}
    results.sort(key=lambda r: order[r.slug])
    return RunReport(started_at, datetime.now(UTC), tuple(results), report)


async def _run_sources(
    store: Store,
    config: Config,
    sources: Sequence[SourceConfig],
    now: datetime,
    on_result: OnResult | None,
) -> list[SourceResult]:
    results: list[SourceResult] = []
    async with Fetcher(config.fetch) as fetcher:
        tasks = [
            asyncio.create_task(_fetch_and_parse(fetcher, source, store.http_cache(source.slug)))
            for source in sources
        ]
        for next_done in asyncio.as_completed(tasks):
            result = ingest(store, config, await next_done, now)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


@dataclass(frozen=True)
class Fetched:
    """A source's fetch outcome and, for a 200, what parsing its body gave."""

    source: SourceConfig
    outcome: FetchResult | FetchError
    feed: ParsedFeed | ParseError | None = None


async def _fetch_and_parse(fetcher: Fetcher, source: SourceConfig, cache: HttpCache) -> Fetched:
    try:
        outcome = await fetcher.fetch(source.url, cache)
    except FetchError as e:
        return Fetched(source, e)
    if outcome.not_modified:
        return Fetched(source, outcome)
    # The tolerant parser is pure Python and slow on a big ill-formed feed: in a
    # worker thread it cannot stall the event loop, whose other requests would
    # otherwise time out while it runs.
    return Fetched(source, outcome, await asyncio.to_thread(_parse, outcome))


def _parse(outcome: FetchResult) -> ParsedFeed | ParseError:
    try:
        return parse_feed(outcome.body, url=outcome.final_url, content_type=outcome.content_type)
    except ParseError as e:
        return e


def ingest(store: Store, config: Config, fetched: Fetched, now: datetime) -> SourceResult:
    """Apply one source's fetch outcome to the store, in one transaction."""
    source, outcome, feed = fetched.source, fetched.outcome, fetched.feed
    started = now
    if isinstance(outcome, FetchError):
        return _fail(store, source, now, outcome.reason, url=outcome.url, status=outcome.status)
    if outcome.not_modified:
        with store.transaction() as db:
            store.record_success(db, source.slug, outcome.cache, now)
            store.log_fetch(db, _record(source, started, "not_modified", outcome))
        return SourceResult(source.slug, source.name, "not_modified")
    if not isinstance(feed, ParsedFeed):
        # The validators of a body we could not read are not kept: the next run
        # must get the body again, not a 304.
        reason = feed.reason if feed is not None else "no feed was parsed"
        return _fail(store, source, now, reason, url=source.url, status=outcome.status)
    batch = candidates(feed.entries, source, now)
    decision = decide(batch, store.known(source.slug, batch.keys))
    with store.transaction() as db:
        unnamed = []
        for candidate in publication_order(decision.new):
            article_id = store.insert_article(db, source.slug, candidate, now)
            unnamed.append((article_id, candidate.published_at, candidate.title))
        assign_names(
            store, db, source, config.archive.path, {layout: unnamed for layout in source.layouts}
        )
        for article_id, candidate in decision.updated:
            store.update_article(db, article_id, candidate, now)
        store.record_success(db, source.slug, outcome.cache, now)
        store.log_fetch(
            db,
            _record(
                source,
                started,
                "ok",
                outcome,
                new=len(decision.new),
                updated=len(decision.updated),
                unchanged=decision.unchanged,
                filtered=decision.filtered,
            ),
        )
    for warning in feed.warnings:
        log.info("%s: %s", source.slug, warning)
    return SourceResult(
        source.slug,
        source.name,
        "ok",
        new=len(decision.new),
        updated=len(decision.updated),
        unchanged=decision.unchanged,
        filtered=decision.filtered,
        duplicates=decision.duplicates,
        warnings=feed.warnings,
    )


def _fail(
    store: Store,
    source: SourceConfig,
    now: datetime,
    reason: str,
    *,
    url: str,
    status: int | None,
) -> SourceResult:
    log.info("%s: %s", source.slug, reason)
    with store.transaction() as db:
        store.record_failure(db, source.slug, reason, now)
        store.log_fetch(
            db,
            FetchRecord(
                source=source.slug,
                started_at=now,
                finished_at=datetime.now(UTC),
                outcome="failed",
                http_status=status,
                url=url,
                error=reason,
            ),
        )
    return SourceResult(source.slug, source.name, "failed", error=reason)


def _record(
    source: SourceConfig,
    started: datetime,
    outcome: str,
    result: FetchResult,
    *,
    new: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    filtered: int = 0,
) -> FetchRecord:
    return FetchRecord(
        source=source.slug,
        started_at=started,
        finished_at=datetime.now(UTC),
        outcome=outcome,
        http_status=result.status,
        url=result.url,
        final_url=result.final_url,
        bytes=len(result.body),
        attempts=result.attempts,
        new=new,
        updated=updated,
        unchanged=unchanged,
        filtered=filtered,
    )
