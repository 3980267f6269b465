"""Dates: a feed's date string → a UTC-aware datetime, by strict rules.

Reads RFC 822 / RFC 2822 (RSS 2.0's pubDate), ISO 8601 / RFC 3339 (Atom, JSON
Feed) and numeric or Chinese dates such as "2025年2月1日 23:05"; a date without
a zone is UTC, as feedparser reads it. It must never guess: a value missing its
year or day, too long to be a date or out of range gives None, never the time of
the run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from typing import Any

# Longer date strings are not dates; this also bounds the loose date regex.
MAX_DATE_CHARS = 100
_LOOSE_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\D{0,12}?(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)


def parse_datetime(value: Any) -> datetime | None:
    """A UTC datetime from RFC 822, ISO 8601 / RFC 3339 or a numeric / Chinese date.

    Nothing is guessed: a value without a year or a day gives None. A value
    without a zone is read as UTC, as feedparser does.
    """
    if not isinstance(value, str) or not (text := value.strip()) or len(text) > MAX_DATE_CHARS:
        return None
    parsed: datetime | None = None
    if text[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    elif fields := parsedate_tz(text):  # RFC 822 §5 / RFC 2822 §3.3, RSS 2.0's pubDate
        try:
            parsed = datetime(*fields[:6], tzinfo=timezone(timedelta(seconds=fields[9] or 0)))
        except (ValueError, OverflowError):
            parsed = None
    if parsed is None:
        parsed = _parse_loose(text)
    try:
        return parsed and (
            parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        )
    except (ValueError, OverflowError):
        return None


def _parse_loose(text: str) -> datetime | None:
    """ "2025-2-1 9:00:00", "星期六，2025年2月1日23:05:24 -0500" and the like."""
    match = _LOOSE_DATE.search(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    offset = timedelta(0)
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = -offset if zone[0] == "-" else offset
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    except (ValueError, OverflowError):
        return None
