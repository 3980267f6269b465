"""Building the site: read the store, decide the pages (``plan``), render, write.

A full build renders every page; an incremental one (after a run) renders only
what the articles flagged ``site_dirty`` affect (``plan.select_pages``). Either
way a file is written only when its bytes change (``write_if_changed``:
atomic, mtime kept otherwise), and the flags are cleared only once the files
are on disk, so a build that dies half way is finished by the next one.

A build becomes full by itself when the site has never been built here, or
when what every page depends on changed: the templates, the stylesheet, the
site's title, the time zone, the sources' names and image policies (see
``fingerprint``). It is recorded in ``.newsmirror-site.json`` in the site
folder, with the time of the last build that changed anything, which
``about.html`` shows: a build that changes nothing writes nothing, not even
that page.

Mirrored images are hard-linked (copied when that fails, e.g. across file
systems) from the archive's ``assets/`` into the site's, by the same
content-hash path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import operator
import os
import re
import secrets
import shutil
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Config
from ..errors import PublishError
from ..images import rewrite_images
from ..processes import process_pool, usable_cores
from ..publish.files import flush_to_disk, write_if_changed
from ..store import EPOCH, Store, open_store, to_ms
from ..text import plain_text
from . import feeds, plan
from .content import http_link
from .plan import Entry, Page, SiteIndex
from .render import STYLESHEET, Clock, Details, Renderer, root_of
from .searchindex import INDEX_DIR as SEARCH_INDEX_DIR
from .searchindex import Document, SearchIndexReport, Texts, index_site
from .stamp import (
    STAMP,
    STATIC_DIR,
    SiteReport,
    built_as,
    fingerprint,
    nothing_to_build,
    read_stamp,
)

log = logging.getLogger(__name__)

# Articles whose bodies are in memory at once (bodies are 2-8 KB; 500 ≈ 4 MB).
CHUNK = 500
# Changed articles from which the search index is updated in a worker process
# while the pages render (starting one costs about 0.3 s; 500 articles take 0.5 s).
PARALLEL_INDEX_AT = 2000
# What the mirror stage names an image: assets/{sha256[:2]}/{sha256}.{ext}.
_ASSET_PATH = re.compile(r"assets/([0-9a-f]{2})/\1[0-9a-f]{62}\.(?:jpg|png|gif|webp|avif)")


def build_site(
    store: Store, config: Config, *, everything: bool = False, now: datetime | None = None
) -> SiteReport:
    """Build the static site into ``config.site.path``; see the module docstring."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    site = config.site.path
    clock = Clock(config.archive.zone)
    # The flags first: an article stored while this build reads is left flagged for the next.
    dirty = store.site_dirty_ids()
    stamp = read_stamp(site)
    version = fingerprint(config)
    if not everything and (done := nothing_to_build(site, stamp, version, dirty, started)):
        return done
    full = everything or not built_as(stamp, version)
    index = SiteIndex(
        (
            Entry(article_id, source, title, published, clock.day(published))
            for article_id, source, title, published in store.site_rows()
        ),
        [s.slug for s in config.sources],
    )
    if full:
        pages = plan.all_pages(index)
    else:
        new = [i for i in dirty if i in index.by_id and not (site / index.by_id[i].path).exists()]
        pages = plan.select_pages(index, dirty, new)

    builder = _Builder(store, config, index, site)
    builder.static()
    # A big change of the search index is made in another process while this one
    # renders the pages (the index needs only the store and the site folder).
    job = None
    changed = len(index.entries) if full else len(dirty)
    if changed >= PARALLEL_INDEX_AT and usable_cores() > 1:
        job = _IndexJob(store, config, index, full=everything)
    builder.articles(sorted((p for p in pages if p.kind == plan.ARTICLE), key=_article_id))
    for kind in (plan.NUMBERED, plan.DAY, plan.SOURCE_MONTH, plan.DAYS, plan.SOURCE, plan.SEARCH):
        builder.pages(sorted(p for p in pages if p.kind == kind))
    builder.feed_files(sorted(p for p in pages if p.kind in (plan.SOURCE_FEEDS, plan.FEEDS)))
    builder.pages([Page(plan.HOME)])
    previous = stamp.get("built_at") if stamp else None
    built_at = builder.about(now, previous if isinstance(previous, int) else None)
    builder.write(STAMP, json.dumps({"format": version, "built_at": built_at}) + "\n")

    indexed = None
    # The search index follows the article pages: updated when one changed, when
    # articles were dirty (a build killed half way through the index leaves them
    # so), when it is missing, or (``everything``) to be built whole if it is not
    # already as a whole build leaves it. It compares its own state with the
    # articles' revisions, indexes only new and changed articles and writes only
    # files whose bytes change, so a run that changes nothing writes nothing.
    if job is not None:
        indexed = job.result(store)
    elif (
        everything
        or dirty
        or any(path.startswith("articles/") for path in builder.written)
        or not (site / SEARCH_INDEX_DIR).is_dir()
    ):
        documents, ids = _search_documents(store, config, index)
        indexed = index_site(site, documents, _search_texts(store, ids), full=everything)
    if builder.written or indexed is not None:
        flush_to_disk()
    if dirty:
        _clear_site_dirty(store, dirty)
    return SiteReport(
        written=tuple(builder.written),
        unchanged=builder.unchanged,
        skipped=plan.count_pages(index) - len(pages),
        seconds=time.perf_counter() - started,
        full=full,
        search=indexed,
    )


