"""The ``newsmirror`` command: parses options, makes one library call, shows the result.

Exit codes: 0 when the work was done (some sources may have failed: the table
says which and why), 1 when nothing could be done (every source failed),
2 for a bad command line or configuration, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .errors import ConfigError, NewsmirrorError

if TYPE_CHECKING:
    from .mirror import Mirror

EXIT_OK, EXIT_NOTHING_DONE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

COMMANDS = {
    "init": "write a starter newsmirror.toml with real Chinese-language news feeds",
    "run": "fetch every source, archive what is new or changed, publish the files",
    "build": "write every archive file and the whole static site again from the store",
    "status": "show each source's health: last success, last error, counts",
    "serve": "preview the static site on 127.0.0.1",
    "search": "full-text search of the store (works for Chinese, two characters and up)",
    "demo": "run the whole pipeline offline on feeds newsmirror generates and serves itself",
    "sources": "list, add or remove sources, import or export OPML (the config file is rewritten, "
    "its comments and order kept)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmirror",
        description="Keep a durable, readable mirror of news feeds: "
        "an SQLite archive, Markdown files for a git repository, and a static site.",
    )
    parser.add_argument("--version", action="version", version=f"newsmirror {__version__}")
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file (default: $NEWSMIRROR_CONFIG, else ./newsmirror.toml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="also write every event, as one JSON object per line, to PATH",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help=COMMANDS["init"], description=COMMANDS["init"])
    init.add_argument("dir", nargs="?", default=".", help="where to write it (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    init.add_argument(
        "--github-actions",
        action="store_true",
        help="also write .github/workflows/newsmirror.yml: run on a schedule, commit and push "
        "the archive, publish the site to GitHub Pages",
    )

    run = commands.add_parser("run", help=COMMANDS["run"], description=COMMANDS["run"])
    run.add_argument(
        "--source",
        action="append",
        metavar="SLUG",
        help="only this source (repeat for more)",
    )
    run.add_argument(
        "--every",
        metavar="INTERVAL",
        help="keep running on this schedule, e.g. 30m, 2h, 1h30m (with some jitter); "
        "each source is still polled no more often than its feed asks; "
        "SIGINT/SIGTERM finish the run in progress, then stop",
    )
    run.add_argument("--wait", action="store_true", help="wait for a run or build already going on")
    run.add_argument(
        "--no-site",
        dest="site",
        action="store_false",
        help="archive and publish the files only; the next run or `newsmirror build` "
        "brings the site up to date",
    )

    build = commands.add_parser("build", help=COMMANDS["build"], description=COMMANDS["build"])
    build.add_argument(
        "--wait", action="store_true", help="wait for a run or build already going on"
    )

    status = commands.add_parser("status", help=COMMANDS["status"], description=COMMANDS["status"])
    status.add_argument("--json", action="store_true", help="one JSON document, for machines")

    serve = commands.add_parser("serve", help=COMMANDS["serve"], description=COMMANDS["serve"])
    serve.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")

    search = commands.add_parser("search", help=COMMANDS["search"], description=COMMANDS["search"])
    search.add_argument("query", nargs="+", help="words to find; every one must match")
    search.add_argument("--limit", type=int, default=20, help="at most this many (default: 20)")
    search.add_argument("--source", metavar="SLUG", help="only this source")

    sources = commands.add_parser(
        "sources", help=COMMANDS["sources"], description=COMMANDS["sources"]
    )
    actions = sources.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the configured sources")
    add = actions.add_parser("add", help="add a feed (a web page's feed is found in it)")
    add.add_argument("url")
    add.add_argument("--name", help="the name shown (default: from the host)")
    add.add_argument("--slug", help="the name in paths (default: from the name or host)")
    remove = actions.add_parser("remove", help="remove a source (its archive stays)")
    remove.add_argument("slug")
    opml_in = actions.add_parser("import-opml", help="add every feed of an OPML file")
    opml_in.add_argument("file", type=Path)
    opml_out = actions.add_parser("export-opml", help="write the sources as OPML 2.0")
    opml_out.add_argument("-o", "--output", type=Path, help="a file (default: standard output)")

    demo = commands.add_parser("demo", help=COMMANDS["demo"], description=COMMANDS["demo"])
    demo.add_argument("dir", help="the folder to create the demo mirror in, e.g. /tmp/x")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False, quiet=args.quiet)
    errors = Console(stderr=True)
    _configure_logging(args.verbose, args.quiet, errors, args.log_file)
    handler = {
        "init": _init,
        "run": _run,
        "build": _build,
        "status": _status,
        "serve": _serve,
        "search": _search,
        "demo": _demo,
        "sources": _sources,
    }[args.command]
    try:
        return handler(args, console)
    except NewsmirrorError as e:
        errors.print(f"[bold red]error:[/] {e}", markup=True, highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print("interrupted")
        return EXIT_INTERRUPTED


def _configure_logging(
    verbose: int, quiet: bool, console: Console, log_file: str | None = None
) -> None:
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    screen = RichHandler(console=console, show_path=False, show_time=False)
    screen.setLevel(level)
    handlers: list[logging.Handler] = [screen]
    if log_file:
        # The file gets every event at INFO and above, whatever -v / -q say.
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(JsonLines())
        file_handler.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        handlers.append(file_handler)
    logging.basicConfig(
        level=min(h.level for h in handlers), format="%(message)s", handlers=handlers
    )
    # Third-party chatter stays out of the operator's log unless asked for.
    for noisy in ("asyncio", "charset_normalizer", "readability"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# LogRecord's own attributes: anything else on a record came as ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class JsonLines(logging.Formatter):
    """One JSON object per event: time, level, logger, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(
            {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS and k[0] != "_"}
        )
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


