"""Enrich and clean: an entry's content made whole and safe before it is stored.

For a source with ``full_text = true`` the article's page is fetched (through
the run's ``Fetcher``: its limits, retries and per-host cap) and its body
extracted (``extract``); the feed's content is kept, with the reason recorded,
when the page cannot be had or yields less than the feed already carried.
Then the content, whichever it is, is cleaned (``clean``): URLs made absolute
against the article's URL, everything dangerous removed.

The content as received is kept beside the cleaned one (``Candidate.raw``)
when cleaning changed it (None: the content is as received), and what was
done is noted (``Candidate.note``), for the record.

Two steps: ``gather_content`` (async: it may fetch the page) and ``finish``
(pure and picklable, so that a worker process can clean, see ``work``).

Never: write to the store, publish, or let a failure here fail the source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from .clean import DEFAULT_IFRAME_HOSTS, clean_html
from .config import SourceConfig
from .decide import Candidate
from .errors import FetchError
from .extract import better_than_feed, extract_article
from .fetch import Fetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    candidate: Candidate  # content cleaned, raw and note set
    full_text: bool  # the page's body replaced the feed's content
    cleaned: bool  # something dangerous was removed


@dataclass(frozen=True)
class Cleaning:
    """What ``finish`` needs to make a candidate safe: plain data, picklable for a worker."""

    candidate: Candidate
    content: str  # the feed's content, or the page's body for full text
    base_url: str | None  # what relative URLs in ``content`` are relative to
    notes: tuple[str, ...] = ()
    full_text: bool = False


async def gather_content(fetcher: Fetcher, source: SourceConfig, candidate: Candidate) -> Cleaning:
    """The content to clean: the feed's, or for ``full_text`` the page's body when better."""
    if not source.full_text:
        return Cleaning(candidate, candidate.content, candidate.link or None)
    page_content, page_url, note = await _full_text(fetcher, source, candidate)
    if page_content is None:
        return Cleaning(candidate, candidate.content, candidate.link or None, (note,))
    return Cleaning(candidate, page_content, page_url, (note,), full_text=True)


def finish(job: Cleaning, iframe_hosts: Collection[str] | None) -> Prepared:
    """Clean the content: URLs absolute, nothing dangerous; the raw content and notes kept."""
    cleaned = clean_html(
        job.content,
        base_url=job.base_url,
        iframe_hosts=DEFAULT_IFRAME_HOSTS if iframe_hosts is None else iframe_hosts,
    )
    notes = list(job.notes)
    if cleaned.removed:
        notes.append("removed: " + ", ".join(cleaned.removed))
    prepared = replace(
        job.candidate,
        content=cleaned.html,
        # Most articles come out of clean byte for byte: storing them twice would
        # double the store and a cold run's writes, for nothing.
        raw=None if cleaned.html == job.content else job.content,
        note="; ".join(notes) or None,
    )
    return Prepared(prepared, job.full_text, bool(cleaned.removed))


def finish_all(jobs: Sequence[Cleaning], iframe_hosts: Collection[str] | None) -> list[Prepared]:
    """``finish`` for each job, in order: one call per source (to a worker process, often)."""
    return [finish(job, iframe_hosts) for job in jobs]


async def _full_text(
    fetcher: Fetcher, source: SourceConfig, candidate: Candidate
) -> tuple[str | None, str, str]:
    """(the page's body or None, the page's final URL, a note saying what happened)."""
    if not candidate.link:
        return None, "", "kept the feed's content: the entry has no link"
    try:
        page = await fetcher.fetch(candidate.link)
    except FetchError as e:
        return None, candidate.link, f"kept the feed's content: page {e.reason}"
    extraction = await asyncio.to_thread(
        extract_article,
        page.body,
        url=page.final_url,
        content_type=page.content_type,
        selector=source.selector,
    )
    if extraction.html is None:
        return None, page.final_url, f"kept the feed's content: {extraction.reason}"
    if not better_than_feed(extraction.html, candidate.content):
        return (
            None,
            page.final_url,
            f"kept the feed's content: the page's body ({extraction.method}) "
            "has no more text than the feed",
        )
    base_url = extraction.base_url or page.final_url  # the page's <base href> counts
    return extraction.html, base_url, f"full text ({extraction.method})"
