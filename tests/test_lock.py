"""The run lock, against real processes: busy, waited for, freed by a kill, not fooled by stale JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror.lock import LockedError, LockHolder, RunLock, read_holder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="run locks are POSIX only")

SRC = Path(__file__).resolve().parents[1] / "src"

# A second process holding the lock: prints "locked" once it does, holds it
# for argv[2] seconds, then lets it go and exits.
HOLDER = """
import sys, time
from pathlib import Path
from newsmirror.lock import RunLock
lock = RunLock(Path(sys.argv[1]), "newsmirror run")
lock.acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
lock.release()
"""


def start_holder(lock_path: Path, hold_seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_path), str(hold_seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    return child


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.sqlite.lock"


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout:
            child.stdout.close()


def test_busy_lock_names_the_holder(lock_path: Path, children: list[subprocess.Popen[str]]) -> None:
    child = start_holder(lock_path, 30)
    children.append(child)

    with pytest.raises(LockedError) as caught:
        RunLock(lock_path, "newsmirror build").acquire()

    holder = caught.value.holder
    assert holder is not None
    assert holder.pid == child.pid
    assert holder.command == "newsmirror run"
    message = str(caught.value)
    assert message.startswith(f"another newsmirror (pid {child.pid} on ")
    assert "`newsmirror run`, started " in message and " UTC) is using " in message
    assert message.endswith(f"is using {lock_path.with_suffix('')}; wait for it or use --wait")


def test_wait_acquires_when_the_holder_exits(
    lock_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    children.append(start_holder(lock_path, 1))
    lock = RunLock(lock_path, "newsmirror run")
    started = time.monotonic()

    lock.acquire(wait=True, timeout=20)

    try:
        assert time.monotonic() - started > 0.5
        holder = read_holder(lock_path)
        assert holder is not None and holder.pid == os.getpid()
    finally:
        lock.release()


def test_wait_gives_up_after_the_timeout(
    lock_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    child = start_holder(lock_path, 30)
    children.append(child)
    started = time.monotonic()

    with pytest.raises(LockedError) as caught:
        RunLock(lock_path, "newsmirror run").acquire(wait=True, timeout=0.3)

    assert 0.3 <= time.monotonic() - started < 5
    assert caught.value.holder is not None and caught.value.holder.pid == child.pid
    assert "still running after" in str(caught.value)


def test_a_killed_holder_never_blocks(
    lock_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    child = start_holder(lock_path, 60)
    children.append(child)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)

    # The dead child's JSON is still there; the lock is free all the same.
    stale = read_holder(lock_path)
    assert stale is not None and stale.pid == child.pid
    with RunLock(lock_path, "newsmirror run") as lock:
        assert lock.held
        holder = read_holder(lock_path)
        assert holder is not None and holder.pid == os.getpid()


def test_stale_json_from_a_dead_pid_does_not_block(lock_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid now names no process of ours
    lock_path.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "host": "elsewhere",
                "command": "newsmirror run",
                "started_at": "2026-11-21T10:00:00+00:00",
            }
        )
    )

    with RunLock(lock_path, "newsmirror build"):
        holder = read_holder(lock_path)
        assert holder is not None
        assert (holder.pid, holder.command) == (os.getpid(), "newsmirror build")
    assert lock_path.read_text() == ""  # released: nobody is named any more


def test_two_locks_in_one_process_conflict(lock_path: Path) -> None:
    with RunLock(lock_path, "newsmirror run"):
        with pytest.raises(LockedError) as caught:
            RunLock(lock_path, "newsmirror run").acquire()
        assert caught.value.holder is not None
        assert caught.value.holder.pid == os.getpid()
    with RunLock(lock_path, "newsmirror run"):
        pass


def test_release_is_idempotent_and_reacquire_works(lock_path: Path) -> None:
    lock = RunLock(lock_path, "newsmirror run")
    lock.acquire()
    with pytest.raises(RuntimeError):
        lock.acquire()
    lock.release()
    lock.release()
    assert not lock.held
    lock.acquire()
    lock.release()


def test_holder_json_round_trips_and_garbage_is_none() -> None:
    holder = LockHolder(7, "host", "newsmirror run", datetime(2026, 11, 21, 10, 0, tzinfo=UTC))
    assert LockHolder.from_json(holder.to_json()) == holder
    assert holder.describe() == "pid 7 on host, `newsmirror run`, started 2026-11-21 10:00 UTC"
    for garbage in ("", '{"pid": 1', "[]", '{"pid": "x", "host": "h"}'):
        assert LockHolder.from_json(garbage) is None


def test_unknown_holder_message(lock_path: Path) -> None:
    error = LockedError(lock_path.with_suffix(""), None)
    assert str(error) == (
        f"another newsmirror is using {lock_path.with_suffix('')}; wait for it or use --wait"
    )


def test_the_next_holder_knows_whether_the_last_one_finished(tmp_path: Path) -> None:
    """An emptied lock file: the last holder finished, so there is nothing to tidy up."""
    path = tmp_path / "store.sqlite.lock"
    first = RunLock(path, "newsmirror run")
    first.acquire()
    assert not first.previous_unfinished  # a new lock file
    first.release(finished=False)  # an error stopped its work half way
    second = RunLock(path, "newsmirror build")
    second.acquire()
    assert second.previous_unfinished
    second.release()
    assert path.read_bytes() == b""
    third = RunLock(path, "newsmirror run")
    third.acquire()
    assert not third.previous_unfinished
    third.release()


def test_temporary_files_of_an_interrupted_run_go_at_the_next_lock(tmp_path: Path) -> None:
    from newsmirror import open_mirror

    from .feedkit import write_config

    config = write_config(tmp_path, [{"name": "甲", "slug": "a", "url": "http://127.0.0.1:9/f"}])
    leftover = tmp_path / "archive" / "articles" / "a" / ".newsmirror-99-1.tmp"
    with open_mirror(config) as mirror:
        with pytest.raises(RuntimeError), mirror.lock("newsmirror run"):
            leftover.parent.mkdir(parents=True)
            leftover.write_text("half a file", encoding="utf-8")
            raise RuntimeError("interrupted half way")
        with mirror.lock("newsmirror build"):
            assert not leftover.exists()
        # That holder finished: the next one does not walk the folders.
        leftover.write_text("planted by hand", encoding="utf-8")
        with mirror.lock("newsmirror run"):
            assert leftover.exists()
