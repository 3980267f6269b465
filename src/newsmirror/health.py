"""Health: is a source dying? Pure judgements over what the store knows of it.

A source is *silent* when its newest article is far older than its usual rhythm
(the median gap between its recent articles) would have it: a feed that posts
hourly and has said nothing for two days is likely broken even if it answers
200. Nothing here reads a clock or the store; callers pass ``now`` and times.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

# The gaps between this many recent articles make a source's rhythm.
RHYTHM_SAMPLE = 20
# Silent when quiet for this many usual gaps...
SILENT_FACTOR = 4
# ...but never before a day: a daily column is not dead at hour 25.
SILENT_MINIMUM = timedelta(days=1)
# A source with fewer articles than this has no rhythm to judge by.
MIN_ARTICLES = 3


def usual_gap(published: Sequence[datetime]) -> timedelta | None:
    """The median gap between the newest ``RHYTHM_SAMPLE`` publication times."""
    recent = sorted(published, reverse=True)[:RHYTHM_SAMPLE]
    if len(recent) < MIN_ARTICLES:
        return None
    seconds = [(newer - older).total_seconds() for newer, older in pairwise(recent)]
    return timedelta(seconds=median(seconds))


def silence(published: Sequence[datetime], now: datetime) -> str | None:
    """A warning when the source has been quiet far longer than usual, else None."""
    gap = usual_gap(published)
    if gap is None:
        return None
    quiet = now - max(published)
    limit = max(gap * SILENT_FACTOR, SILENT_MINIMUM)
    if quiet <= limit:
        return None
    return f"silent for {_span(quiet)}; it usually publishes every {_span(gap)}"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 2 * 86_400:
        return f"{seconds // 86_400} days"
    if seconds >= 2 * 3_600:
        return f"{seconds // 3_600} hours"
    return f"{max(seconds // 60, 1)} minutes"