# -- commands -------------------------------------------------------------------


def _init(args: argparse.Namespace, console: Console) -> int:
    from .config import DEFAULT_CONFIG_NAME
    from .starter import write_starter

    folder = Path(args.dir)
    if not (args.github_actions and (folder / DEFAULT_CONFIG_NAME).exists() and not args.force):
        path = write_starter(folder, force=args.force)
        console.print(f"Wrote [bold]{path}[/]. Edit its sources, then: newsmirror run")
    if args.github_actions:
        from .ghactions import write_workflow

        workflow = write_workflow(folder, force=args.force)
        console.print(
            f"Wrote [bold]{workflow}[/]: commit it, then turn on GitHub Pages "
            "(Settings → Pages → Source: GitHub Actions)."
        )
    return EXIT_OK


def _sources(args: argparse.Namespace, console: Console) -> int:
    from . import sources
    from .config import find_config

    path = find_config(args.config)
    if args.action == "list":
        table = Table(title=str(path))
        for column in ("slug", "name", "url", "layouts", "options"):
            table.add_column(column, overflow="fold")
        for source in sources.list_sources(path):
            options = [
                option
                for option, on in (
                    ("full text", source.full_text),
                    (f"images={source.images}", source.images != "keep"),
                    ("filters", bool(source.include or source.exclude)),
                )
                if on
            ]
            table.add_row(
                source.slug,
                Text(source.name),
                source.url,
                ", ".join(source.layouts),
                ", ".join(options),
            )
        console.print(table)
    elif args.action == "add":
        added = sources.add_source(
            path, args.url, name=args.name, slug=args.slug, fetcher_url_resolver=_discover(path)
        )
        console.print(f"added {added.slug}: {escape(added.name)} <{added.url}>")
    elif args.action == "remove":
        removed = sources.remove_source(path, args.slug)
        console.print(f"removed {removed.slug} ({escape(removed.name)}); its archive stays")
    elif args.action == "import-opml":
        try:
            opml = args.file.read_bytes()
        except OSError as e:
            raise ConfigError(args.file, f"cannot be read: {e.strerror}") from e
        report = sources.import_opml(path, opml)
        console.print(
            f"{len(report.added)} added, {len(report.skipped)} already there, "
            f"{len(report.invalid)} invalid"
        )
        for note in report.invalid:
            console.print(f"  [yellow]invalid[/] {escape(note.name)} <{note.url}>: {note.reason}")
    else:
        data = sources.export_opml(path)
        if args.output:
            args.output.write_bytes(data)
            console.print(f"wrote {args.output}")
        else:
            sys.stdout.buffer.write(data)
    return EXIT_OK


