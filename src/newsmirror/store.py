"""The store: one SQLite file in WAL mode, the single source of truth.

Tables: ``sources`` (HTTP validators and health), ``articles`` (one row per
stable key, with the names its files were given), ``revisions`` (every content
an article has had; the newest is current) and ``fetch_log``. The schema lives
here only, versioned by ``PRAGMA user_version`` and moved forward by numbered
migrations, each a plain function run in its own transaction.

Times are integers, milliseconds since the epoch in UTC. Nothing is ever
deleted by a run; a source's results are committed in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .decide import Candidate, Known
from .errors import StoreError
from .models import HttpCache
from .text import plain_text

# Ids of the markdown layout count down from 0xFFFFF (SPEC.md "markdown").
FIRST_MARKDOWN_ID = 0xFFFFF
# SQLite caps bound parameters (999 in old builds); look keys up in chunks below it.
KEY_CHUNK = 500
BUSY_TIMEOUT_MS = 30_000


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True)
class StoredSource:
    slug: str
    name: str
    url: str
    cache: HttpCache
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    article_count: int = 0
    last_7_days: int = 0


@dataclass(frozen=True)
class Article:
    """An article as publishing sees it: current revision, file names."""

    id: int
    source: str
    key: str
    title: str
    link: str
    content: str
    author: str | None
    categories: tuple[str, ...]
    published_at: datetime
    first_seen_at: datetime
    revision: int
    markdown_id: int | None
    jekyll_path: str | None


@dataclass(frozen=True)
class ListedArticle:
    title: str
    published_at: datetime
    markdown_id: int


@dataclass(frozen=True)
class FetchRecord:
    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" | "not_modified" | "failed"
    http_status: int | None = None
    url: str = ""
    final_url: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    filtered: int = 0
    error: str | None = None
    bytes: int = 0
    attempts: int = 0


# -- schema -------------------------------------------------------------------


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the migration's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):  # a trigger's body holds ";" too
            db.execute(statement)
            statement = ""
    if statement.strip():
        db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE sources (
            slug TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_attempt_at INTEGER,
            last_success_at INTEGER,
            last_error TEXT,
            last_error_at INTEGER,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            next_markdown_id INTEGER NOT NULL DEFAULT 1048575
        );
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL REFERENCES sources(slug),
            key TEXT NOT NULL,
            guid TEXT,
            link TEXT NOT NULL,
            title TEXT NOT NULL,
            author TEXT,
            categories TEXT NOT NULL DEFAULT '[]',
            published_at INTEGER NOT NULL,
            date_from_feed INTEGER NOT NULL,
            first_seen_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            revision INTEGER NOT NULL DEFAULT 1,
            fingerprint TEXT NOT NULL,
            markdown_id INTEGER,
            jekyll_path TEXT,
            dirty INTEGER NOT NULL DEFAULT 1,
            UNIQUE (source, key)
        );
        CREATE UNIQUE INDEX articles_jekyll_path
            ON articles (jekyll_path COLLATE NOCASE) WHERE jekyll_path IS NOT NULL;
        CREATE UNIQUE INDEX articles_markdown_id
            ON articles (source, markdown_id) WHERE markdown_id IS NOT NULL;
        CREATE INDEX articles_newest ON articles (source, published_at DESC);
        CREATE INDEX articles_dirty ON articles (dirty) WHERE dirty = 1;
        CREATE INDEX articles_no_markdown_id ON articles (source) WHERE markdown_id IS NULL;
        CREATE INDEX articles_no_jekyll_path ON articles (source) WHERE jekyll_path IS NULL;
        CREATE TABLE revisions (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            revision INTEGER NOT NULL,
            seen_at INTEGER NOT NULL,
            title TEXT NOT NULL,
            link TEXT NOT NULL,
            content TEXT NOT NULL,
            PRIMARY KEY (article_id, revision)
        ) WITHOUT ROWID;
        CREATE TABLE fetch_log (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            finished_at INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            url TEXT NOT NULL,
            final_url TEXT,
            new INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            filtered INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            bytes INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX fetch_log_by_source ON fetch_log (source, started_at DESC);
        """,
    )


