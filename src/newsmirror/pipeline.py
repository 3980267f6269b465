"""The pipeline of SPEC.md, joined up:

    sources ─▶ fetch ─▶ parse ─▶ decide ─▶ enrich ─▶ clean ─▶ store ─▶ images ─▶ publish ─▶ site

Every source is one task, and all run concurrently (``fetch.Fetcher`` holds the
global and per-host limits). A task fetches its feed (a 304 ends it there),
parses it in a worker (a thread, or a process in a big run: see ``work``),
sorts the entries into new, updated and unchanged (``decide``), makes the new
and updated ones whole and safe (``enrich``: full text where asked, then
``clean``), and commits everything in one transaction, with the source's HTTP
validators and health. A failure is recorded against its source and never
stops the others.

Then the images of ``mirror`` sources still missing from the archive are
downloaded (failed ones are tried again on later runs), ``publish`` writes the
archive files of what changed, and ``site`` the pages that show it.

All store access happens on the event loop's thread; only parsing, extraction
and cleaning run elsewhere (worker threads, or processes in a big run).
Nothing here formats output for a person: results are returned (and handed to
a callback as each source finishes).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import Config, SourceConfig
from .decide import Decision, candidates, decide, publication_order
from .errors import FetchError, ParseError
from .fetch import Fetcher, retry_after_seconds
from .gitops import GitReport, commit_archive, commit_message
from .images import ImageLimits, image_urls, mirror_image
from .models import FetchResult
from .publish import PublishReport, assign_names, publish
from .schedule import next_poll_at, parse_cache_control
from .site import SiteReport, unchanged_site
from .store import FetchRecord, Store
from .work import Workers

if TYPE_CHECKING:
    from .enrich import Prepared

log = logging.getLogger(__name__)

# Sources between the start of their fetch and the commit of their articles, at most
# (or twice the fetch concurrency, if more): what bounds a run's memory.
SOURCES_IN_FLIGHT = 32


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
    full_text: int = 0  # articles whose page body replaced the feed's content
    kept_feed: int = 0  # full-text articles that kept the feed's content
    cleaned: int = 0  # articles from which dangerous HTML was removed
    error: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass(frozen=True)
class ImageReport:
    downloaded: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()  # "url: reason", for the failures of this run


@dataclass(frozen=True)
class RunReport:
    started_at: datetime
    finished_at: datetime
    results: tuple[SourceResult, ...]
    publish: PublishReport = field(default_factory=lambda: PublishReport((), 0))
    images: ImageReport = field(default_factory=ImageReport)
    site: SiteReport | None = None
    git: GitReport | None = None

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
    scheduled: bool = False,
    site: bool = True,
) -> RunReport:
    """Fetch, parse and store every source (or those in ``slugs``), then publish.

    Without ``site`` the static site is left as it is: the articles stay flagged
    for it, and the next run or build that builds it shows them.

    A ``scheduled`` run (``run --every``) leaves out the sources whose feed
    asked not to be polled yet (Cache-Control max-age, Retry-After) or that are
    backing off after failures; a run started by hand polls them all.
    """
    started_at = now or datetime.now(UTC)
    sources = [s for s in config.sources if slugs is None or s.slug in slugs]
    if scheduled:
        sources = [s for s in sources if _due(store, s.slug, started_at)]
    store.sync_sources((s.slug, s.name, s.url) for s in config.sources)
    results, images = asyncio.run(_run(store, config, sources, started_at, on_result))
    report = publish(store, config)
    site_report = None
    if site:
        site_report = unchanged_site(store, config)
        if site_report is None:
            from .site import build_site

            site_report = build_site(store, config, now=started_at)
    order = {s.slug: i for i, s in enumerate(sources)}
    results.sort(key=lambda r: order[r.slug])
    git = _commit(config, results) if config.git.enabled else None
    return RunReport(
        started_at, datetime.now(UTC), tuple(results), report, images, site_report, git
    )


def _due(store: Store, slug: str, now: datetime) -> bool:
    next_poll, _ = store.poll_state(slug)
    if next_poll is not None and next_poll > now:
        log.info("%s: not polled before %s", slug, next_poll.isoformat(timespec="seconds"))
        return False
    return True


def _next_poll(
    store: Store, db: sqlite3.Connection, slug: str, outcome: object, now: datetime
) -> None:
    """Record when a scheduled run may poll the source again (``schedule.next_poll_at``)."""
    _, failures = store.poll_state(slug)
    if isinstance(outcome, FetchResult):
        headers = {name.lower(): value for name, value in outcome.headers}
        status = "not_modified" if outcome.not_modified else "ok"
        max_age = parse_cache_control(headers.get("cache-control"))
        retry_after = retry_after_seconds(headers.get("retry-after"), now)
    else:
        status, max_age, retry_after = "failed", None, None
    at = next_poll_at(
        now=now,
        last_status=status,
        max_age=max_age,
        retry_after=retry_after,
        consecutive_failures=failures,
    )
    store.set_next_poll(db, slug, at)


def _commit(config: Config, results: Sequence[SourceResult]) -> GitReport:
    """Commit (and push) the archive; nothing to commit is not an error."""
    message = commit_message([(r.name, r.new, r.updated) for r in results])
    report = commit_archive(config.archive.path, message, config.git)
    if report.error:
        log.warning("git: %s", report.error)
    return report


async def _run(
    store: Store,
    config: Config,
    sources: Sequence[SourceConfig],
    now: datetime,
    on_result: OnResult | None,
) -> tuple[list[SourceResult], ImageReport]:
    workers = Workers()
    async with Fetcher(config.fetch) as fetcher:
        try:
            results = await _sources(
                store, config, sources, now=now, on_result=on_result, helpers=(fetcher, workers)
            )
        finally:
            workers.close()
        images = await _mirror_images(store, config, fetcher, now)
    return results, images


async def _sources(
    store: Store,
    config: Config,
    sources: Sequence[SourceConfig],
    *,
    now: datetime,
    on_result: OnResult | None,
    helpers: tuple[Fetcher, Workers],
) -> list[SourceResult]:
    fetcher, workers = helpers
    results: list[SourceResult] = []
    # Fetching outruns parsing and cleaning: without a bound every feed of a cold
    # run would wait in memory, body and entries (600 MB for 1,000 feeds of 600 KB).
    gate = asyncio.Semaphore(max(SOURCES_IN_FLIGHT, 2 * config.fetch.concurrency))

    async def gated(source: SourceConfig) -> SourceResult:
        async with gate:
            return await _process(store, config, fetcher, source, now, workers=workers)

    tasks = [asyncio.create_task(gated(source)) for source in sources]
    for next_done in asyncio.as_completed(tasks):
        result = await next_done
        log.info(
            "%s: %s (%d new, %d updated, %d unchanged)%s",
            result.slug,
            result.outcome,
            result.new,
            result.updated,
            result.unchanged,
            f": {result.error}" if result.error else "",
            # LogRecord has a "name" of its own: the source's goes as "source".
            extra={
                "event": "source",
                "source": result.name,
                **{k: v for k, v in vars(result).items() if k != "name"},
            },
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


async def _process(
    store: Store,
    config: Config,
    fetcher: Fetcher,
    source: SourceConfig,
    now: datetime,
    *,
    workers: Workers,
) -> SourceResult:
    try:
        outcome = await fetcher.fetch(source.url, store.http_cache(source.slug))
    except FetchError as e:
        return _fail(store, source, now, e.reason, url=e.url, status=e.status)
    if outcome.not_modified:
        with store.transaction() as db:
            store.record_success(db, source.slug, outcome.cache, now)
            store.log_fetch(db, _record(source, now, "not_modified", outcome))
            _next_poll(store, db, source.slug, outcome, now)
        return SourceResult(source.slug, source.name, "not_modified")
    # The tolerant parser is pure Python and slow on a big ill-formed feed: in a
    # worker (thread or process) it cannot stall the event loop and time out other requests.
    feed = await workers.parse(outcome)
    if isinstance(feed, ParseError):
        # The validators of a body we could not read are not kept: the next run
        # must get the body again, not a 304.
        return _fail(store, source, now, feed.reason, url=source.url, status=outcome.status)
    from .enrich import gather_content  # not needed by a run where every feed answers 304

    batch = candidates(feed.entries, source, now)
    decision = decide(batch, store.known(source.slug, batch.keys))
    jobs = await asyncio.gather(
        *(gather_content(fetcher, source, c) for c in decision.new),
        *(gather_content(fetcher, source, c) for _, c in decision.updated),
    )
    prepared_all = await workers.clean(jobs, config.archive.iframe_hosts)
    new, updated = prepared_all[: len(decision.new)], prepared_all[len(decision.new) :]
    _store(
        store,
        config,
        source,
        outcome=outcome,
        decision=decision,
        new=list(new),
        updated=list(updated),
        now=now,
    )
    for warning in feed.warnings:
        log.info("%s: %s", source.slug, warning)
    prepared = [*new, *updated]
    return SourceResult(
        source.slug,
        source.name,
        "ok",
        new=len(decision.new),
        updated=len(decision.updated),
        unchanged=decision.unchanged,
        filtered=decision.filtered,
        duplicates=decision.duplicates,
        full_text=sum(p.full_text for p in prepared),
        kept_feed=sum(1 for p in prepared if source.full_text and not p.full_text),
        cleaned=sum(p.cleaned for p in prepared),
        warnings=feed.warnings,
    )


def _store(
    store: Store,
    config: Config,
    source: SourceConfig,
    *,
    outcome: FetchResult,
    decision: Decision,
    new: list[Prepared],
    updated: list[Prepared],
    now: datetime,
) -> None:
    """One transaction: the new and updated articles, their file names, the source's state."""
    mirror = source.images == "mirror"
    with store.transaction() as db:
        unnamed = []
        for prepared in publication_order([p.candidate for p in new]):
            article_id = store.insert_article(db, source.slug, prepared, now)
            unnamed.append((article_id, prepared.published_at, prepared.title))
            if mirror:
                store.record_images(db, article_id, image_urls(prepared.content), now)
        assign_names(
            store, db, source, config.archive.path, {layout: unnamed for layout in source.layouts}
        )
        for (article_id, _), prepared_update in zip(decision.updated, updated, strict=True):
            store.update_article(db, article_id, prepared_update.candidate, now)
            if mirror:
                urls = image_urls(prepared_update.candidate.content)
                store.record_images(db, article_id, urls, now)
        store.record_success(db, source.slug, outcome.cache, now)
        _next_poll(store, db, source.slug, outcome, now)
        store.log_fetch(
            db,
            _record(
                source,
                now,
                "ok",
                outcome,
                new=len(decision.new),
                updated=len(decision.updated),
                unchanged=decision.unchanged,
                filtered=decision.filtered,
            ),
        )