def _search_documents(
    store: Store, config: Config, index: SiteIndex
) -> tuple[list[Document], dict[str, int]]:
    """Every article page as the search index lists it (what its ``data-pagefind-*``
    attributes say), in the order of article ids, with the article id of each URL.
    The version is the article's revision: a new one is indexed again."""
    names = {source.slug: source.name for source in config.sources}
    revisions = store.site_revisions()
    documents: list[Document] = []
    ids: dict[str, int] = {}
    for entry in sorted(index.entries, key=operator.attrgetter("id")):
        url = urllib.parse.quote(entry.path)
        ids[url] = entry.id
        documents.append(
            Document(
                url=url,
                version=str(revisions.get(entry.id, 0)),
                title=" ".join(entry.title.split()),
                source=names.get(entry.source, entry.source),
                published=entry.published_ms // 60_000,
                date=entry.day,
            )
        )
    return documents, ids


def _search_texts(store: Store, ids: Mapping[str, int]) -> Texts:
    """The text the index holds for an article: its current revision's content as plain
    text, read CHUNK articles at a time as the index asks for them."""

    def texts(documents: Sequence[Document]) -> Iterator[str]:
        wanted = [ids[document.url] for document in documents]
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            contents = {row[0]: row[8] for row in store.site_details(chunk)}
            for article_id in chunk:
                yield " ".join(plain_text(contents.get(article_id)).split())

    return texts


class _IndexJob:
    """The search index, updated by a worker process (``processes``) while pages render.

    Measured on 2 cores, 10,000 new articles: the index takes about as long as
    the pages (5-6 s each), so a cold build takes half the time. The worker
    opens the store itself and reads only. Should it fail to start or die, the
    index is made here, after the pages, as for a small change.
    """

    def __init__(self, store: Store, config: Config, index: SiteIndex, *, full: bool) -> None:
        self.site = config.site.path
        self.full = full
        self.documents, self.ids = _search_documents(store, config, index)
        log.debug("indexing %d documents in a worker process", len(self.documents))
        self.pool = process_pool(1)
        self.future = self.pool.submit(
            _index_elsewhere, self.site, store.path, self.documents, self.ids, full
        )

    def result(self, store: Store) -> SearchIndexReport:
        try:
            outcome: SearchIndexReport | tuple[str, str] | None = self.future.result()
        except (BrokenProcessPool, OSError) as e:
            log.warning("the search index's worker process failed (%s); indexing here", e)
            outcome = None
        finally:
            self.pool.shutdown(wait=True)
        if outcome is None:
            return index_site(
                self.site, self.documents, _search_texts(store, self.ids), full=self.full
            )
        if isinstance(outcome, tuple):
            raise PublishError(*outcome)
        return outcome