def _migration_2(db: sqlite3.Connection) -> None:
    """Raw content and notes per revision; images kept for the ``mirror`` policy.

    ``raw`` is the content as received when cleaning changed it, else NULL (the
    content is as received; earlier versions stored it twice).
    """
    _run_script(
        db,
        """
        ALTER TABLE revisions ADD COLUMN raw TEXT;
        ALTER TABLE revisions ADD COLUMN note TEXT;
        CREATE TABLE images (
            url TEXT PRIMARY KEY,
            path TEXT,
            content_type TEXT,
            size INTEGER,
            sha256 TEXT,
            first_seen_at INTEGER NOT NULL,
            last_attempt_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            permanent INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX images_pending ON images (url) WHERE path IS NULL AND permanent = 0;
        CREATE TABLE article_images (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            url TEXT NOT NULL REFERENCES images(url),
            PRIMARY KEY (article_id, url)
        ) WITHOUT ROWID;
        CREATE INDEX article_images_by_url ON article_images (url);
        """,
    )


def _migration_3(db: sqlite3.Connection) -> None:
    """Full-text search kept current by a trigger; a flag for the site's incremental build.

    FTS5 with the trigram tokenizer finds any substring of three characters or
    more, which suits Chinese (no spaces between words); shorter queries fall
    back to LIKE over the same table (see ``Store.search``).
    """
    _run_script(
        db,
        """
        ALTER TABLE articles ADD COLUMN site_dirty INTEGER NOT NULL DEFAULT 1;
        CREATE INDEX articles_site_dirty ON articles (site_dirty) WHERE site_dirty = 1;
        CREATE VIRTUAL TABLE search USING fts5(title, body, tokenize = 'trigram');
        CREATE TRIGGER search_follows_revisions AFTER INSERT ON revisions BEGIN
            DELETE FROM search WHERE rowid = new.article_id;
            INSERT INTO search (rowid, title, body)
                VALUES (new.article_id, new.title, newsmirror_text(new.content));
        END;
        INSERT INTO search (rowid, title, body)
            SELECT a.id, a.title, newsmirror_text(r.content)
            FROM articles a JOIN revisions r ON r.article_id = a.id AND r.revision = a.revision;
        """,
    )


def _migration_4(db: sqlite3.Connection) -> None:
    """When a scheduled run may poll each source next (Cache-Control, Retry-After, backoff)."""
    _run_script(db, "ALTER TABLE sources ADD COLUMN next_poll_at INTEGER;")


def _migration_5(db: sqlite3.Connection) -> None:
    """The search table is brought up to date when searched, not on every insert.

    Indexing each revision's text as it was stored (migration 3's trigger) took
    most of a cold run's store time: about 1.2 ms per article of 10 KB, 12 s for
    10,000. Now a revision only queues its article in ``search_pending``, and
    :func:`refresh_search` indexes the queue in bulk before a search reads the table.
    """
    _run_script(
        db,
        """
        DROP TRIGGER search_follows_revisions;
        CREATE TABLE search_pending (article_id INTEGER PRIMARY KEY);
        CREATE TRIGGER search_pending_revisions AFTER INSERT ON revisions BEGIN
            INSERT OR IGNORE INTO search_pending (article_id) VALUES (new.article_id);
        END;
        """,
    )


# Append only: a migration once released is never edited, only followed by another.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
)
SCHEMA_VERSION = len(MIGRATIONS)