def _discover(config_path: Path) -> Callable[[str], str]:
    """Find the feed of a web page with the configured HTTP client."""

    def resolve(url: str) -> str:
        import asyncio

        from .config import load_config
        from .fetch import Fetcher
        from .sources import discover_feed

        settings = load_config(config_path).fetch

        async def discover() -> str:
            async with Fetcher(settings) as fetcher:
                return await discover_feed(fetcher, url)

        return asyncio.run(discover())

    return resolve


def _run(args: argparse.Namespace, console: Console) -> int:
    from .mirror import open_mirror

    with open_mirror(args.config) as mirror:
        slugs = args.source
        if args.every:
            return _run_every(args, console, mirror)
        total = len(slugs) if slugs else len(mirror.config.sources)
        with _progress(console) as progress:
            task = progress.add_task("fetching", total=total)
            report = mirror.run(
                slugs,
                on_result=lambda r: progress.advance(task),
                wait=args.wait,
                site=args.site,
            )
    _print_run(console, report)
    return EXIT_NOTHING_DONE if report.all_failed else EXIT_OK


def _run_every(args: argparse.Namespace, console: Console, mirror: Mirror) -> int:
    from .schedule import GracefulStop, parse_interval, run_every

    try:
        interval = parse_interval(args.every)
    except ValueError as e:
        raise ConfigError(mirror.config.path, str(e), "--every") from e

    def one_run() -> None:
        # Scheduled: sources whose feed asked for time (or that back off) wait.
        _print_run(console, mirror.run(args.source, scheduled=True, wait=True, site=args.site))

    def sleeping(until: datetime) -> None:
        console.print(f"next run at {_when(until)} (Ctrl-C to stop)")

    with GracefulStop() as stop:
        runs = run_every(interval, one_run, stop=stop, on_sleep=sleeping)
    console.print(f"stopped after {runs} runs")
    return EXIT_OK


def _build(args: argparse.Namespace, console: Console) -> int:
    from .mirror import open_mirror

    with open_mirror(args.config) as mirror:
        report, site = mirror.build(wait=args.wait)
        archive, site_path = mirror.config.archive.path, mirror.config.site.path
    console.print(
        f"{report.articles} articles rendered, {len(report.written)} files written in {archive}\n"
        f"site: {len(site.written)} pages written in {site_path} ({site.seconds:.1f} s)"
    )
    return EXIT_OK


