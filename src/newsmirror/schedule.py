"""Running on a schedule: ``newsmirror run --every 30m``.

Three parts, kept apart:

- :func:`parse_interval` reads ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``.
- :class:`GracefulStop` turns SIGINT/SIGTERM into a request to stop: the run in
  progress finishes its writes, then the loop ends; a second signal interrupts
  at once (KeyboardInterrupt). :func:`run_every` is the loop.
- :func:`next_poll_at` and :func:`parse_cache_control` decide, purely, when a
  source may be polled again (its feed's ``max-age``, ``Retry-After``, backoff
  after failures); the pipeline applies the answer.

Nothing here fetches, stores or formats output for a person.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import select
import signal
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import FrameType, TracebackType

from .errors import NewsmirrorError

log = logging.getLogger(__name__)

# Below a minute, polling real feeds is impolite; shorter intervals are allowed
# (tests need them) but run_every logs a warning.
POLITE_INTERVAL = timedelta(minutes=1)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_INTERVAL_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_INTERVAL = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_interval(text: str) -> timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``.

    Units d, h, m, s, largest first, each at most once; spaces are ignored.
    Seconds are allowed, but anything under a minute is meant for tests, not
    for polling real feeds.
    """
    compact = "".join(text.split()).lower()
    match = _INTERVAL.fullmatch(compact)
    if not compact or not match:
        raise ValueError(
            f"bad interval {text!r}: write numbers with units, largest first,"
            " e.g. 90s, 30m, 2h, 1d or 1h30m"
        )
    parts = {
        _INTERVAL_UNITS[unit]: int(number)
        for unit, number in zip("dhms", match.groups(), strict=True)
        if number is not None
    }
    interval = timedelta(**parts)
    if interval <= timedelta(0):
        raise ValueError(f"bad interval {text!r}: it must be longer than zero")
    return interval


