"""Enrich and clean: an entry's content made whole and safe before it is stored.

For a source with ``full_text = true`` the article's page is fetched (through
the run's ``Fetcher``: its limits, retries and per-host cap) and its body
extracted (``extract``); the feed's content is kept, with the reason recorded,
when the page cannot be had or yields less than the feed already carried.
Then the content, whichever it is, is cleaned (``clean``): URLs made absolute
against the article's URL, everything dangerous removed.

The content as received is kept beside the cleaned one (``Candidate.raw``),
and what was done is noted (``Candidate.note``), for the record.

Never: write to the store, publish, or let a failure here fail the source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
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


async def prepare(
    fetcher: Fetcher,
    source: SourceConfig,
    candidate: Candidate,
    iframe_hosts: Collection[str] | None,
) -> Prepared:
    """Full text (when the source asks for it), then clean."""
    content, notes, full_text = candidate.content, [], False
    base_url = candidate.link or None
    if source.full_text:
        page_content, page_url, note = await _full_text(fetcher, source, candidate)
        notes.append(note)
        if page_content is not None:
            content, full_text = page_content, True
            base_url = page_url
    # Inline, not in a thread: cleaning a typical article takes well under a
    # millisecond, less than a thread hop costs across 10,000 articles.
    cleaned = clean_html(
        content,
        base_url=base_url,
        iframe_hosts=DEFAULT_IFRAME_HOSTS if iframe_hosts is None else iframe_hosts,
    )
    if cleaned.removed:
        notes.append("removed: " + ", ".join(cleaned.removed))
    prepared = replace(
        candidate,
        content=cleaned.html,
        raw=content,
        note="; ".join(notes) or None,
    )
    return Prepared(prepared, full_text, bool(cleaned.removed))


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
