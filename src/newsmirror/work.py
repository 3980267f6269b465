"""Worker processes for the CPU-heavy steps of a big run: parsing feeds and cleaning articles.

A cold run of 200 feeds × 50 articles spends most of its CPU in two pure
steps: parsing each feed and cleaning each new article. In threads they share
one core with the event loop, the store and the file writes (the GIL); in
worker processes they use the others. Each step here takes and returns plain,
picklable values and touches no store, file or network.

Starting a worker costs about 0.2 s of CPU (a Python interpreter and the parse
and clean imports), more than a run of a few small feeds spends on both steps.
So the workers start only once a run has fetched ``POOL_AFTER_BYTES`` of feed
bodies to parse: an ordinary scheduled run (a few new articles, most feeds
answering 304) starts none, and parses in a thread and cleans inline as before.
A worker that dies (killed, out of memory) costs nothing but speed: the step is
done in this process instead, and the run goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ParseError
from .models import FetchResult, ParsedFeed
from .processes import process_pool, usable_cores

if TYPE_CHECKING:
    from .enrich import Cleaning, Prepared

# Parsing and cleaning are imported when first needed (in this process or a
# worker): a run where every feed answers 304 needs neither (0.03 s of imports).

log = logging.getLogger(__name__)
T = TypeVar("T")

# Feed bodies a run must have fetched before it starts worker processes.
POOL_AFTER_BYTES = 4 * 1024 * 1024


def read_feed(body: bytes, url: str, content_type: str | None) -> ParsedFeed | str:
    """``parse_feed``, with a failure as its reason (a ParseError does not pickle back)."""
    from .parse import parse_feed

    try:
        return parse_feed(body, url=url, content_type=content_type)
    except ParseError as e:
        return e.reason


class Workers:
    """Where a run parses and cleans: worker processes once it is worth it, else here."""

    def __init__(
        self, processes: int | None = None, *, after_bytes: int = POOL_AFTER_BYTES
    ) -> None:
        self.processes = usable_cores() if processes is None else processes
        self.after_bytes = after_bytes
        self.fetched = 0
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    @property
    def started(self) -> bool:
        return self._pool is not None

    def _executor(self) -> Executor | None:
        wanted = self.processes > 1 and self.fetched >= self.after_bytes
        if self._pool is None and not self._broken and wanted:
            self._pool = process_pool(self.processes)
            log.debug("started %d worker processes", self.processes)
        return self._pool

    async def parse(self, outcome: FetchResult) -> ParsedFeed | ParseError:
        """The fetched feed parsed, or why it could not be."""
        self.fetched += len(outcome.body)
        args = (outcome.body, outcome.final_url, outcome.content_type)
        result = await self._call(read_feed, *args)
        if isinstance(result, str):
            return ParseError(outcome.final_url, result)
        return result

    async def clean(
        self, jobs: Sequence[Cleaning], iframe_hosts: Collection[str] | None
    ) -> list[Prepared]:
        """Each job cleaned (``enrich.finish``), in order."""
        from .enrich import finish_all

        if not jobs:
            return []
        if self._executor() is None:
            # Inline: cleaning a typical article takes well under a millisecond,
            # less than a hop to a thread and back costs across 10,000 articles.
            return finish_all(jobs, iframe_hosts)
        return await self._call(finish_all, list(jobs), iframe_hosts)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker process once they run, else in a thread."""
        executor = self._executor()
        if executor is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(executor, function, *args)
            except BrokenProcessPool:
                if not self._broken:  # said once, not by every call that was in flight
                    log.warning(
                        "a worker process died (or could not start: a script that runs "
                        'newsmirror needs `if __name__ == "__main__":`); parsing and '
                        "cleaning go on in this process"
                    )
                self._broken = True
                self.close(wait=False)
        return await asyncio.to_thread(function, *args)

    def close(self, *, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
