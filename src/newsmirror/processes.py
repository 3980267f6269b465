"""Worker processes, for the steps of a big run or build that would use one core only.

One place decides how they start: ``forkserver`` where there is one (Linux),
else ``spawn``; never ``fork`` from a process that holds threads and an event
loop. Workers ignore Ctrl-C, which reaches the whole process group: the
process that started them decides how to stop. They die with it, too.

A script that starts newsmirror's work from its top level needs the usual
``if __name__ == "__main__":`` guard (the workers import the main module);
without it the workers fail to start, and callers fall back to doing the work
in their own process.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
from concurrent.futures import ProcessPoolExecutor


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_pool(processes: int) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(
        processes, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    )


def _start_worker(starter: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(starter,), daemon=True).start()


def _exit_with(starter: int) -> None:
    """End this worker when the process that started it ends (Linux 5.3+: a pidfd).

    A run killed half way (SIGKILL, OOM) must not leave a worker finishing the
    search index behind it while the next run writes the same folder. The
    forkserver a worker comes from does not help: every worker keeps it alive.
    """
    try:
        descriptor = os.pidfd_open(starter)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return  # no pidfd here: the worker ends when its work does
    select.select([descriptor], [], [])
    os._exit(1)