class Store:
    """A connection to the store; open with :func:`open_store`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(self.path, f"cannot start a transaction: {e}") from e
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as e:
                self.db.execute("ROLLBACK")
                raise StoreError(self.path, f"cannot commit: {e}") from e

    # -- sources --------------------------------------------------------------
    def sync_sources(self, sources: Iterable[tuple[str, str, str]]) -> None:
        """Make the sources table know every configured (slug, name, url)."""
        with self.transaction() as db:
            for slug, name, url in sources:
                db.execute(
                    "INSERT INTO sources (slug, name, url) VALUES (?, ?, ?) "
                    "ON CONFLICT (slug) DO UPDATE SET name = excluded.name, url = excluded.url",
                    (slug, name, url),
                )

    def http_cache(self, slug: str) -> HttpCache:
        row = self.db.execute(
            "SELECT etag, last_modified, url FROM sources WHERE slug = ?", (slug,)
        ).fetchone()
        if row is None:
            return HttpCache()
        return HttpCache(etag=row[0], last_modified=row[1])

    def sources(self, now: datetime | None = None) -> list[StoredSource]:
        week_ago = to_ms(now) - 7 * 86_400_000 if now else 0
        rows = self.db.execute(
            """
            SELECT s.slug, s.name, s.url, s.etag, s.last_modified, s.last_attempt_at,
                   s.last_success_at, s.last_error, s.last_error_at, s.consecutive_failures,
                   (SELECT count(*) FROM articles a WHERE a.source = s.slug),
                   (SELECT count(*) FROM articles a
                     WHERE a.source = s.slug AND a.first_seen_at >= ?)
            FROM sources s ORDER BY s.slug
            """,
            (week_ago,),
        ).fetchall()
        return [
            StoredSource(
                slug=r[0],
                name=r[1],
                url=r[2],
                cache=HttpCache(r[3], r[4]),
                last_attempt_at=_maybe_time(r[5]),
                last_success_at=_maybe_time(r[6]),
                last_error=r[7],
                last_error_at=_maybe_time(r[8]),
                consecutive_failures=r[9],
                article_count=r[10],
                last_7_days=r[11],
            )
            for r in rows
        ]

    def known(self, slug: str, keys: Sequence[str]) -> dict[str, Known]:
        found: dict[str, Known] = {}
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start : start + KEY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, article_id, print_ in self.db.execute(
                f"SELECT key, id, fingerprint FROM articles WHERE source = ? AND key IN ({marks})",
                (slug, *chunk),
            ):
                found[key] = Known(article_id, print_)
        return found

    # -- writes within a transaction --------------------------------------------
    def record_success(
        self, db: sqlite3.Connection, slug: str, cache: HttpCache | None, at: datetime
    ) -> None:
        if cache is not None:
            db.execute(
                "UPDATE sources SET etag = ?, last_modified = ? WHERE slug = ?",
                (cache.etag, cache.last_modified, slug),
            )
        db.execute(
            "UPDATE sources SET last_attempt_at = ?, last_success_at = ?, "
            "consecutive_failures = 0 WHERE slug = ?",
            (to_ms(at), to_ms(at), slug),
        )

    def record_failure(self, db: sqlite3.Connection, slug: str, error: str, at: datetime) -> None:
        db.execute(
            "UPDATE sources SET last_attempt_at = ?, last_error = ?, last_error_at = ?, "
            "consecutive_failures = consecutive_failures + 1 WHERE slug = ?",
            (to_ms(at), error, to_ms(at), slug),
        )

    def set_next_poll(self, db: sqlite3.Connection, slug: str, at: datetime) -> None:
        db.execute("UPDATE sources SET next_poll_at = ? WHERE slug = ?", (to_ms(at), slug))

    def poll_state(self, slug: str) -> tuple[datetime | None, int]:
        """(when a scheduled run may poll the source next, its failures in a row)."""
        row = self.db.execute(
            "SELECT next_poll_at, consecutive_failures FROM sources WHERE slug = ?", (slug,)
        ).fetchone()
        if row is None:
            return None, 0
        return _maybe_time(row[0]), int(row[1])

    def log_fetch(self, db: sqlite3.Connection, record: FetchRecord) -> None:
        db.execute(
            "INSERT INTO fetch_log (source, started_at, finished_at, outcome, http_status, url, "
            "final_url, new, updated, unchanged, filtered, error, bytes, attempts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.source,
                to_ms(record.started_at),
                to_ms(record.finished_at),
                record.outcome,
                record.http_status,
                record.url,
                record.final_url,
                record.new,
                record.updated,
                record.unchanged,
                record.filtered,
                record.error,
                record.bytes,
                record.attempts,
            ),
        )

    def insert_article(
        self,
        db: sqlite3.Connection,
        slug: str,
        candidate: Candidate,
        seen_at: datetime,
    ) -> int:
        cursor = db.execute(
            "INSERT INTO articles (source, key, guid, link, title, author, categories, "
            "published_at, date_from_feed, first_seen_at, updated_at, revision, fingerprint, "
            "dirty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, 1)",
            (
                slug,
                candidate.key,
                candidate.guid,
                candidate.link,
                candidate.title,
                candidate.author,
                json.dumps(candidate.categories, ensure_ascii=False),
                to_ms(candidate.published_at),
                int(candidate.date_from_feed),
                to_ms(seen_at),
                to_ms(seen_at),
                candidate.fingerprint,
            ),
        )
        article_id = int(cursor.lastrowid or 0)
        self._add_revision(db, article_id, 1, candidate, seen_at)
        return article_id

    def update_article(
        self, db: sqlite3.Connection, article_id: int, candidate: Candidate, seen_at: datetime
    ) -> None:
        """A new revision; the published time and the file names stay as first given."""
        (revision,) = db.execute(
            "SELECT revision FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        db.execute(
            "UPDATE articles SET link = ?, title = ?, author = ?, categories = ?, updated_at = ?, "
            "revision = ?, fingerprint = ?, dirty = 1, site_dirty = 1 WHERE id = ?",
            (
                candidate.link,
                candidate.title,
                candidate.author,
                json.dumps(candidate.categories, ensure_ascii=False),
                to_ms(seen_at),
                revision + 1,
                candidate.fingerprint,
                article_id,
            ),
        )
        self._add_revision(db, article_id, revision + 1, candidate, seen_at)

    def _add_revision(
        self,
        db: sqlite3.Connection,
        article_id: int,
        revision: int,
        candidate: Candidate,
        seen_at: datetime,
    ) -> None:
        db.execute(
            "INSERT INTO revisions "
            "(article_id, revision, seen_at, title, link, content, raw, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article_id,
                revision,
                to_ms(seen_at),
                candidate.title,
                candidate.link,
                candidate.content,
                candidate.raw,
                candidate.note,
            ),
        )

    def take_markdown_ids(self, db: sqlite3.Connection, slug: str, count: int) -> list[int]:
        """The next ``count`` ids of a source, counting down (SPEC.md "markdown")."""
        (next_id,) = db.execute(
            "SELECT next_markdown_id FROM sources WHERE slug = ?", (slug,)
        ).fetchone()
        if next_id - count < -1:
            raise StoreError(self.path, f"source {slug!r} has used every markdown id")
        db.execute(
            "UPDATE sources SET next_markdown_id = ? WHERE slug = ?", (next_id - count, slug)
        )
        return list(range(next_id, next_id - count, -1))

    def set_markdown_id(self, db: sqlite3.Connection, article_id: int, markdown_id: int) -> None:
        db.execute("UPDATE articles SET markdown_id = ? WHERE id = ?", (markdown_id, article_id))

    def jekyll_path_taken(self, db: sqlite3.Connection, path: str) -> bool:
        row = db.execute(
            "SELECT 1 FROM articles WHERE jekyll_path = ? COLLATE NOCASE", (path,)
        ).fetchone()
        return row is not None

    def set_jekyll_path(self, db: sqlite3.Connection, article_id: int, path: str) -> None:
        db.execute("UPDATE articles SET jekyll_path = ? WHERE id = ?", (path, article_id))

    # -- images (the ``mirror`` policy) --------------------------------------------------
    def record_images(
        self, db: sqlite3.Connection, article_id: int, urls: Sequence[str], at: datetime
    ) -> None:
        """Remember that an article shows these images (originals, for the record)."""
        db.executemany(
            "INSERT OR IGNORE INTO images (url, first_seen_at) VALUES (?, ?)",
            [(url, to_ms(at)) for url in urls],
        )
        db.executemany(
            "INSERT OR IGNORE INTO article_images (article_id, url) VALUES (?, ?)",
            [(article_id, url) for url in urls],
        )

    def pending_images(self) -> list[str]:
        """Images not yet downloaded whose failures so far may pass."""
        rows = self.db.execute(
            "SELECT url FROM images WHERE path IS NULL AND permanent = 0 "
            "ORDER BY first_seen_at, url"
        ).fetchall()
        return [r[0] for r in rows]

    def image_downloaded(
        self,
        db: sqlite3.Connection,
        url: str,
        *,
        path: str,
        content_type: str | None,
        size: int,
        sha256: str | None,
        at: datetime,
    ) -> None:
        """An image is in the archive: the articles showing it are published again."""
        db.execute(
            "UPDATE images SET path = ?, content_type = ?, size = ?, sha256 = ?, "
            "last_attempt_at = ?, attempts = attempts + 1, error = NULL WHERE url = ?",
            (path, content_type, size, sha256, to_ms(at), url),
        )
        db.execute(
            "UPDATE articles SET dirty = 1, site_dirty = 1 "
            "WHERE id IN (SELECT article_id FROM article_images WHERE url = ?)",
            (url,),
        )

    def image_failed(
        self, db: sqlite3.Connection, url: str, *, error: str, permanent: bool, at: datetime
    ) -> None:
        db.execute(
            "UPDATE images SET last_attempt_at = ?, attempts = attempts + 1, error = ?, "
            "permanent = ? WHERE url = ?",
            (to_ms(at), error, int(permanent), url),
        )

    def local_images(self, article_id: int) -> dict[str, str]:
        """Original URL → archive path of an article's downloaded images."""
        rows = self.db.execute(
            "SELECT i.url, i.path FROM article_images a JOIN images i ON i.url = a.url "
            "WHERE a.article_id = ? AND i.path IS NOT NULL",
            (article_id,),
        ).fetchall()
        return {url: path for url, path in rows}

    # -- reads for publishing -----------------------------------------------------
    _ARTICLE_COLUMNS = (
        "a.id, a.source, a.key, a.title, a.link, r.content, a.author, a.categories, "
        "a.published_at, a.first_seen_at, a.revision, a.markdown_id, a.jekyll_path"
    )
    _ARTICLE_JOIN = "articles a JOIN revisions r ON r.article_id = a.id AND r.revision = a.revision"

    def articles(self, *, dirty_only: bool, source: str | None = None) -> Iterator[Article]:
        where = []
        params: list[object] = []
        if dirty_only:
            where.append("a.dirty = 1")
        if source is not None:
            where.append("a.source = ?")
            params.append(source)
        clause = ("WHERE " + " AND ".join(where)) if where else ""
        cursor = self.db.execute(
            f"SELECT {self._ARTICLE_COLUMNS} FROM {self._ARTICLE_JOIN} {clause} ORDER BY a.id",
            params,
        )
        for row in cursor:
            yield _article(row)

    def newest(self, source: str, limit: int) -> list[ListedArticle]:
        """The newest articles of a source that have a markdown id, for its list."""
        rows = self.db.execute(
            "SELECT title, published_at, markdown_id FROM articles "
            "WHERE source = ? AND markdown_id IS NOT NULL "
            "ORDER BY published_at DESC, markdown_id ASC LIMIT ?",
            (source, limit),
        ).fetchall()
        return [ListedArticle(r[0], from_ms(r[1]), r[2]) for r in rows]

    def unnamed(self, source: str, layout: str) -> list[tuple[int, datetime, str]]:
        """(id, published_at, title) of articles not yet named in ``layout``, oldest first."""
        column = "markdown_id" if layout == "markdown" else "jekyll_path"
        rows = self.db.execute(
            f"SELECT id, published_at, title FROM articles WHERE source = ? AND {column} IS NULL "
            "ORDER BY published_at ASC, id DESC",
            (source,),
        ).fetchall()
        return [(r[0], from_ms(r[1]), r[2]) for r in rows]

    def mark_clean(self, article_ids: Sequence[int]) -> None:
        with self.transaction() as db:
            db.executemany(
                "UPDATE articles SET dirty = 0 WHERE id = ?", [(i,) for i in article_ids]
            )

    def recent_published(self, source: str, limit: int) -> list[datetime]:
        """Publication times of a source's newest articles, newest first."""
        rows = self.db.execute(
            "SELECT published_at FROM articles WHERE source = ? ORDER BY published_at DESC LIMIT ?",
            (source, limit),
        ).fetchall()
        return [from_ms(r[0]) for r in rows]

    def integrity_ok(self) -> bool:
        (result,) = self.db.execute("PRAGMA integrity_check").fetchone()
        return bool(result == "ok")

    # -- reads for the static site (newsmirror.site) --------------------------------------
    # Read-only, in bulk: the site lists every article, so one query gives the
    # light rows of all of them, and bodies are read in chunks, never one
    # query per article. (Clearing ``site_dirty`` is done by the site build.)

    def site_rows(self) -> Iterator[tuple[int, str, str, int]]:
        """(id, source, title, published_at in ms) of every article, by (published_at, id).

        Yielded as read: the site keeps its own compact copy, and a list here
        would double the memory for a moment (12 MB at 50,000 articles).
        """
        rows = self.db.execute(
            "SELECT id, source, title, published_at FROM articles ORDER BY published_at, id"
        )
        for r in rows:
            yield (int(r[0]), str(r[1]), str(r[2]), int(r[3]))

    def site_revisions(self) -> dict[int, int]:
        """Article id → its current revision number, for every article."""
        return {int(i): int(r) for i, r in self.db.execute("SELECT id, revision FROM articles")}

    def site_dirty_ids(self) -> list[int]:
        """Articles new or changed since the site last showed them (``site_dirty = 1``)."""
        rows = self.db.execute("SELECT id FROM articles WHERE site_dirty = 1 ORDER BY id")
        return [int(r[0]) for r in rows]

    def site_details(
        self, article_ids: Sequence[int]
    ) -> Iterator[tuple[int, str, str, str | None, str, int, int, int, str]]:
        """What an article page shows beyond its list row, in the order of ``article_ids``:
        (id, key, link, author, categories as JSON, first_seen_at ms, updated_at ms,
        revision, current content). Read KEY_CHUNK articles at a time."""
        for start in range(0, len(article_ids), KEY_CHUNK):
            chunk = article_ids[start : start + KEY_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT a.id, a.key, a.link, a.author, a.categories, a.first_seen_at, "
                f"a.updated_at, a.revision, r.content FROM {self._ARTICLE_JOIN} "
                f"WHERE a.id IN ({marks})",
                chunk,
            ).fetchall()
            by_id = {int(r[0]): r for r in rows}
            for article_id in chunk:
                r = by_id.get(article_id)
                if r is not None:
                    yield (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])

    def site_local_images(self, article_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        """Article id → (original URL → archive path) of its downloaded images."""
        found: dict[int, dict[str, str]] = {}
        for start in range(0, len(article_ids), KEY_CHUNK):
            chunk = article_ids[start : start + KEY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for article_id, url, path in self.db.execute(
                "SELECT a.article_id, i.url, i.path FROM article_images a "
                "JOIN images i ON i.url = a.url "
                f"WHERE a.article_id IN ({marks}) AND i.path IS NOT NULL",
                chunk,
            ):
                found.setdefault(int(article_id), {})[str(url)] = str(path)
        return found


def refresh_search(db: sqlite3.Connection) -> int:
    """Index the current text of the articles queued in ``search_pending``; how many.

    A chunk of articles per transaction, so that an interrupted refresh keeps
    what it did. A store that cannot be written (read-only file) is searched as
    it is. Done by whoever searches; the first search after a large run pays
    for every article that run stored (about 1 ms each).
    """
    done = 0
    while True:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return done  # read-only, or a writer holds the store past the busy timeout
        try:
            ids = [
                int(r[0])
                for r in db.execute(
                    "SELECT article_id FROM search_pending ORDER BY article_id LIMIT ?",
                    (KEY_CHUNK,),
                )
            ]
            if ids:
                marks = ",".join("?" * len(ids))
                db.execute(f"DELETE FROM search WHERE rowid IN ({marks})", ids)
                rows = db.execute(
                    "SELECT a.id, a.title, r.content FROM articles a JOIN revisions r "
                    "ON r.article_id = a.id AND r.revision = a.revision "
                    f"WHERE a.id IN ({marks})",
                    ids,
                ).fetchall()
                db.executemany(
                    "INSERT INTO search (rowid, title, body) VALUES (?, ?, ?)",
                    [(i, title, plain_text(content)) for i, title, content in rows],
                )
                db.execute(f"DELETE FROM search_pending WHERE article_id IN ({marks})", ids)
            db.execute("COMMIT")
        except sqlite3.OperationalError as e:
            db.execute("ROLLBACK")
            if "readonly" in str(e):
                return done
            raise
        except BaseException:
            db.execute("ROLLBACK")
            raise
        done += len(ids)
        if len(ids) < KEY_CHUNK:
            return done


def open_store(path: Path) -> Store:
    """Open (creating if needed) and migrate the store at ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only a power
        # loss may drop the last transactions, never corrupt the file.
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        # Migration 3 (on an old store) reads articles' text through this function.
        db.create_function("newsmirror_text", 1, plain_text, deterministic=True)
    except (sqlite3.Error, OSError) as e:
        raise StoreError(path, f"cannot open the store: {e}") from e
    store = Store(db, path)
    _migrate(store)
    return store


def _migrate(store: Store) -> None:
    try:
        (version,) = store.db.execute("PRAGMA user_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise StoreError(store.path, f"not a newsmirror store (or damaged): {e}") from e
    if version > SCHEMA_VERSION:
        raise StoreError(
            store.path,
            f"schema version {version} is newer than this newsmirror knows ({SCHEMA_VERSION}); "
            "upgrade newsmirror",
        )
    for number in range(version, SCHEMA_VERSION):
        with store.transaction() as db:
            MIGRATIONS[number](db)
            db.execute(f"PRAGMA user_version = {number + 1}")


def _maybe_time(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


def _article(row: Sequence[object]) -> Article:
    return Article(
        id=int(row[0]),  # type: ignore[call-overload]
        source=str(row[1]),
        key=str(row[2]),
        title=str(row[3]),
        link=str(row[4]),
        content=str(row[5]),
        author=row[6] if row[6] is None else str(row[6]),
        categories=tuple(json.loads(str(row[7]))),
        published_at=from_ms(int(row[8])),  # type: ignore[call-overload]
        first_seen_at=from_ms(int(row[9])),  # type: ignore[call-overload]
        revision=int(row[10]),  # type: ignore[call-overload]
        markdown_id=None if row[11] is None else int(row[11]),  # type: ignore[call-overload]
        jekyll_path=None if row[12] is None else str(row[12]),
    )
