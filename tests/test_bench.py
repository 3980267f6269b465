"""Smoke test of ``bench/peers.py`` on a tiny farm: it runs and writes the expected keys.

Never asserts on times: only that the harness works and counts what it should.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PEERS = Path(__file__).resolve().parents[1] / "bench" / "peers.py"

pytest.importorskip("aiohttp")


def test_peers_harness_on_a_tiny_farm(tmp_path: Path) -> None:
    out = tmp_path / "results"
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [
            *(sys.executable, str(PEERS), "--feeds", "3", "--items", "5"),
            *(
                "--skip-scale",
                "--skip-peers",
                "--no-profile",
                "--dir",
                str(work),
                "--out",
                str(out),
            ),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    data = json.loads((out / "peers.json").read_text())
    assert {"meta", "runs", "ratios", "scale", "scale_growth"} <= data.keys()
    assert {"date", "python", "cpus", "feeds", "items", "workers"} <= data["meta"].keys()
    runs = data["runs"]["newsmirror"]
    assert set(runs) == {"cold", "warm", "5% new", "cold, --no-site"}
    for run in runs.values():
        assert {"wall_s", "cpu_s", "peak_rss_mb", "cpu_ms_per_feed", "exit"} <= run.keys()
    assert runs["cold"]["articles_in_store"] == 15
    assert runs["cold, --no-site"]["articles_in_store"] == 15
    assert runs["cold, --no-site"]["site_files"] == 0
    assert 0 < runs["cold"]["store_s"] <= runs["cold"]["wall_s"]
    assert runs["cold"]["farm_200"] == 3
    assert runs["warm"]["farm_304"] == 3  # nothing changed: every feed answered 304
    assert runs["5% new"]["articles"] == 1  # round(5% of 15)
    assert "| newsmirror | cold |" in (out / "peers.md").read_text()
    assert list(work.iterdir()) == []  # the work folders are removed
