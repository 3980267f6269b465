"""Publish: the store's articles written out as archive files (SPEC.md "Archive layouts").

File names are given once, inside the store transaction that first holds an
article, and kept for ever. Publishing writes the articles marked dirty (new
or changed since their file was last written), then each source's list and
the README; every file is written atomically and only when its bytes change.
An article is marked clean only after its files are on disk, so a crash at
any point leaves work that the next publish finishes.

Publishing never fetches, never parses and never changes an article.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ..config import Config, SourceConfig
from ..images import rewrite_images
from ..store import Article, Store
from . import formats
from .files import flush_to_disk, write_if_changed
from .names import jekyll_name, list_name, markdown_name

__all__ = ["PublishReport", "assign_names", "publish"]


@dataclass(frozen=True)
class PublishReport:
    written: tuple[str, ...]  # archive-relative paths written, in order
    articles: int  # articles rendered


def assign_names(
    store: Store,
    db: sqlite3.Connection,
    source: SourceConfig,
    archive: Path,
    unnamed: Mapping[str, Sequence[tuple[int, datetime, str]]],
) -> None:
    """Give file names to articles that have none yet, oldest first, per layout.

    ``unnamed`` maps a layout to ``(article id, published_at, title)`` in
    publication order. Must run inside ``store.transaction()``.
    """
    if "markdown" in source.layouts and unnamed.get("markdown"):
        rows = unnamed["markdown"]
        for (article_id, _, _), markdown_id in zip(
            rows, store.take_markdown_ids(db, source.slug, len(rows)), strict=True
        ):
            store.set_markdown_id(db, article_id, markdown_id)
    if "jekyll" in source.layouts:
        for article_id, published_at, title in unnamed.get("jekyll", ()):

            def taken(path: str) -> bool:
                # A file already there that the store does not know is someone
                # else's (an older archive): never overwrite it.
                return store.jekyll_path_taken(db, path) or (archive / path).exists()

            store.set_jekyll_path(db, article_id, jekyll_name(published_at, title, taken))


def _name_missing(store: Store, config: Config) -> None:
    """Names for articles of layouts turned on after they were stored."""
    for source in config.sources:
        unnamed = {layout: store.unnamed(source.slug, layout) for layout in source.layouts}
        unnamed = {layout: rows for layout, rows in unnamed.items() if rows}
        if any(unnamed.values()):
            with store.transaction() as db:
                assign_names(store, db, source, config.archive.path, unnamed)


def publish(store: Store, config: Config, *, everything: bool = False) -> PublishReport:
    """Write dirty articles (or ``everything``), then the lists they appear in, and README."""
    _name_missing(store, config)
    root = config.archive.path
    by_slug = {source.slug: source for source in config.sources}
    written: list[str] = []
    done: list[int] = []
    touched: set[str] = set()
    for article in store.articles(dirty_only=not everything):
        source = by_slug.get(article.source)
        if source is not None:
            written.extend(_write_article(store, root, article, source))
            touched.add(source.slug)
        done.append(article.id)
    written.extend(_write_lists(store, config, touched, everything))
    if written:
        flush_to_disk()
    if done:
        store.mark_clean(done)
    return PublishReport(tuple(written), len(done))


def _write_article(store: Store, root: Path, article: Article, source: SourceConfig) -> list[str]:
    local = store.local_images(article.id) if source.images == "mirror" else {}
    files: list[tuple[str, str]] = []
    if "jekyll" in source.layouts and article.jekyll_path:
        shown = _with_images(article, source, local, article.jekyll_path)
        files.append((article.jekyll_path, formats.jekyll_post(shown, source.name)))
    if "markdown" in source.layouts and article.markdown_id is not None:
        path = markdown_name(source.slug, article.markdown_id)
        files.append((path, formats.markdown_article(_with_images(article, source, local, path))))
    return [path for path, text in files if write_if_changed(root / path, text.encode("utf-8"))]


def _with_images(
    article: Article, source: SourceConfig, local: Mapping[str, str], path: str
) -> Article:
    """The article as a file at ``path`` shows it: images per the source's policy.

    Mirrored images are linked relative to the file (``../assets/…`` from
    ``_posts/``), so the archive shows them from a clone with no network.
    """
    if source.images == "keep":
        return article
    prefix = "../" * path.count("/")
    content = rewrite_images(
        article.content,
        source.images,
        proxy_template=source.image_proxy,
        local=local,
        prefix=prefix,
    )
    return article if content == article.content else replace(article, content=content)


def _write_lists(store: Store, config: Config, touched: set[str], everything: bool) -> list[str]:
    root = config.archive.path
    sources = [s for s in config.sources if "markdown" in s.layouts]
    written = []
    for source in sources:
        path = list_name(source.name)
        if not (everything or source.slug in touched or not (root / path).exists()):
            continue
        newest = store.newest(source.slug, formats.LIST_LENGTH)
        text = formats.source_list(source.name, source.slug, newest, config.archive.zone)
        if write_if_changed(root / path, text.encode("utf-8")):
            written.append(path)
    if sources:
        text = formats.readme(config.site.title, [s.name for s in sources])
        if write_if_changed(root / "README.md", text.encode("utf-8")):
            written.append("README.md")
    return written
