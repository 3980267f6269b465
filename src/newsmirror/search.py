"""Full-text search of the store, for ``newsmirror search``: Chinese from one character up.

The store keeps an FTS5 table ``search(title, body)`` with the trigram
tokenizer (store.py, migration 3): it finds any substring of three characters
or more. Runs only queue what they store (migration 5); a search first indexes
the queue (``store.refresh_search``), so the first search after a large run
takes about a second per thousand new articles.

Chinese words are mostly two characters (台湾, 香港), which trigrams cannot
find, so a query's terms are split by length:

- three characters or more: an FTS5 phrase each (``"国际组织"``), ranked by bm25;
- one or two characters: ``LIKE '%台湾%'`` over the same table's title and body,
  a scan of all the text unless a longer term narrows it first. Measured on
  20,000 articles of ~1,300 characters (a 380 MB store): 台湾 80–125 ms,
  习近平 20 ms, 国际组织 10 ms, 香港 国际组织 6 ms.

Every term must match (AND). Titles that hold every term come first, then the
best bm25 rank, then the newest. What the user typed is always text, never
query syntax: quotes, ``*``, ``NEAR``, ``AND``, ``%`` and ``_`` are found as
written. Besides that refresh, this module only reads the store.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from .errors import StoreError
from .store import from_ms, refresh_search

# FTS5's trigram tokenizer finds substrings of at least this many characters.
TRIGRAM = 3
# Around the first match when the snippet is made here (short terms only).
SNIPPET_CONTEXT = 40
# snippet()'s length in tokens; with trigrams a token is about one character.
SNIPPET_TOKENS = 64
MARK_OPEN = "【"
MARK_CLOSE = "】"
ELLIPSIS = "…"
# Noncharacters (Unicode's "never in interchanged text") mark snippet()'s matches
# until they become spans, so that a 【 in an article cannot be taken for a mark.
_OPEN = "\ufdd0"
_CLOSE = "\ufdd1"


@dataclass(frozen=True)
class SearchHit:
    """An article that matched, with where the query was found."""

    article_id: int
    source_slug: str
    title: str
    published_at: datetime  # UTC
    snippet: str  # text around the matches, each match between MARK_OPEN and MARK_CLOSE
    in_title: bool  # the title holds every term
    # (start, end) of each match in ``snippet``, the text between the marks, for
    # highlighting without parsing marks that the article's own text may hold.
    spans: tuple[tuple[int, int], ...] = ()


def terms_of(query: str) -> list[str]:
    """Whitespace-separated terms, each once, in order."""
    return list(dict.fromkeys(query.split()))


def fts_phrase(term: str) -> str:
    """A term as an FTS5 string: everything literal, ``"`` doubled (FTS5 query syntax, §3.1)."""
    return '"' + term.replace('"', '""') + '"'


