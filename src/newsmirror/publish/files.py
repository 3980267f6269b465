"""Writing archive files: atomically, and only when the bytes differ.

A file is written to a temporary name in its own folder and renamed over the
old one (POSIX rename is atomic), so a reader or a crash never sees half a
file. A file whose bytes would not change is not touched at all, not even its
modification time, so a run that changes nothing leaves git and rsync idle.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import PublishError

TEMP_PREFIX = ".newsmirror-"  # a leading dot: Jekyll and most tools skip such files


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically unless it already holds it; True if written."""
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    except OSError as e:
        raise PublishError(path, f"cannot read: {e.strerror}") from e
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".tmp")
    except OSError as e:
        raise PublishError(path, f"cannot create: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise PublishError(path, f"cannot write: {e.strerror}") from e
    return True


def sweep_temporary(root: Path) -> int:
    """Remove temporary files a killed run left under ``root``; returns how many.

    Only ever called by the process holding the run lock, so no other writer's
    file can be in flight. Our temporary files start with a dot and end in ``.tmp``.
    """
    removed = 0
    if not root.is_dir():
        return 0
    for folder, folders, names in os.walk(root):
        folders[:] = [f for f in folders if f != ".git"]  # git's own files are git's
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def flush_to_disk() -> None:
    """Ask the OS to write what was renamed into place, once per publish.

    One ``sync`` per run rather than an fsync per file: per-file fsync makes a
    cold run of 10,000 articles take minutes, and the store (which is synced by
    SQLite) can always re-publish a file a power cut truncated.
    """
    if hasattr(os, "sync"):
        os.sync()
