"""The library's face: ``open_mirror(config)`` gives a :class:`Mirror`, the whole API.

The CLI is a thin shell over it; so can any other program be.

    from newsmirror import open_mirror
    with open_mirror("newsmirror.toml") as mirror:
        report = mirror.run()
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, find_config, load_config
from .errors import ConfigError
from .health import RHYTHM_SAMPLE, silence
from .lock import RunLock
from .publish import PublishReport, publish
from .publish.files import sweep_temporary
from .store import Store, StoredSource, open_store

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the pipeline imports the HTTP client: only `run` needs it
    from .pipeline import OnResult, RunReport
    from .search import SearchHit
    from .site import SiteReport


@dataclass(frozen=True)
class SourceStatus:
    """A source's health, for ``newsmirror status``."""

    slug: str
    name: str
    url: str
    configured: bool
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    articles: int
    last_7_days: int
    warning: str | None = None  # e.g. silent far longer than its usual rhythm


class Mirror:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.config.archive.store)
        return self._store

    def run(
        self,
        sources: Sequence[str] | None = None,
        *,
        now: datetime | None = None,
        on_result: OnResult | None = None,
        scheduled: bool = False,
        wait: bool = False,
        site: bool = True,
    ) -> RunReport:
        """Fetch every source (or those named), store what is new, publish the files.

        Holds the archive's run lock throughout: a second run or build on the
        same archive fails at once naming this one (or, with ``wait``, waits).
        """
        if sources:
            known = {s.slug for s in self.config.sources}
            unknown = [slug for slug in sources if slug not in known]
            if unknown:
                raise ConfigError(
                    self.config.path,
                    f"no source with slug {', '.join(map(repr, unknown))}; "
                    f"known: {', '.join(sorted(known))}",
                )
        from . import pipeline

        with self.lock("newsmirror run", wait=wait):
            return pipeline.run(
                self.store,
                self.config,
                slugs=sources,
                now=now,
                on_result=on_result,
                scheduled=scheduled,
                site=site,
            )

    def build(self, *, wait: bool = False) -> tuple[PublishReport, SiteReport]:
        """Write every archive file and site page again (only changed bytes touch disk)."""
        from .site import build_site

        with self.lock("newsmirror build", wait=wait):
            self.store.sync_sources((s.slug, s.name, s.url) for s in self.config.sources)
            report = publish(self.store, self.config, everything=True)
            return report, build_site(self.store, self.config, everything=True)

    @contextmanager
    def lock(self, command: str, *, wait: bool = False) -> Iterator[RunLock]:
        """Hold the archive's run lock (a file beside the store) for the block.

        Holding it, no other writer can be half way through a file: when the
        previous holder did not finish (killed, or interrupted by an error),
        temporary files left in the archive or the site are its, and go. A
        previous run that finished left none, and the folders are not walked:
        that walk grows with the archive (0.05 s at 20,000 files).
        """
        store = self.config.archive.store
        lock = RunLock(store.with_name(store.name + ".lock"), command)
        lock.acquire(wait=wait)
        finished = False
        try:
            if lock.previous_unfinished:
                for folder in (self.config.archive.path, self.config.site.path):
                    if swept := sweep_temporary(folder):
                        log.info("removed %d temporary files an unfinished run left in %s",
                                 swept, folder)  # fmt: skip
            yield lock
            finished = True
        finally:
            lock.release(finished=finished)

    def search(self, query: str, *, limit: int = 20, source: str | None = None) -> list[SearchHit]:
        """Articles whose title or text holds every word of ``query``, titles first."""
        from .search import search_store

        return search_store(self.store.db, query, limit=limit, source=source)

    def status(self, now: datetime | None = None) -> list[SourceStatus]:
        now = now or datetime.now(UTC)
        self.store.sync_sources((s.slug, s.name, s.url) for s in self.config.sources)
        configured = {s.slug for s in self.config.sources}
        order = {s.slug: i for i, s in enumerate(self.config.sources)}
        stored: list[StoredSource] = sorted(
            self.store.sources(now), key=lambda s: (order.get(s.slug, len(order)), s.slug)
        )
        return [
            SourceStatus(
                slug=s.slug,
                name=s.name,
                url=s.url,
                configured=s.slug in configured,
                last_success_at=s.last_success_at,
                last_error=s.last_error,
                last_error_at=s.last_error_at,
                consecutive_failures=s.consecutive_failures,
                articles=s.article_count,
                last_7_days=s.last_7_days,
                warning=silence(self.store.recent_published(s.slug, RHYTHM_SAMPLE), now),
            )
            for s in stored
        ]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_mirror(config: Config | str | os.PathLike[str] | None = None) -> Mirror:
    """A Mirror for a Config, a config file's path, or the default config file."""
    if not isinstance(config, Config):
        config = load_config(find_config(config if config is None else Path(config)))
    return Mirror(config)