async def _mirror_images(
    store: Store, config: Config, fetcher: Fetcher, now: datetime
) -> ImageReport:
    """Download the images still missing; each result is committed as it arrives."""
    pending = store.pending_images()
    if not pending:
        return ImageReport()
    limits = ImageLimits(max_bytes=config.archive.image_max_bytes)
    # Feed hosts are the operator's choice, so images there may be on a private
    # network (a test server, an intranet mirror); any other private address is refused.
    trusted = {urlsplit(s.url).hostname or "" for s in config.sources}
    downloaded, errors = 0, []
    tasks = [
        mirror_image(fetcher, url, config.archive.path, limits=limits, trusted_hosts=trusted)
        for url in pending
    ]
    for next_done in asyncio.as_completed(tasks):
        image = await next_done
        with store.transaction() as db:
            if image.path is not None:
                store.image_downloaded(
                    db,
                    image.url,
                    path=image.path,
                    content_type=image.content_type,
                    size=image.size,
                    sha256=image.sha256,
                    at=now,
                )
                downloaded += 1
            else:
                reason = image.error or "unknown error"
                store.image_failed(db, image.url, error=reason, permanent=image.permanent, at=now)
                errors.append(f"{image.url}: {reason}")
                log.info("image %s: %s", image.url, reason)
    return ImageReport(downloaded, len(errors), tuple(errors))


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
        _next_poll(store, db, source.slug, None, now)
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