def _index_elsewhere(
    site: Path, store_path: Path, documents: Sequence[Document], ids: Mapping[str, int], full: bool
) -> SearchIndexReport | tuple[str, str]:
    """``index_site`` in a worker process; a failure comes back as (path, reason)."""
    store = open_store(store_path)
    try:
        return index_site(site, documents, _search_texts(store, ids), full=full)
    except PublishError as e:
        return (e.path, e.reason)
    finally:
        store.close()


def _article_id(page: Page) -> int:
    return int(page.key)


def _clear_site_dirty(store: Store, article_ids: Sequence[int]) -> None:
    """The site shows these articles now. (The one write the site makes to the store.)"""
    with store.transaction() as db:
        db.executemany(
            "UPDATE articles SET site_dirty = 0 WHERE id = ?", [(i,) for i in article_ids]
        )


class _Builder:
    """Renders pages and writes them, counting what was written and what was not."""

    def __init__(self, store: Store, config: Config, index: SiteIndex, site: Path) -> None:
        self.store = store
        self.config = config
        self.index = index
        self.site = site
        self.archive = config.archive.path
        self.renderer = Renderer(config, index)
        self.sources = {s.slug: s for s in config.sources}
        self.written: list[str] = []
        self.unchanged = 0
        self._assets: set[str] = set()  # asset paths known to be in the site
        self._feed_details: dict[int, Details] = {}
        self._feed_images: dict[int, dict[str, str]] = {}

    def write(self, path: str, text: str) -> None:
        if write_if_changed(self.site / path, text.encode("utf-8")):
            self.written.append(path)
        else:
            self.unchanged += 1

    def static(self) -> None:
        self.write(STYLESHEET, (STATIC_DIR / "style.css").read_text(encoding="utf-8"))
        # GitHub Pages serves the folder as it is (no Jekyll pass) when this file exists.
        self.write(".nojekyll", "")

    def pages(self, pages: Iterable[Page]) -> None:
        renderer = self.renderer
        methods = {
            plan.HOME: renderer.home,
            plan.NUMBERED: renderer.numbered,
            plan.SOURCE: renderer.source,
            plan.SOURCE_MONTH: renderer.source_month,
            plan.DAY: renderer.day,
            plan.DAYS: renderer.days,
            plan.SEARCH: renderer.search,
        }
        for page in pages:
            self.write(page.path, methods[page.kind](page))

    # -- articles, streamed CHUNK at a time --------------------------------------------------
    def articles(self, pages: Sequence[Page]) -> None:
        entries = [self.index.by_id[int(p.key)] for p in pages]
        for start in range(0, len(entries), CHUNK):
            chunk = entries[start : start + CHUNK]
            details, images = self._details(chunk)
            for entry in chunk:
                found = details.get(entry.id)
                if found is None:  # gone from the store since the index was read
                    continue
                local = self._assets_for(images.get(entry.id, {}))
                self.write(entry.path, self.renderer.article(entry, found, local))

    def _details(
        self, entries: Sequence[Entry]
    ) -> tuple[dict[int, Details], dict[int, dict[str, str]]]:
        ids = [e.id for e in entries]
        details = {row[0]: Details.from_row(row) for row in self.store.site_details(ids)}
        mirrored = [e.id for e in entries if self.sources[e.source].images == "mirror"]
        images = self.store.site_local_images(mirrored) if mirrored else {}
        return details, images

    def _assets_for(self, local: Mapping[str, str]) -> dict[str, str]:
        """The mirrored images (URL → path) now in the site's ``assets/``; the others
        (a path not made by the mirror stage, a file gone from the archive) keep
        their original URL, as an image not yet mirrored does."""
        usable: dict[str, str] = {}
        for url, path in local.items():
            if path in self._assets or (_ASSET_PATH.fullmatch(path) and self._copy_asset(path)):
                self._assets.add(path)
                usable[url] = path
        return usable

    def _copy_asset(self, path: str) -> bool:
        source, target = self.archive / path, self.site / path
        try:
            size = source.stat().st_size
        except OSError:
            log.warning("mirrored image %s is missing from the archive", source)
            return False
        with contextlib.suppress(OSError):
            # The name is the content's hash: a file of the right size is the same image.
            if target.stat().st_size == size:
                return True
        temporary = target.with_name(f".newsmirror-{secrets.token_hex(4)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, temporary)
            except OSError:  # another file system, or links not allowed: copy
                shutil.copyfile(source, temporary)
            os.replace(temporary, target)
        except OSError as e:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise PublishError(target, f"cannot copy the mirrored image: {e.strerror}") from e
        self.written.append(path)
        return True

    # -- feeds -------------------------------------------------------------------------------
    def feed_files(self, pages: Sequence[Page]) -> None:
        # Sources' feeds first, so that the overall feed finds its articles' bodies read;
        # only those are kept (every source's would be 100 MB for 200 sources).
        overall = {entry.id for entry in self.index.entries[-plan.FEED_SIZE :]}
        for page in sorted(pages, key=lambda p: p.kind != plan.SOURCE_FEEDS):
            slug = page.source or None
            entries = self.index.by_source[slug] if slug else self.index.entries
            newest = list(reversed(entries[-plan.FEED_SIZE :]))
            atom_path, json_path = page.paths
            feed = self._feed(slug, newest, root_of(atom_path))
            self.write(atom_path, feeds.atom(feed))
            self.write(json_path, feeds.json_feed(feed))
            for entry in newest:
                if entry.id not in overall:
                    self._feed_details.pop(entry.id, None)
                    self._feed_images.pop(entry.id, None)

    def _feed(self, slug: str | None, entries: Sequence[Entry], root: str) -> feeds.FeedInfo:
        title = self.config.site.title
        # The overall feed's articles are among their sources' newest: read each once.
        missing = [e for e in entries if e.id not in self._feed_details]
        if missing:
            read, read_images = self._details(missing)
            self._feed_details.update(read)
            self._feed_images.update(read_images)
        details, images = self._feed_details, self._feed_images
        items = []
        for entry in entries:
            found = details.get(entry.id)
            if found is None:
                continue
            source = self.sources[entry.source]
            content = rewrite_images(
                found.content,
                source.images,
                proxy_template=source.image_proxy,
                local=self._assets_for(images.get(entry.id, {})),
                prefix=root,
            )
            updated = found.updated_ms if found.revision > 1 else entry.published_ms
            items.append(
                feeds.FeedItem(
                    id=feeds.item_id(title, entry.source, found.key),
                    title=entry.title,
                    link=http_link(found.link),
                    page=root + entry.path,
                    content_html=content,
                    author=found.author or source.name,
                    published=_utc(entry.published_ms),
                    updated=_utc(max(updated, entry.published_ms)),
                    categories=found.categories,
                )
            )
        return feeds.FeedInfo(
            id=feeds.feed_id(title, slug or ""),
            title=f"{self.sources[slug].name} · {title}" if slug else title,
            page="index.html",
            atom_path="feed.atom",
            json_path="feed.json",
            author=title,
            items=items,
        )

    # -- about.html, last ----------------------------------------------------------------------
    def about(self, now: datetime, previous_ms: int | None) -> int:
        """Write about.html; the build time it shows (and returns) is this build's only
        when something changed: otherwise the page stays as it was, unwritten."""
        page = Page(plan.ABOUT)
        stored = self.store.sources(now)
        if previous_ms is not None and not self.written:
            text = self.renderer.about(page, stored, previous_ms)
            with contextlib.suppress(OSError):
                if (self.site / page.path).read_bytes() == text.encode("utf-8"):
                    self.unchanged += 1
                    return previous_ms
        built_ms = to_ms(now)
        self.write(page.path, self.renderer.about(page, stored, built_ms))
        return built_ms


def _utc(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)
