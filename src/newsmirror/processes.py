"""Worker processes, for the steps of a big run or build that would use one core only.

One place decides how they start: ``forkserver`` where there is one (Linux),
else ``spawn``; never ``fork`` from a process that holds threads and an event
loop. Workers ignore Ctrl-C, which reaches the whole process group: the
process that started them decides how to stop.

A script that starts newsmirror's work from its top level needs the usual
``if __name__ == "__main__":`` guard (the workers import the main module);
without it the workers fail to start, and callers fall back to doing the work
in their own process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_pool(processes: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(processes, mp_context=context, initializer=_ignore_interrupts)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
