"""Small builders of feed documents and configs for the tests (data we write ourselves)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from newsmirror.demo_feeds import gradient_png

SRC = Path(__file__).resolve().parents[1] / "src"  # the child runs the checkout's code


@dataclass
class Item:
    title: str | None = "标题"
    link: str | None = "https://news.example.org/a/1.html"
    guid: str | None = None
    published: datetime | None = None
    content: str | None = None  # content:encoded, as CDATA
    description: str | None = None  # entity-escaped
    categories: Sequence[str] = field(default_factory=tuple)
    raw: str = ""  # extra XML put in the item as is


def rss(items: Sequence[Item], *, title: str = "测试频道", encoding: str = "utf-8") -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
        f"<channel>\n  <title>{escape(title)}</title>\n  <link>https://news.example.org/</link>\n"
    ]
    for item in items:
        parts.append("  <item>\n")
        if item.title is not None:
            parts.append(f"    <title>{escape(item.title)}</title>\n")
        if item.link is not None:
            parts.append(f"    <link>{escape(item.link)}</link>\n")
        if item.guid is not None:
            parts.append(f'    <guid isPermaLink="false">{escape(item.guid)}</guid>\n')
        if item.published is not None:
            parts.append(f"    <pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>\n")
        for category in item.categories:
            parts.append(f"    <category>{escape(category)}</category>\n")
        if item.description is not None:
            parts.append(f"    <description>{escape(item.description)}</description>\n")
        if item.content is not None:
            parts.append(f"    <content:encoded><![CDATA[{item.content}]]></content:encoded>\n")
        parts.append(item.raw)
        parts.append("  </item>\n")
    parts.append("</channel>\n</rss>\n")
    # Characters the encoding lacks become character references, as real feeds do.
    return "".join(parts).encode(encoding, "xmlcharrefreplace")


def spread(html: str, indent: str = "      ") -> str:
    """HTML spread over indented lines at tag boundaries, as real feeds do."""
    return "\n" + indent + html.replace("><", ">\n" + indent + "<") + "\n    "


def write_config(folder: Path, sources: Sequence[dict[str, object]], extra: str = "") -> Path:
    """A config with short test timeouts; ``extra`` lines go in [fetch], replacing defaults."""
    fetch = {"timeout": "5", "retries": "1", "backoff": "0.05"}
    for line in extra.splitlines():
        key, _, value = line.partition("=")
        if value:
            fetch[key.strip()] = value.strip()
    lines = ["[archive]", 'path = "archive"', 'store = "store.sqlite"', "", "[fetch]"]
    lines += [f"{key} = {value}" for key, value in fetch.items()]
    for source in sources:
        lines.append("[[source]]")
        for key, value in source.items():
            if isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, list):
                lines.append(
                    f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
                )
            else:
                lines.append(f"{key} = {value}")
    path = folder / "newsmirror.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``newsmirror`` command, in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "newsmirror", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONPATH": str(SRC)},
    )


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder``: its mtime in ns and its bytes."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG of one colour (the demo's own writer, top and bottom the same)."""
    return gradient_png(width, height, rgb, rgb)


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (for "connection refused", or to serve on)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_html_tree(html: str):  # type: ignore[no-untyped-def]
    """The tree a browser would build (Lexbor, WHATWG-compliant)."""
    from selectolax.lexbor import LexborHTMLParser

    return LexborHTMLParser(html)