def like_pattern(term: str) -> str:
    """``%term%`` with ``\\``, ``%`` and ``_`` escaped for ``ESCAPE '\\'``."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_store(
    db: sqlite3.Connection, query: str, *, limit: int = 20, source: str | None = None
) -> list[SearchHit]:
    """Articles whose current title or text holds every term of ``query``, best first."""
    terms = terms_of(query)
    if not terms or limit < 1:
        return []
    try:
        refresh_search(db)
    except sqlite3.Error as e:
        raise StoreError(_path_of(db), f"cannot bring the search index up to date: {e}") from e
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    short_terms = [t for t in terms if len(t) < TRIGRAM]

    conditions: list[str] = []
    params: list[object] = []
    if long_terms:
        conditions.append("search MATCH ?")
        params.append(" ".join(fts_phrase(t) for t in long_terms))
    for term in short_terms:
        conditions.append("(search.title LIKE ? ESCAPE '\\' OR search.body LIKE ? ESCAPE '\\')")
        params += [like_pattern(term), like_pattern(term)]
    if source is not None:
        conditions.append("a.source = ?")
        params.append(source)
    in_title = " AND ".join("search.title LIKE ? ESCAPE '\\'" for _ in terms)
    if long_terms:
        rank = "bm25(search)"
        snippet = f"snippet(search, 1, '{_OPEN}', '{_CLOSE}', '{ELLIPSIS}', {SNIPPET_TOKENS})"
    else:
        rank, snippet = "0", "NULL"
    sql = (
        f"SELECT a.id, a.source, a.title, a.published_at, search.body, {snippet}, "
        f"({in_title}) AS in_title, {rank} AS rank "
        "FROM search JOIN articles a ON a.id = search.rowid "
        f"WHERE {' AND '.join(conditions)} "
        "ORDER BY in_title DESC, rank, a.published_at DESC, a.id DESC LIMIT ?"
    )
    # The select list's placeholders come first.
    all_params = [like_pattern(t) for t in terms] + params + [limit]
    try:
        rows = db.execute(sql, all_params).fetchall()
    except sqlite3.Error as e:
        raise StoreError(_path_of(db), f"search for {query!r} failed: {e}") from e

    matcher = _matcher(terms)
    hits = []
    for article_id, slug, title, published_ms, body, fts_snippet, title_match, _ in rows:
        if fts_snippet is not None:
            text, found = _from_fts_snippet(fts_snippet, _matcher(short_terms))
        else:
            text, found = _window(body or "", matcher)
        snippet, spans = _marked(text, found)
        hits.append(
            SearchHit(
                article_id=article_id,
                source_slug=slug,
                title=title,
                published_at=from_ms(published_ms),
                snippet=snippet,
                in_title=bool(title_match),
                spans=spans,
            )
        )
    return hits


def _matcher(terms: list[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    # Longest first, so that a term holding another is marked whole.
    alternatives = sorted(terms, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, alternatives)), re.IGNORECASE)


def _window(body: str, matcher: re.Pattern[str] | None) -> tuple[str, list[tuple[int, int]]]:
    """SNIPPET_CONTEXT characters either side of the first match (the start when none)."""
    first = matcher.search(body) if matcher else None
    at = first.start() if first else 0
    start = max(0, at - SNIPPET_CONTEXT)
    end = min(len(body), (first.end() if first else 0) + SNIPPET_CONTEXT)
    if first is None:
        end = min(len(body), 2 * SNIPPET_CONTEXT)
    text = body[start:end]
    spans = _spans(text, matcher)
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(body) else ""
    shift = len(prefix)
    return prefix + text + suffix, [(s + shift, e + shift) for s, e in spans]


def _spans(text: str, matcher: re.Pattern[str] | None) -> list[tuple[int, int]]:
    return [m.span() for m in matcher.finditer(text)] if matcher else []


def _from_fts_snippet(
    fts_snippet: str, short: re.Pattern[str] | None
) -> tuple[str, list[tuple[int, int]]]:
    """snippet()'s text without its marks, the marked spans, and the short terms' spans."""
    parts = re.split(f"({_OPEN}[^{_CLOSE}]*{_CLOSE})", fts_snippet)
    text = ""
    spans: list[tuple[int, int]] = []
    for part in parts:
        if part.startswith(_OPEN) and part.endswith(_CLOSE):
            inner = part[1:-1]
            spans.append((len(text), len(text) + len(inner)))
            text += inner
        else:
            spans += [(len(text) + s, len(text) + e) for s, e in _spans(part, short)]
            text += part
    return text.replace(_OPEN, "").replace(_CLOSE, ""), spans


def _marked(text: str, spans: list[tuple[int, int]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """``text`` with each (merged) span between the marks, and the spans moved to match."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out = []
    moved = []
    at = 0
    for start, end in merged:
        out.append(text[at:start])
        out.append(MARK_OPEN)
        offset = sum(map(len, out))
        out.append(text[start:end])
        out.append(MARK_CLOSE)
        moved.append((offset, offset + end - start))
        at = end
    out.append(text[at:])
    return "".join(out), tuple(moved)


def _path_of(db: sqlite3.Connection) -> str:
    try:
        row = db.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return "the store"
    return str(row[2]) if row and row[2] else "the store"