class GracefulStop:
    """SIGINT/SIGTERM as a request to stop; a context manager (main thread only).

    The first signal sets :attr:`requested` and wakes :meth:`wait`; the work in
    progress goes on, and the loop ends when it is done. A second signal raises
    KeyboardInterrupt wherever the main thread is, for an impatient operator.
    Leaving the ``with`` block puts the previous handlers back.
    """

    def __init__(self, signals: Iterable[int] = STOP_SIGNALS) -> None:
        self.signals = tuple(signals)
        self.requested = False
        self.received: int | None = None  # the first signal's number
        self._previous: dict[int, object] = {}
        # A signal handler must not take a lock the interrupted code may hold
        # (threading.Event.set does), so it wakes wait() by writing a byte to a
        # socket pair instead: a plain system call, safe at any moment.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_writer.setblocking(False)

    def request(self) -> None:
        """Ask the loop to stop, as a first signal would (from any thread)."""
        self.requested = True
        # OSError: the buffer is full (so already woken) or the pair is closed.
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, waking at once if a stop is requested; True if it was."""
        if not self.requested and seconds > 0:
            # select retries after a signal whose handler returns (PEP 475), and
            # then finds the byte the handler wrote: no sleep runs to its end.
            select.select([self._wake_reader], [], [], seconds)
        return self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt(f"signal {signum} received twice")
        self.received = signum
        log.warning(
            "%s received: stopping after the work in progress (again to interrupt)",
            signal.Signals(signum).name,
        )
        self.request()

    def __enter__(self) -> GracefulStop:
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()
        self._wake_reader.close()
        self._wake_writer.close()


def jittered(interval: timedelta, jitter: float, rng: random.Random) -> timedelta:
    """``interval`` moved at random by up to ``jitter`` × itself, either way.

    Jitter keeps many mirrors started at the same minute from polling a
    server all at once.
    """
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter must be in [0, 1), not {jitter}")
    return interval * (1 + rng.uniform(-jitter, jitter))


def run_every(
    interval: timedelta,
    job: Callable[[], object],
    *,
    stop: GracefulStop,
    jitter: float = 0.1,
    on_sleep: Callable[[datetime], None] | None = None,
    rng: random.Random | None = None,
) -> int:
    """Run ``job`` now and then every ``interval`` (± ``jitter``) until ``stop``; return the runs.

    A :class:`NewsmirrorError` from ``job`` is logged and the loop goes on
    (the next run may well succeed); any other exception ends the loop.
    ``on_sleep`` is told when the next run will start; ``rng`` makes the
    jitter reproducible.
    """
    if interval <= timedelta(0):
        raise ValueError(f"interval must be longer than zero, not {interval}")
    if interval < POLITE_INTERVAL:
        log.warning("running every %s: under a minute is meant for tests", interval)
    rng = rng or random.Random()
    runs = 0
    while not stop.requested:
        try:
            job()
        except NewsmirrorError as e:
            log.error("run %d failed: %s", runs + 1, e)
        runs += 1
        if stop.requested:
            break
        delay = jittered(interval, jitter, rng)
        if on_sleep is not None:
            on_sleep(datetime.now(UTC) + delay)
        if stop.wait(delay.total_seconds()):
            break
    return runs


# ---------------------------------------------------------------------------
# When to poll a source again (pure).

POLL_STATUSES = ("ok", "not_modified", "failed")
DEFAULT_BACKOFF_BASE = timedelta(minutes=30)
DEFAULT_BACKOFF_CAP = timedelta(hours=24)
# More doublings than this exceed any cap a timedelta can hold anyway.
MAX_DOUBLINGS = 64


def next_poll_at(
    *,
    now: datetime,
    last_status: str,
    max_age: float | None,
    retry_after: float | None,
    consecutive_failures: int,
    min_interval: timedelta = timedelta(0),
    backoff_base: timedelta = DEFAULT_BACKOFF_BASE,
    backoff_cap: timedelta = DEFAULT_BACKOFF_CAP,
) -> datetime:
    """The earliest moment a source may be polled again.

    ``now`` is when its last answer came; ``last_status`` what the answer was
    (``"ok"``, ``"not_modified"`` or ``"failed"``). The source waits for the
    longest of:

    - ``min_interval`` (the configured floor);
    - after an answer (``ok``/``not_modified``), the answer's ``max-age``
      in seconds (:func:`parse_cache_control`): it is fresh until then, so
      asking earlier only costs the server (RFC 9111 §4.2);
    - ``retry_after`` seconds, whatever the status: the server asked
      (RFC 9110 §10.2.3);
    - after ``n`` consecutive failures, ``backoff_base × 2**(n-1)``: 30 min,
      1 h, 2 h, … with the defaults.

    Every wait but ``min_interval`` is capped at ``backoff_cap`` (24 h by
    default), so neither a long run of failures nor a server's year-long
    ``max-age`` can silence a source for more than a day.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if last_status not in POLL_STATUSES:
        raise ValueError(f"last_status must be one of {POLL_STATUSES}, not {last_status!r}")
    waits = [timedelta(0)]
    if last_status != "failed" and max_age is not None:
        waits.append(timedelta(seconds=max(max_age, 0)))
    if retry_after is not None:
        waits.append(timedelta(seconds=max(retry_after, 0)))
    if last_status == "failed":
        doublings = max(consecutive_failures, 1) - 1
        # In float seconds: base × 2**n overflows timedelta long before n is large,
        # and the exponent is bounded so the float stays finite.
        backoff = backoff_base.total_seconds() * 2.0 ** min(doublings, MAX_DOUBLINGS)
        waits.append(timedelta(seconds=min(backoff, backoff_cap.total_seconds())))
    return now + max(min_interval, min(max(waits), backoff_cap))


# RFC 9111 §1.2.2: a delta-seconds value too large to hold is taken as 2**31.
MAX_DELTA_SECONDS = 2_147_483_648
_DIRECTIVE = re.compile(
    r"""\s*(?P<name>[^\s=,"]+)\s*(?:=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s,"]*))?\s*(?:,|$)"""
)


def parse_cache_control(header: str | None) -> float | None:
    """How many seconds a response stays fresh for us, from its Cache-Control; None: no say.

    RFC 9111 §5.2.2: ``max-age=N`` is N seconds (a quoted ``"N"`` is accepted,
    §5.2); ``no-store`` and an unqualified ``no-cache`` mean 0 (ask again every
    time), and win over ``max-age`` (the most restrictive directive wins,
    §4.2.1). ``no-cache="Set-Cookie"`` restricts only the fields it names and
    is ignored. ``s-maxage`` is for shared caches; newsmirror is a private
    client and ignores it. A second ``max-age`` is ignored (the first one
    counts); an invalid one makes the response stale: 0 (§4.2.1).
    """
    if not header:
        return None
    max_age: float | None = None
    seen_max_age = False
    for match in _DIRECTIVE.finditer(header):
        name = match["name"].lower()
        value = match["value"]
        if name == "no-store" or (name == "no-cache" and value is None):
            return 0.0
        if name == "max-age" and not seen_max_age:
            seen_max_age = True
            digits = (value or "").strip('"')
            max_age = float(min(int(digits), MAX_DELTA_SECONDS)) if digits.isdigit() else 0.0
    return max_age
