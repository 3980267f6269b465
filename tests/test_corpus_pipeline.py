"""Every real feed of ../shared/corpus through the whole pipeline: archive, site, search.

Real feeds carry what no hand-written fixture thinks of (titles with newlines,
Big5 and GB2312, 0.9x and Atom 0.3, escaped HTML with raw children, empty
feeds). Each is served over HTTP as one source; the run must archive them all
with none failing, write only safe names, and build a site whose pages load
nothing from another host but kept images.
"""

from __future__ import annotations

import re
from pathlib import Path

from newsmirror import open_mirror
from newsmirror.localserver import LocalServer, Route
from newsmirror.parse import parse_feed

from .conftest import CORPUS, need_shared
from .feedkit import snapshot, write_config

SLUG = re.compile(r"[^a-z0-9]+")


def test_all_corpus_feeds_through_the_pipeline(tmp_path: Path, server: LocalServer) -> None:
    feeds = sorted(
        p for p in need_shared(CORPUS / "feeds").rglob("*") if p.suffix in (".xml", ".json")
    )
    assert len(feeds) >= 40
    sources = []
    for index, path in enumerate(feeds):
        url = server.add(f"/{index}{path.suffix}", Route(path.read_bytes()))
        slug = SLUG.sub("-", path.stem.lower()).strip("-")[:40] + f"-{index}"
        sources.append({"name": f"{path.parent.name}/{path.stem}", "slug": slug, "url": url})
    config = write_config(tmp_path, sources)
    with open_mirror(config) as mirror:
        report = mirror.run()
        failed = [(r.slug, r.error) for r in report.results if r.failed]
        assert failed == []
        archived = sum(r.new for r in report.results)
        # Every entry is archived once: what is not new was listed twice in its feed.
        by_slug = {r.slug: r for r in report.results}
        for source, path in zip(sources, feeds, strict=True):
            entries = len(parse_feed(path.read_bytes(), url=str(path)).entries)
            result = by_slug[str(source["slug"])]
            assert result.new + result.duplicates == entries, path.name
        assert archived > 1200
        statuses = {s.slug: s.articles for s in mirror.status()}
        assert sum(statuses.values()) == archived
        hits = mirror.search("台湾")
        assert hits, "a two-character query finds real articles"
        assert all("台湾" in h.title or "台湾" in h.snippet for h in hits)
    archive = tmp_path / "archive"
    for path in archive.rglob("*"):
        assert path.resolve().is_relative_to(archive.resolve())
        name = path.name
        assert not any(c in name for c in '\\:*?"<>|') and "\n" not in name, name
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "search-index/meta.js").is_file()
    # A second run against the same feeds changes nothing, archive or site.
    before = snapshot(archive), snapshot(site)
    with open_mirror(config) as mirror:
        again = mirror.run()
    assert all(r.outcome == "not_modified" for r in again.results)
    after = snapshot(archive), snapshot(site)
    for old, new in zip(before, after, strict=True):
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        assert changed == []
