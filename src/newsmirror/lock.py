"""One run at a time: an OS lock on a file beside the store.

``RunLock(store_path + ".lock", "newsmirror run")`` takes an exclusive
``flock`` on the lock file and keeps the file open while it holds it. The
kernel drops the lock when the holder's file is closed, which happens when the
process dies however it dies (SIGKILL included), so a crashed run never blocks
the next one and there is no stale-lock clean-up to get wrong. What the file
*contains* — the holder's pid, host, command and start time, as JSON — is only
there so that a second process can say who is in the way; it never decides
anything, so stale JSON left by a dead process is harmless.

The lock file is never deleted: unlinking it would let a third process lock a
new file of the same name while a second one still waits on the old one.

POSIX only (``fcntl``). On Windows :meth:`RunLock.acquire` raises
:class:`~newsmirror.errors.NewsmirrorError`; a ``msvcrt.locking`` fallback is
not written yet.

This module never looks at the store itself and never kills or signals the
holder.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from .errors import NewsmirrorError, StoreError

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

# How often a waiting acquire tries the lock again: short enough that a run
# starts soon after the previous one ends, long enough to cost nothing.
POLL_INTERVAL = 0.1
# The JSON a holder writes is a few hundred bytes; anything larger is not ours.
MAX_HOLDER_BYTES = 64 * 1024


@dataclass(frozen=True)
class LockHolder:
    """The process holding a lock, as it described itself in the lock file."""

    pid: int
    host: str
    command: str
    started_at: datetime  # UTC-aware

    def describe(self) -> str:
        started = self.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"pid {self.pid} on {self.host}, `{self.command}`, started {started}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "host": self.host,
                "command": self.command,
                "started_at": self.started_at.isoformat(),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LockHolder | None:
        """The holder ``text`` describes, or None if it is empty, partial or not ours."""
        try:
            data = json.loads(text)
            started_at = datetime.fromisoformat(data["started_at"])
            holder = cls(
                pid=int(data["pid"]),
                host=str(data["host"]),
                command=str(data["command"]),
                started_at=started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC),
            )
        except (ValueError, TypeError, KeyError):
            return None
        return holder


class LockedError(NewsmirrorError):
    """Another process holds the lock (and, with ``wait``, kept it past the timeout)."""

    def __init__(self, resource: object, holder: LockHolder | None, *, waited: float = 0) -> None:
        self.resource = str(resource)
        self.holder = holder
        who = f"another newsmirror ({holder.describe()})" if holder else "another newsmirror"
        if waited:
            advice = f"it is still running after {waited:g} s of waiting"
        else:
            advice = "wait for it or use --wait"
        super().__init__(f"{who} is using {self.resource}; {advice}")


def read_holder(path: Path) -> LockHolder | None:
    """Who the lock file at ``path`` says holds it (None if it says nothing usable).

    The answer may be stale: only the lock itself says whether anyone holds it.
    """
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_HOLDER_BYTES)
    except OSError:
        return None
    return LockHolder.from_json(raw.decode("utf-8", errors="replace"))


class RunLock:
    """An exclusive, process-wide lock on ``path``; a context manager.

    ``command`` is what the holder tells a second process it is doing
    (e.g. ``"newsmirror run"``). The lock conflicts with every other
    :class:`RunLock` on the same file, in this process or another.
    """

    def __init__(self, path: Path, command: str) -> None:
        self.path = Path(path)
        self.command = command
        self._fd: int | None = None
        # Whether the holder before us stopped without releasing (killed, or an error
        # interrupted its work): only then may it have left half-written files.
        self.previous_unfinished = False

    @property
    def resource(self) -> Path:
        """What the lock guards, for messages: the lock file's name without ``.lock``."""
        return self.path.with_suffix("") if self.path.suffix == ".lock" else self.path

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, wait: bool = False, timeout: float | None = None) -> None:
        """Take the lock, or raise :class:`LockedError` naming its holder.

        With ``wait`` keep trying until it is free, for at most ``timeout``
        seconds (None: for ever).
        """
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this RunLock")
        if sys.platform == "win32":
            raise NewsmirrorError(f"{self.path}: run locks need fcntl (POSIX); not on Windows yet")
        started = time.monotonic()
        fd = self._open()
        try:
            while not self._try_lock(fd):
                waited = time.monotonic() - started
                if not wait or (timeout is not None and waited >= timeout):
                    raise LockedError(
                        self.resource, read_holder(self.path), waited=waited if wait else 0
                    )
                pause = POLL_INTERVAL if timeout is None else min(POLL_INTERVAL, timeout - waited)
                time.sleep(max(pause, 0))
            self.previous_unfinished = bool(os.pread(fd, 1, 0))
            self._write_holder(fd)
        except BaseException:
            os.close(fd)  # closing drops the lock too, if we had taken it
            raise
        self._fd = fd
        log.debug("locked %s for %s", self.path, self.command)

    def release(self, *, finished: bool = True) -> None:
        """Let the lock go (a no-op when not held).

        ``finished``: the work under the lock ran to its end. The file is then
        emptied, which tells the next holder there is nothing to tidy up after
        us; otherwise our holder record stays, as a killed process's does.
        """
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if finished:
                # Empty the file first, so nobody reads us as the holder afterwards.
                os.ftruncate(fd, 0)
        except OSError as e:
            log.debug("could not empty %s: %s", self.path, e)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock
        log.debug("released %s", self.path)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as e:
            raise StoreError(self.path, f"cannot open the lock file: {e.strerror or e}") from e

    def _try_lock(self, fd: int) -> bool:
        if sys.platform == "win32":  # pragma: no cover - refused in acquire
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as e:
            raise StoreError(self.path, f"cannot lock: {e.strerror or e}") from e
        return True

    def _write_holder(self, fd: int) -> None:
        holder = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=self.command,
            started_at=datetime.now(UTC),
        )
        data = holder.to_json().encode("utf-8")
        try:
            # Unbuffered writes: another process reading the file sees them at once.
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError as e:
            raise StoreError(self.path, f"cannot write the lock file: {e.strerror or e}") from e
