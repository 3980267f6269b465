"""``newsmirror demo``: the whole pipeline, offline, on feeds the project writes itself.

The feeds of ``demo_feeds`` are served on 127.0.0.1, a config pointing at them
is written into the demo folder, and the mirror runs twice: once to archive
everything, once more to show that an unchanged source costs a 304 and
changes no file. Nothing leaves the loopback interface.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .config import DEFAULT_CONFIG_NAME
from .demo_feeds import DemoFeed, demo_feeds, demo_images
from .errors import ConfigError
from .localserver import LocalServer, Route
from .mirror import open_mirror
from .pipeline import OnResult, RunReport

DEMO_MARKER = "# newsmirror demo config"


@dataclass(frozen=True)
class DemoReport:
    folder: Path
    config: Path
    archive: Path
    store: Path
    site: Path
    first: RunReport
    second: RunReport


def _config_text(server: LocalServer, feeds: tuple[DemoFeed, ...]) -> str:
    lines = [
        DEMO_MARKER,
        "# The feeds were served on 127.0.0.1 by `newsmirror demo` and are gone now.",
        "",
        "[archive]",
        'path = "archive"',
        'store = "newsmirror.sqlite"',
        'layouts = ["jekyll", "markdown"]',
        'timezone = "Asia/Shanghai"',
        "# The demo serves its pictures itself: mirrored, the site shows them offline.",
        'images = "mirror"',
        "",
        "[site]",
        'path = "site"',
        'title = "新闻镜像 · 演示"',
        "",
        "[fetch]",
        "timeout = 10",
        "retries = 1",
    ]
    for feed in feeds:
        lines += [
            "",
            "[[source]]",
            f"name = {json.dumps(feed.name, ensure_ascii=False)}",  # JSON strings are TOML strings
            f'slug = "{feed.slug}"',
            f'url = "{server.url(feed.path)}"',
        ]
    return "\n".join(lines) + "\n"


def run_demo(
    folder: Path,
    *,
    now: datetime | None = None,
    on_result: OnResult | None = None,
) -> DemoReport:
    """Serve the demo feeds, write a config into ``folder`` and run the mirror twice."""
    now = now or datetime.now(UTC)
    config_path = folder / DEFAULT_CONFIG_NAME
    if config_path.exists() and not config_path.read_text(encoding="utf-8").startswith(DEMO_MARKER):
        raise ConfigError(config_path, "exists and is not a demo config; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    with LocalServer() as server:
        feeds = demo_feeds(now, image_base=server.url(""))
        for feed in feeds:
            server.add(feed.path, Route(feed.body, content_type=feed.content_type))
        for path, picture in demo_images().items():
            server.add(path, Route(picture, content_type="image/png"))
        config_path.write_text(_config_text(server, feeds), encoding="utf-8")
        with open_mirror(config_path) as mirror:
            first = mirror.run(now=now, on_result=on_result)
            second = mirror.run(now=now, on_result=on_result)
            config = mirror.config
    return DemoReport(
        folder=folder,
        config=config_path,
        archive=config.archive.path,
        store=config.archive.store,
        site=config.site.path,
        first=first,
        second=second,
    )
