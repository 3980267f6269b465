"""Scheduling: a real loop stopped by real signals, and the polling policy on plain data."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmirror.errors import FetchError
from newsmirror.schedule import (
    MAX_DELTA_SECONDS,
    GracefulStop,
    next_poll_at,
    parse_cache_control,
    parse_interval,
    run_every,
)

SRC = Path(__file__).resolve().parents[1] / "src"
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")

# A scheduled mirror in miniature: each run prints "start N", works 0.3 s,
# prints "done N"; argv[1] is the interval in seconds.
LOOP = """
import sys, time
from datetime import timedelta
from newsmirror.schedule import GracefulStop, run_every

count = 0

def job():
    global count
    count += 1
    print(f"start {count}", flush=True)
    time.sleep(0.3)
    print(f"done {count}", flush=True)

with GracefulStop() as stop:
    print("ready", flush=True)
    runs = run_every(timedelta(seconds=float(sys.argv[1])), job, stop=stop, jitter=0)
print(f"exit {runs}", flush=True)
"""


def start_loop(interval: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LOOP, str(interval)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )


def read_until(child: subprocess.Popen[str], wanted: str) -> list[str]:
    assert child.stdout is not None
    lines = []
    while (line := child.stdout.readline()) != "":
        lines.append(line.strip())
        if lines[-1] == wanted:
            return lines
    raise AssertionError(f"{wanted!r} never came; got {lines}")


@posix_only
def test_sigterm_mid_run_finishes_the_run_then_exits() -> None:
    child = start_loop(0.2)
    try:
        read_until(child, "start 3")  # two runs done, the third in progress
        child.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        out, err = child.communicate(timeout=5)
        elapsed = time.monotonic() - sent
    finally:
        child.kill()
        child.wait()

    assert child.returncode == 0, err
    assert elapsed < 1
    runs = [line for line in out.splitlines() if line.startswith(("start", "done"))]
    assert runs[-1] == "done 3"  # the run in progress finished, no fourth began
    assert out.splitlines()[-1] == "exit 3"
    assert "SIGTERM received" in err


@posix_only
def test_sigint_while_sleeping_wakes_at_once() -> None:
    child = start_loop(30)
    try:
        read_until(child, "done 1")
        time.sleep(0.1)  # now in the 30 s sleep
        child.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, _ = child.communicate(timeout=5)
        elapsed = time.monotonic() - sent
    finally:
        child.kill()
        child.wait()

    assert child.returncode == 0
    assert elapsed < 1
    assert out.splitlines()[-1] == "exit 1"


@posix_only
def test_a_second_signal_interrupts_at_once() -> None:
    child = start_loop(0.2)
    try:
        read_until(child, "start 1")
        child.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=5)
    finally:
        child.kill()
        child.wait()

    assert child.returncode != 0
    assert "KeyboardInterrupt" in err
    assert "done 1" not in out


def test_graceful_stop_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with GracefulStop() as stop:
        assert signal.getsignal(signal.SIGTERM) == stop._handle
    assert signal.getsignal(signal.SIGTERM) == before


def test_run_every_counts_runs_and_survives_newsmirror_errors() -> None:
    wakes: list[datetime] = []
    calls = 0

    with GracefulStop(signals=()) as stop:

        def job() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise FetchError("https://example.org/feed", "503")
            if calls == 4:
                stop.request()

        runs = run_every(
            timedelta(milliseconds=10),
            job,
            stop=stop,
            jitter=0.5,
            on_sleep=wakes.append,
            rng=random.Random(1),
        )

    assert runs == calls == 4
    assert len(wakes) == 3 and all(wake.tzinfo is not None for wake in wakes)


def test_run_every_lets_other_errors_through() -> None:
    def job() -> None:
        raise RuntimeError("bug")

    with GracefulStop(signals=()) as stop, pytest.raises(RuntimeError):
        run_every(timedelta(seconds=1), job, stop=stop)


def test_wait_returns_at_once_when_requested() -> None:
    with GracefulStop(signals=()) as stop:
        assert stop.wait(0.01) is False
        stop.request()
        started = time.monotonic()
        assert stop.wait(30) is True
        assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_parse_interval(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize("text", ["", "30", "m", "30x", "30m1h", "1.5h", "-5m", "0m", "1h1h"])
def test_parse_interval_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="bad interval"):
        parse_interval(text)


def poll(**changes: object) -> timedelta:
    arguments: dict[str, object] = {
        "now": NOW,
        "last_status": "ok",
        "max_age": None,
        "retry_after": None,
        "consecutive_failures": 0,
    }
    arguments.update(changes)
    return next_poll_at(**arguments) - NOW  # type: ignore[arg-type]


def test_next_poll_at_honours_freshness_and_the_floor() -> None:
    assert poll() == timedelta(0)
    assert poll(max_age=600) == timedelta(minutes=10)
    assert poll(last_status="not_modified", max_age=600) == timedelta(minutes=10)
    assert poll(max_age=600, min_interval=timedelta(hours=1)) == timedelta(hours=1)
    assert poll(max_age=10 * 365 * 86400) == timedelta(hours=24)  # capped
    assert poll(max_age=-5) == timedelta(0)


def test_next_poll_at_honours_retry_after() -> None:
    assert poll(retry_after=120) == timedelta(minutes=2)
    assert poll(retry_after=120, max_age=60) == timedelta(minutes=2)
    assert poll(last_status="failed", consecutive_failures=1, retry_after=7200) == timedelta(
        hours=2
    )


def test_next_poll_at_backs_off_after_failures() -> None:
    waits = [poll(last_status="failed", consecutive_failures=n) for n in range(1, 9)]
    assert waits == [timedelta(minutes=30 * 2**k) for k in range(6)] + [timedelta(hours=24)] * 2
    assert poll(last_status="failed", consecutive_failures=10_000) == timedelta(hours=24)
    # max-age belongs to an answer; a failure has none to honour.
    assert poll(last_status="failed", consecutive_failures=1, max_age=86400) == timedelta(
        minutes=30
    )
    custom = poll(
        last_status="failed",
        consecutive_failures=3,
        backoff_base=timedelta(minutes=1),
        backoff_cap=timedelta(minutes=3),
    )
    assert custom == timedelta(minutes=3)


def test_next_poll_at_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        poll(last_status="gone")
    with pytest.raises(ValueError):
        poll(now=datetime(2026, 11, 21, 10, 0))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("public", None),
        ("max-age=300", 300.0),
        ("public, max-age=300", 300.0),
        ("Max-Age=300", 300.0),
        ('max-age="300"', 300.0),
        ("s-maxage=60", None),
        ("s-maxage=60, max-age=300", 300.0),
        ("max-age=300, no-cache", 0.0),
        ("no-store", 0.0),
        ("private, no-cache", 0.0),
        ('no-cache="Set-Cookie, X-Foo", max-age=300', 300.0),
        ("max-age=300, max-age=10", 300.0),
        ("max-age=abc", 0.0),
        ("max-age=-1", 0.0),
        ("max-age", 0.0),
        ("max-age=99999999999999", float(MAX_DELTA_SECONDS)),
    ],
)
def test_parse_cache_control(header: str | None, expected: float | None) -> None:
    assert parse_cache_control(header) == expected