def _status(args: argparse.Namespace, console: Console) -> int:
    from .mirror import open_mirror

    with open_mirror(args.config) as mirror:
        statuses = mirror.status()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        key: value.isoformat() if isinstance(value, datetime) else value
                        for key, value in vars(s).items()
                    }
                    for s in statuses
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    table = Table(title="sources")
    for column in ("source", "articles", "7 days", "last success", "failures", "last error"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        error = f"{_when(s.last_error_at)}: {s.last_error}" if s.last_error else ""
        if s.warning:
            error = f"[yellow]{escape(s.warning)}[/]" + (f"\n{escape(error)}" if error else "")
        else:
            error = escape(error)
        table.add_row(
            f"{s.name} ({s.slug})" + ("" if s.configured else " [dim]not configured[/]"),
            str(s.articles),
            str(s.last_7_days),
            _when(s.last_success_at),
            f"[red]{s.consecutive_failures}[/]" if s.consecutive_failures else "0",
            error,
        )
    console.print(table)
    return EXIT_OK


def _serve(args: argparse.Namespace, console: Console) -> int:
    from .config import find_config, load_config
    from .errors import ConfigError
    from .localserver import LocalServer

    config = load_config(find_config(args.config))
    site = config.site.path
    if not (site / "index.html").is_file():
        raise ConfigError(config.path, f"no site at {site} yet: run `newsmirror build` first")
    try:
        server = LocalServer(root=site, port=args.port)
    except OSError as e:
        reason = f"cannot listen on 127.0.0.1:{args.port}: {e.strerror}"
        raise ConfigError(config.path, reason) from e
    console.print(f"Serving {site} at [bold]{server.url('/')}[/] — Ctrl-C to stop")
    server.serve_forever()
    return EXIT_OK


def _search(args: argparse.Namespace, console: Console) -> int:
    from .mirror import open_mirror

    query = " ".join(args.query)
    with open_mirror(args.config) as mirror:
        hits = mirror.search(query, limit=args.limit, source=args.source)
        zone = mirror.config.archive.zone
    if not hits:
        console.print(f"nothing found for {query!r}")
        return EXIT_NOTHING_DONE
    table = Table(title=f"{len(hits)} found for {query!r}")
    for column in ("published", "source", "title", "excerpt"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        # Article text is data, not rich markup: "[图]" or "[/b]" must show as written.
        table.add_row(
            hit.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            hit.source_slug,
            Text(hit.title),
            Text(hit.snippet),
        )
    console.print(table)
    return EXIT_OK


def _demo(args: argparse.Namespace, console: Console) -> int:
    from .demo import run_demo

    folder = Path(args.dir)
    console.print("Serving the demo feeds on 127.0.0.1 and running the mirror twice…")
    with _progress(console) as progress:
        task = progress.add_task("fetching", total=None)
        report = run_demo(folder, on_result=lambda r: progress.advance(task))
    _print_run(console, report.first)
    console.print("\nThe second run: unchanged feeds answer 304 and no file changes.")
    _print_run(console, report.second)
    console.print(
        f"\n[bold]Done.[/] Look in:\n"
        f"  config   {report.config}\n"
        f"  store    {report.store}\n"
        f"  archive  {report.archive}  (README.md, lists/, articles/, _posts/)\n"
        f"  site     {report.site}\n"
        f"Read it:  newsmirror --config {report.config} serve"
    )
    return EXIT_OK


# -- output -----------------------------------------------------------------------


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _print_run(console: Console, report: object) -> None:
    from .pipeline import RunReport

    assert isinstance(report, RunReport)
    if console.quiet:  # rich would lay the table out only to drop it: 0.15 s for 200 sources
        return
    table = Table(title=f"run of {_when(report.started_at)}")
    for column, justify in (
        ("source", "left"),
        ("new", "right"),
        ("updated", "right"),
        ("unchanged", "right"),
        ("failed", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in report.results:
        if r.failed:
            failed = f"[red]{r.error}[/]"
        elif r.outcome == "not_modified":
            failed = "[dim]not modified (304)[/]"
        else:
            notes = list(r.warnings)
            if r.full_text:
                notes.append(f"{r.full_text} full text")
            if r.kept_feed:
                notes.append(f"{r.kept_feed} kept the feed's content")
            if r.cleaned:
                notes.append(f"{r.cleaned} cleaned of dangerous HTML")
            if r.filtered:
                notes.append(f"{r.filtered} filtered out")
            if r.duplicates:
                notes.append(f"{r.duplicates} listed twice")
            failed = "[dim]" + "; ".join(notes) + "[/]" if notes else ""
        table.add_row(
            f"{r.name} ({r.slug})",
            str(r.new),
            str(r.updated),
            "" if r.failed else str(r.unchanged),
            failed,
        )
    console.print(table)
    if report.images.downloaded or report.images.failed:
        console.print(
            f"images: {report.images.downloaded} downloaded, {report.images.failed} failed"
            + (" (tried again next run where the failure may pass)" if report.images.failed else "")
        )
    if report.git is not None:
        if report.git.error:
            console.print(f"[red]git:[/] {escape(report.git.error)}")
        elif report.git.committed:
            pushed = " and pushed" if report.git.pushed else ""
            console.print(f"git: committed {report.git.commit}{pushed}")
    seconds = (report.finished_at - report.started_at).total_seconds()
    pages = len(report.site.written) if report.site is not None else 0
    console.print(
        f"{len(report.publish.written)} files and {pages} site pages written in {seconds:.1f} s"
    )


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    sys.exit(main())
