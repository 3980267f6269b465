"""newsmirror against its peers (reader, a plain feedparser loop), on the same feed farm.

    python bench/peers.py [--feeds 200] [--items 50] [--workers 16] [--dir PATH]
                          [--skip-peers] [--skip-scale] [--scale 20x50,200x50,1000x50]
                          [--no-profile]

Starts ``bench/farm.py`` (aiohttp, its own process) with FEEDS feeds of ITEMS
items, then runs each tool in a child process, in a session of its own, and
measures its wall time, and the user + system CPU and peak memory of its whole
process tree: newsmirror starts worker processes for big runs and builds, which
must count. CPU: this script makes itself the "child subreaper" of what it
starts (Linux), reaps every process of the run and reads ``RUSAGE_CHILDREN``;
memory: the summed RSS of the session's processes, sampled every 20 ms:

- newsmirror (``python -m newsmirror -q --config ... run``, both layouts,
  jekyll and markdown, and the run also builds the static site): cold (empty
  store, new folder), warm (nothing changed: every feed answers 304), and
  after the farm switches to a version where 5% of the items are new; also a
  cold ``run --no-site`` in another new folder (fetch, parse, clean, store and
  write both layouts: the part of a run that compares with what reader does).
  From each run's ``--log-file`` the time of its last source event gives
  ``store_s``: start to every article stored (the files and site come after);
- reader (``make_reader``, ``add_feed`` x FEEDS, ``update_feeds(workers=W,
  scheduled=False)``): cold, warm, 5% new;
- a plain feedparser loop (``feedparser.parse(url)`` one feed after the
  other, one Markdown file per entry named by its title): cold, and a re-run
  (it has no conditional requests: it fetches and writes everything again);
- scale: newsmirror cold runs at each size of ``--scale`` (a new farm each),
  then a warm run, then a run adding the same ``SCALE_NEW`` (500) articles to
  each store: its peak memory, against the store's size, shows whether a run's
  memory depends on what the store already holds. (At the main size the
  5%-new run is that run: 5% of 10,000 is 500.)

Every measurement gets a fresh temporary folder (never made right after an
``rm -rf`` of a big tree; the folders are removed at the very end). Writes
``bench/results/peers.md`` and ``bench/results/peers.json`` and prints the
table. Not run by the test suite (``tests/test_bench.py`` runs a tiny farm).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
RESULTS = HERE / "results"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Articles a scale run adds to each store, whatever its size.
SCALE_NEW = 500


# -- the farm ----------------------------------------------------------------------------------
class FarmProcess:
    """``bench/farm.py`` in a child process, listening on 127.0.0.1."""

    def __init__(self, feeds: int, items: int) -> None:
        self.feeds, self.items = feeds, items
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "farm.py"), "--feeds", str(feeds), "--items", str(items)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"the farm did not start: {line!r}")
        self.port = int(line.split()[1])
        self.startup = time.perf_counter() - started

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{n}.xml"

    def urls(self) -> list[str]:
        return [self.url(n) for n in range(self.feeds)]

    def control(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)

    def set_version(self, version: int, new: int | None = None) -> dict[str, Any]:
        extra = "" if new is None else f"&new={new}"
        return self.control(f"/_control/version?v={version}{extra}", "POST")

    def cpu(self) -> float:
        """The farm's user + system CPU seconds so far."""
        fields = proc_stat(self.proc.pid)
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def proc_stat(pid: int) -> list[str]:
    """``/proc/PID/stat`` after the command name: [0] state, [3] session, [11] utime,
    [12] stime (clock ticks), [21] RSS (pages)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


# -- measuring a child -------------------------------------------------------------------------
def become_subreaper() -> bool:
    """Make orphaned descendants of a measured run (a run's worker processes, which
    outlive it by a moment) this script's children, so that reaping them adds their
    CPU to ``RUSAGE_CHILDREN``. Linux only (``PR_SET_CHILD_SUBREAPER``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def session_processes(session: int) -> dict[int, int]:
    """pid → resident KB of every live process in ``session`` (``/proc/*/stat``)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = proc_stat(int(entry.name))
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found[int(entry.name)] = int(fields[21]) * PAGE_KB
    return found


class TreeMemory(threading.Thread):
    """The peak, over the run, of the summed RSS of every process in its session
    (the run, its worker processes, a forkserver), sampled every 20 ms."""

    def __init__(self, session: int) -> None:
        super().__init__(daemon=True)
        self.session = session
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, sum(session_processes(self.session).values()))
            self.done.wait(0.02)


def reap_session(session: int, timeout: float = 30) -> None:
    """Wait for the run's leftover processes to exit and reap those that were ours."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if not session_processes(session) or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def measure(cmd: list[str], farm: FarmProcess, cwd: Path, log: Path) -> dict[str, Any]:
    """Run ``cmd`` in a session of its own; wall time, CPU and peak memory of the whole
    process tree (the run and any worker processes it starts), and the farm's CPU."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1"}
    farm.control("/_control/stats")  # the farm is up and idle
    farm_cpu = farm.cpu()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        memory = TreeMemory(proc.pid)
        memory.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    reap_session(proc.pid)
    memory.done.set()
    memory.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stats = farm.control("/_control/stats")
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    result = {
        "wall_s": round(wall, 3),
        "user_s": round(user, 3),
        "sys_s": round(system, 3),
        "cpu_s": round(user + system, 3),
        # The sampled peak can miss a spike shorter than 20 ms; never below the main
        # process's own peak.
        "peak_rss_mb": round(max(memory.peak_kb, usage.ru_maxrss) / 1024, 1),
        "main_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "farm_cpu_s": round(farm.cpu() - farm_cpu, 3),
        "farm_200": stats["200"],
        "farm_304": stats["304"],
        "exit": proc.returncode,
    }
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    farm.set_version(farm_version(stats))  # resets the counters, keeps the version
    return result


def farm_version(stats: dict[str, Any]) -> int:
    return int(stats["version"])


def fresh_dir(base: Path | None, name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"nm-peers-{name}-", dir=base))


# -- newsmirror --------------------------------------------------------------------------------
def newsmirror_config(folder: Path, farm: FarmProcess, workers: int) -> Path:
    lines = [
        "[archive]",
        'path = "archive"',
        'store = "store.sqlite"',
        'layouts = ["jekyll", "markdown"]',
        "",
        "[site]",
        'path = "site"',
        "",
        "[fetch]",
        f"concurrency = {workers}",
        f"per_host = {workers}",  # every farm feed is on 127.0.0.1; real feeds are on many hosts
    ]
    for n, url in enumerate(farm.urls()):
        lines += ["", "[[source]]", f'name = "农场新闻台{n:04d}"', f'slug = "farm-{n:04d}"']
        lines.append(f'url = "{url}"')
    path = folder / "newsmirror.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored_after(events: Path, started: float) -> float | None:
    """Seconds from the start of the run to its last source event (every article stored)."""
    last = None
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event.get("event") == "source":
            last = datetime.fromisoformat(event["time"]).timestamp()
    return round(last - started, 3) if last is not None else None


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder)) if folder.exists() else 0


def run_newsmirror(folder: Path, farm: FarmProcess, phase: str, *options: str) -> dict[str, Any]:
    config = folder / "newsmirror.toml"
    events = folder / f"events-{phase}.jsonl"
    cmd = [sys.executable, "-m", "newsmirror", "-q", "--config", str(config)]
    cmd += ["--log-file", str(events), "run", *options]
    started = time.time()
    result = measure(cmd, farm, folder, folder / f"log-{phase}.txt")
    result["store_s"] = stored_after(events, started)
    with sqlite3.connect(folder / "store.sqlite") as db:
        result["articles_in_store"] = db.execute("SELECT count(*) FROM articles").fetchone()[0]
    result["archive_files"] = count_files(folder / "archive")
    result["site_files"] = count_files(folder / "site")
    return result


def profile_cold_run(folder: Path, farm: FarmProcess, workers: int, out: Path) -> None:
    """A cold run under pyinstrument, into ``out/cold-profile.txt``: where the run's
    main process spends its time (worker processes are not sampled)."""
    newsmirror_config(folder, farm, workers)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "cold-profile.txt"
    cmd = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(target)]
    cmd += ["-m", "newsmirror", "-q", "--config", str(folder / "newsmirror.toml"), "run"]
    measure(cmd, farm, folder, folder / "log-profile.txt")
    print(f"  profile of a cold run: {target}", flush=True)


# -- the peers, as children of this script -----------------------------------------------------
def child_reader(db: str, urls: list[str], workers: int) -> None:
    from reader import make_reader

    reader = make_reader(db)
    for url in urls:
        reader.add_feed(url, exist_ok=True)
    reader.update_feeds(workers=workers, scheduled=False)
    print(json.dumps({"entries": reader.get_entry_counts().total}))
    reader.close()


SAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def child_feedparser(out: str, urls: list[str]) -> None:
    import feedparser

    folder = Path(out)
    folder.mkdir(exist_ok=True)
    written = 0
    for url in urls:
        parsed = feedparser.parse(url)
        for entry in parsed.entries:
            title = entry.get("title", "untitled")
            content = entry.content[0].value if "content" in entry else entry.get("summary", "")
            text = (
                f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
                f"link: {entry.get('link', '')}\ndate: {entry.get('published', '')}\n---\n\n"
                f"{content}\n"
            )
            name = SAFE.sub("_", title)[:100] + ".md"
            (folder / name).write_text(text, encoding="utf-8")
            written += 1
    print(json.dumps({"written": written}))


def last_json(log: Path) -> dict[str, Any]:
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def run_reader(folder: Path, farm: FarmProcess, workers: int, phase: str) -> dict[str, Any]:
    urls = folder / "urls.txt"
    urls.write_text("\n".join(farm.urls()) + "\n")
    cmd = [sys.executable, __file__, "--child", "reader", "--child-arg", str(folder / "reader.db")]
    cmd += ["--child-urls", str(urls), "--workers", str(workers)]
    log = folder / f"log-{phase}.txt"
    result = measure(cmd, farm, folder, log)
    result["articles_in_store"] = last_json(log).get("entries")
    return result


def run_feedparser(folder: Path, farm: FarmProcess, phase: str) -> dict[str, Any]:
    urls = folder / "urls.txt"
    urls.write_text("\n".join(farm.urls()) + "\n")
    cmd = [sys.executable, __file__, "--child", "feedparser", "--child-arg", str(folder / "out")]
    cmd += ["--child-urls", str(urls)]
    log = folder / f"log-{phase}.txt"
    result = measure(cmd, farm, folder, log)
    result["files_written"] = last_json(log).get("written")
    result["archive_files"] = count_files(folder / "out")
    return result


# -- the report --------------------------------------------------------------------------------
def derive(result: dict[str, Any], feeds: int, articles: int | None) -> None:
    if articles:
        result["articles"] = articles
        result["articles_per_s"] = round(articles / result["wall_s"], 1)
    result["cpu_ms_per_feed"] = round(1000 * result["cpu_s"] / feeds, 2)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def table(data: dict[str, Any]) -> str:
    meta = data["meta"]
    out = [
        f"# newsmirror vs peers — {meta['date']}",
        "",
        f"Python {meta['python']}, {meta['cpus']} CPUs, {meta['platform']}; work folders on "
        f"{meta['work_dir']} ({meta['work_fs']}). Farm: {meta['feeds']} feeds × "
        f"{meta['items']} items = {meta['articles']} articles, "
        f"{meta['farm_mb']} MB of RSS, aiohttp on 127.0.0.1 (own process, started in "
        f"{meta['farm_startup_s']} s). newsmirror: fetch concurrency = per_host = "
        f"{meta['workers']}; reader: update_feeds(workers={meta['workers']}). CPU and peak "
        "RSS are the whole process tree's (the run and its worker processes)"
        + ("" if meta.get("tree_cpu") else " — except CPU here: no subreaper, main process only")
        + ".",
        "",
        "| tool | run | wall s | stored after s | CPU s (user+sys) | peak RSS MB | articles/s "
        "| CPU ms/feed | farm 200/304 | farm CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for tool, runs in data["runs"].items():
        for phase, r in runs.items():
            out.append(
                f"| {tool} | {phase} | {r['wall_s']:.2f} | {r.get('store_s') or '—'} | "
                f"{r['cpu_s']:.2f} "
                f"({r['user_s']:.2f}+{r['sys_s']:.2f}) | {r['peak_rss_mb']:.0f} | "
                f"{r.get('articles_per_s', '—')} | {r['cpu_ms_per_feed']} | "
                f"{r['farm_200']}/{r['farm_304']} | {r['farm_cpu_s']:.2f} |"
            )
    if data.get("ratios"):
        out += ["", "Ratios newsmirror / peer (below 1: newsmirror is faster or smaller):", ""]
        out += ["| peer | run | wall | CPU | peak RSS |", "|---|---|---:|---:|---:|"]
        for r in data["ratios"]:
            cells = [r["wall"], r["cpu"], r["peak_rss"]]
            shown = " | ".join("—" if c is None else str(c) for c in cells)
            out.append(f"| {r['peer']} | {r['run']} | {shown} |")
    if data.get("scale"):
        out += ["", "newsmirror cold run by size:", ""]
        out += [
            "| feeds × items | articles | wall s | CPU s | peak RSS MB | articles/s "
            "| ms wall/article | files written | then warm: CPU ms/feed "
            f"| then +{SCALE_NEW} new: wall s | its peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in data["scale"]:
            out.append(
                f"| {s['feeds']}×{s['items']} | {s['articles']} | {s['wall_s']:.2f} | "
                f"{s['cpu_s']:.2f} | {s['peak_rss_mb']:.0f} | {s['articles_per_s']} | "
                f"{1000 * s['wall_s'] / s['articles']:.3f} | "
                f"{s['archive_files'] + s['site_files']} | {s['warm']['cpu_ms_per_feed']} | "
                f"{s['plus']['wall_s']:.2f} | {s['plus']['peak_rss_mb']:.0f} |"
            )
        if data.get("scale_growth"):
            g = data["scale_growth"]
            out += [
                "",
                f"From {g['from']} to {g['to']} articles (×{g['articles_x']}): "
                f"wall ×{g['wall_x']}, CPU ×{g['cpu_x']}, peak RSS ×{g['rss_x']} — time is "
                f"{g['time_verdict']}, memory is {g['memory_verdict']}. A run adding "
                f"{SCALE_NEW} articles peaks at ×{g['plus_rss_x']} the memory as the store it "
                f"runs on grows ×{g['articles_x']}.",
            ]
    return "\n".join(out) + "\n"


def verdict(growth: float, size_x: float) -> str:
    if growth <= size_x * 0.8:
        return "sublinear (better than linear)"
    if growth <= size_x * 1.25:
        return "about linear"
    return "superlinear (worse than linear)"


def fs_type(path: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "-T", str(path)], check=False, capture_output=True, text=True
        ).stdout
        return out.splitlines()[1].split()[1]
    except (OSError, IndexError):
        return "?"


# -- main --------------------------------------------------------------------------------------
def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        feeds, _, items = part.strip().partition("x")
        sizes.append((int(feeds), int(items)))
    return sizes


def main() -> None:  # noqa: PLR0915 - one benchmark script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16, help="fetch concurrency (both tools)")
    parser.add_argument("--dir", type=Path, default=None, help="where work folders go")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip profiling a cold run (done when pyinstrument is installed)",
    )
    parser.add_argument("--scale", default="20x50,200x50,1000x50", help="FEEDSxITEMS,...")
    parser.add_argument("--keep", action="store_true", help="keep the work folders")
    parser.add_argument("--child", choices=("reader", "feedparser"), help=argparse.SUPPRESS)
    parser.add_argument("--child-arg", help=argparse.SUPPRESS)
    parser.add_argument("--child-urls", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        urls = args.child_urls.read_text().split()
        if args.child == "reader":
            child_reader(args.child_arg, urls, args.workers)
        else:
            child_feedparser(args.child_arg, urls)
        return

    begun = time.perf_counter()
    subreaper = become_subreaper()
    work = Path(tempfile.gettempdir()) if args.dir is None else args.dir
    folders: list[Path] = []
    feeds, items = args.feeds, args.items
    articles = feeds * items
    runs: dict[str, dict[str, Any]] = {}
    farm = FarmProcess(feeds, items)
    try:
        farm_bytes = sum(
            len(urllib.request.urlopen(farm.url(n), timeout=60).read()) for n in range(feeds)
        )
        farm.set_version(1)  # counters back to zero
        farm_startup = round(farm.startup, 2)
        print(f"farm: {feeds}×{items} on port {farm.port}, {farm_bytes / 1e6:.1f} MB", flush=True)

        def note(tool: str, phase: str, r: dict[str, Any]) -> None:
            runs.setdefault(tool, {})[phase] = r
            print(
                f"  {tool:10} {phase:7} wall {r['wall_s']:7.2f} s  CPU {r['cpu_s']:7.2f} s  "
                f"RSS {r['peak_rss_mb']:6.0f} MB  ({r['farm_200']} × 200, {r['farm_304']} × 304)",
                flush=True,
            )

        # Version 1 of the farm: cold and warm runs of every tool.
        nm = fresh_dir(args.dir, "newsmirror")
        folders.append(nm)
        newsmirror_config(nm, farm, args.workers)
        r = run_newsmirror(nm, farm, "cold")
        derive(r, feeds, r["articles_in_store"])
        note("newsmirror", "cold", r)
        r = run_newsmirror(nm, farm, "warm")
        derive(r, feeds, None)
        note("newsmirror", "warm", r)
        files_only = fresh_dir(args.dir, "newsmirror-no-site")
        folders.append(files_only)
        newsmirror_config(files_only, farm, args.workers)
        r = run_newsmirror(files_only, farm, "cold-no-site", "--no-site")
        derive(r, feeds, r["articles_in_store"])
        note("newsmirror", "cold, --no-site", r)

        rd = fp = None
        if not args.skip_peers:
            rd = fresh_dir(args.dir, "reader")
            folders.append(rd)
            r = run_reader(rd, farm, args.workers, "cold")
            derive(r, feeds, r["articles_in_store"])
            note("reader", "cold", r)
            r = run_reader(rd, farm, args.workers, "warm")
            derive(r, feeds, None)
            note("reader", "warm", r)

            fp = fresh_dir(args.dir, "feedparser")
            folders.append(fp)
            r = run_feedparser(fp, farm, "cold")
            derive(r, feeds, r["files_written"])
            note("feedparser", "cold", r)
            r = run_feedparser(fp, farm, "rerun")
            derive(r, feeds, r["files_written"])
            note("feedparser", "rerun", r)

        if args.profile and importlib.util.find_spec("pyinstrument") is not None:
            profiled = fresh_dir(args.dir, "newsmirror-profile")
            folders.append(profiled)
            profile_cold_run(profiled, farm, args.workers, args.out)

        # Version 2: 5% of the items are new.
        new = farm.set_version(2)["new"]
        before = runs["newsmirror"]["cold"]["articles_in_store"]
        r = run_newsmirror(nm, farm, "new5")
        derive(r, feeds, r["articles_in_store"] - before)
        note("newsmirror", "5% new", r)
        if rd is not None:
            before = runs["reader"]["cold"]["articles_in_store"]
            r = run_reader(rd, farm, args.workers, "new5")
            derive(r, feeds, r["articles_in_store"] - before)
            note("reader", "5% new", r)
    finally:
        farm.stop()

    ratios = []
    if "reader" in runs:
        # Stored: newsmirror's articles all in its store (reader's run does no more than that).
        a, b = runs["newsmirror"]["cold"], runs["reader"]["cold"]
        if a.get("store_s"):
            ratios.append(
                {
                    "peer": "reader",
                    "run": "cold: every article stored",
                    "wall": ratio(a["store_s"], b["wall_s"]),
                    "cpu": None,
                    "peak_rss": None,
                }
            )
    for peer, pairs in (
        (
            "reader",
            (
                ("cold", "cold"),
                ("cold, --no-site", "cold"),
                ("warm", "warm"),
                ("5% new", "5% new"),
            ),
        ),
        ("feedparser", (("cold", "cold"), ("cold, --no-site", "cold"), ("warm", "rerun"))),
    ):
        for mine, theirs in pairs:
            if peer in runs and theirs in runs[peer]:
                a, b = runs["newsmirror"][mine], runs[peer][theirs]
                ratios.append(
                    {
                        "peer": peer,
                        "run": mine
                        if mine in {theirs, f"{theirs}, --no-site"}
                        else f"{mine} vs {theirs}",
                        "wall": ratio(a["wall_s"], b["wall_s"]),
                        "cpu": ratio(a["cpu_s"], b["cpu_s"]),
                        "peak_rss": ratio(a["peak_rss_mb"], b["peak_rss_mb"]),
                    }
                )

    scale: list[dict[str, Any]] = []
    if not args.skip_scale:
        print("scale (newsmirror cold runs):", flush=True)
        for sf, si in parse_sizes(args.scale):
            if (sf, si) == (feeds, items):
                s = dict(runs["newsmirror"]["cold"])
                s["warm"] = runs["newsmirror"]["warm"]
                s["plus"] = runs["newsmirror"]["5% new"]
            else:
                farm = FarmProcess(sf, si)
                try:
                    folder = fresh_dir(args.dir, f"scale-{sf}x{si}")
                    folders.append(folder)
                    newsmirror_config(folder, farm, args.workers)
                    s = run_newsmirror(folder, farm, "cold")
                    derive(s, sf, s["articles_in_store"])
                    s["warm"] = run_newsmirror(folder, farm, "warm")
                    derive(s["warm"], sf, None)
                    farm.set_version(2, new=SCALE_NEW)
                    s["plus"] = run_newsmirror(folder, farm, "new5")
                finally:
                    farm.stop()
            s.update(feeds=sf, items=si)
            scale.append(s)
            print(
                f"  {sf}×{si}: {s['articles']} articles, wall {s['wall_s']:.2f} s, "
                f"CPU {s['cpu_s']:.2f} s, RSS {s['peak_rss_mb']:.0f} MB; then warm: "
                f"{s['warm']['cpu_ms_per_feed']} ms CPU/feed; then +{SCALE_NEW} new: "
                f"wall {s['plus']['wall_s']:.2f} s, RSS {s['plus']['peak_rss_mb']:.0f} MB",
                flush=True,
            )

    growth = None
    if len(scale) >= 2:
        lo, hi = scale[0], scale[-1]
        size_x = hi["articles"] / lo["articles"]
        growth = {
            "from": lo["articles"],
            "to": hi["articles"],
            "articles_x": round(size_x, 1),
            "wall_x": round(hi["wall_s"] / lo["wall_s"], 1),
            "cpu_x": round(hi["cpu_s"] / lo["cpu_s"], 1),
            "rss_x": round(hi["peak_rss_mb"] / lo["peak_rss_mb"], 1),
            "plus_rss_x": round(hi["plus"]["peak_rss_mb"] / lo["plus"]["peak_rss_mb"], 1),
        }
        growth["time_verdict"] = verdict(growth["wall_x"], size_x)
        growth["memory_verdict"] = verdict(growth["rss_x"], size_x)

    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    data = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "work_dir": str(work),
            "work_fs": fs_type(work),
            "feeds": feeds,
            "items": items,
            "articles": articles,
            "new_items_v2": new,
            "farm_mb": round(farm_bytes / 1e6, 1),
            "farm_startup_s": farm_startup,
            "workers": args.workers,
            "tree_cpu": subreaper,
            "reader_version": installed("reader"),
            "feedparser_version": installed("feedparser"),
            "total_s": None,
        },
        "runs": runs,
        "ratios": ratios,
        "scale": scale,
        "scale_growth": growth,
    }
    data["meta"]["total_s"] = round(time.perf_counter() - begun, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    text = table(data)
    (args.out / "peers.md").write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"written: {args.out / 'peers.md'}, {args.out / 'peers.json'}")
    if args.keep:
        print("work folders kept:", *folders, sep="\n  ")
    else:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
