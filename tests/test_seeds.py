"""Golden tests: the two seed articles come out byte for byte through the real CLI.

The feed is built at test time from the seed files themselves (../shared/seeds,
which a fresh clone does not have: these tests skip there), with the content
spread over indented lines as real feeds carry it, and served over HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror.localserver import LocalServer, Route

from .conftest import SEEDS, need_shared
from .feedkit import Item, cli, rss, snapshot, spread, write_config

JEKYLL_SEED = "000_0cb905bc6b557fb5.txt"
MARKDOWN_SEED = "004_4f5272d95a507ae4.txt"
HEADER = re.compile(r"<!--(\d+)-->\n\[(.*)\]\((.*)\)\n------\n\n", re.DOTALL)


def read_seed(name: str) -> tuple[bytes, Item]:
    raw = (need_shared(SEEDS) / name).read_bytes()
    text = raw.decode("utf-8")
    header = HEADER.search(text)
    assert header is not None
    published = datetime.fromtimestamp(int(header.group(1)) / 1000, tz=UTC)
    body = text[header.end() :]
    if body.startswith("<div>\n"):
        content = body[len("<div>\n") : -len("\n</div>\n")]
    else:
        content = body[:-1]
    item = Item(title=header.group(2), link=header.group(3), published=published)
    item.content = content
    return raw, item


def run_twice(tmp_path: Path, items: dict[str, tuple[str, str, list[str], Item]]) -> Path:
    """Serve one feed per source, run the CLI twice, check the second changes nothing."""
    with LocalServer() as server:
        sources = []
        for slug, (name, path, layouts, item) in items.items():
            server.add(path, Route(rss([item])))
            sources.append(
                {"name": name, "slug": slug, "url": server.url(path), "layouts": layouts}
            )
        config = write_config(tmp_path, sources)
        first = cli("--config", str(config), "run")
        assert first.returncode == 0, first.stdout + first.stderr
        archive = tmp_path / "archive"
        before = snapshot(archive)
        second = cli("--config", str(config), "run")
        assert second.returncode == 0, second.stdout + second.stderr
        assert snapshot(archive) == before, "a run against unchanged feeds changed files"
        for _, path, _, _ in items.values():
            last = server.requests_for(path)[-1]
            assert "If-None-Match" in last.headers, "the second run sent no conditional request"
        assert "304" in second.stdout
    return archive


def test_both_seeds_byte_for_byte_through_the_cli(tmp_path: Path) -> None:
    jekyll_raw, jekyll_item = read_seed(JEKYLL_SEED)
    markdown_raw, markdown_item = read_seed(MARKDOWN_SEED)
    # As real feeds carry them: content:encoded over indented lines, and an
    # entity-escaped description.
    jekyll_item.content = spread(jekyll_item.content or "")
    markdown_item.description, markdown_item.content = spread(markdown_item.content or ""), None
    archive = run_twice(
        tmp_path,
        {
            "epochtimes": ("大纪元", "/epoch.xml", ["jekyll"], jekyll_item),
            "voa": ("美国之音", "/voa.xml", ["markdown"], markdown_item),
        },
    )
    posts = list((archive / "_posts").iterdir())
    assert [p.name for p in posts] == ["2020-11-21-台美经济对话达九大成果 深化紧密伙伴关系.md"]
    assert posts[0].read_bytes() == jekyll_raw
    assert (archive / "articles/voa/1048575.md").read_bytes() == markdown_raw


def test_seed_content_on_one_line_also_comes_out_exact(tmp_path: Path) -> None:
    jekyll_raw, jekyll_item = read_seed(JEKYLL_SEED)
    markdown_raw, markdown_item = read_seed(MARKDOWN_SEED)
    archive = run_twice(
        tmp_path,
        {
            "epochtimes": ("大纪元", "/epoch.xml", ["jekyll", "markdown"], jekyll_item),
            "voa": ("美国之音", "/voa.xml", ["jekyll", "markdown"], markdown_item),
        },
    )
    (post,) = [p for p in (archive / "_posts").iterdir() if "台美" in p.name]
    assert post.read_bytes() == jekyll_raw
    assert (archive / "articles/voa/1048575.md").read_bytes() == markdown_raw
    lists = (archive / "lists/美国之音.md").read_text(encoding="utf-8")
    assert lists.startswith("美国之音\n------\n\n7-16 [助台护邦交")
    assert "(/articles/voa/1048575.md)\n\n" in lists


@pytest.mark.parametrize("seed", [JEKYLL_SEED, MARKDOWN_SEED])
def test_seeds_survive_the_formats_unchanged(seed: str) -> None:
    """The flattening rule leaves the seeds' already-flat content as it is."""
    from newsmirror.publish.formats import flatten_content

    _, item = read_seed(seed)
    assert flatten_content(item.content or "") == item.content


def test_seed_image_proxy_comes_from_the_policy(tmp_path: Path) -> None:
    """The markdown seed's weserv image URL is what images = "proxy" makes of the original."""
    markdown_raw, markdown_item = read_seed(MARKDOWN_SEED)
    proxy = "https://images.weserv.nl?url="
    assert proxy in (markdown_item.content or "")
    markdown_item.content = spread((markdown_item.content or "").replace(proxy, "https://"))
    with LocalServer() as server:
        url = server.add("/voa.xml", Route(rss([markdown_item])))
        config = write_config(
            tmp_path, [{"name": "美国之音", "slug": "voa", "url": url, "layouts": ["markdown"]}]
        )
        config.write_text(
            config.read_text(encoding="utf-8") + 'images = "proxy"\n', encoding="utf-8"
        )
        result = cli("--config", str(config), "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "archive/articles/voa/1048575.md").read_bytes() == markdown_raw
