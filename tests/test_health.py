"""Health judgements: a source silent far longer than its usual rhythm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmirror.health import silence, usual_gap

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def hourly(count: int, last: datetime) -> list[datetime]:
    return [last - timedelta(hours=n) for n in range(count)]


def test_usual_gap_is_the_median_of_recent_gaps() -> None:
    assert usual_gap(hourly(10, NOW)) == timedelta(hours=1)
    assert usual_gap(hourly(2, NOW)) is None


def test_an_hourly_source_quiet_for_two_days_is_silent() -> None:
    warning = silence(hourly(30, NOW - timedelta(days=2)), NOW)
    assert warning == "silent for 2 days; it usually publishes every 60 minutes"


def test_quiet_within_its_rhythm_or_under_a_day_is_fine() -> None:
    assert silence(hourly(30, NOW - timedelta(hours=3)), NOW) is None
    assert silence(hourly(30, NOW - timedelta(hours=20)), NOW) is None  # under a day
    weekly = [NOW - timedelta(days=7 * n + 3) for n in range(10)]
    assert silence(weekly, NOW) is None
    assert silence([], NOW) is None
