"""Worker processes die with the process that started them (a killed run leaves none)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

STARTER = """
import sys, time
from newsmirror.processes import process_pool

if __name__ == "__main__":
    pool = process_pool(1)
    pool.submit(time.sleep, 0).result()  # the worker is up
    print(*pool._processes, flush=True)
    pool.submit(time.sleep, 120)  # busy, as a worker building the search index
    time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pidfd is Linux's")
def test_a_killed_run_takes_its_workers_with_it(tmp_path: Path) -> None:
    script = tmp_path / "starter.py"
    script.write_text(STARTER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    run = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert run.stdout is not None
    (worker,) = map(int, run.stdout.readline().split())
    assert alive(worker)
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(worker), "the worker outlived the run that started it"
