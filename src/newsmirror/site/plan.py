"""Which pages the site has, and which of them a build must render: pure decisions.

Everything here is a function of plain data (the site's articles as ``Entry``
rows, the ids that changed, the ids the site has never shown) and returns
plain data (``Page`` values). Nothing reads the store, a clock or a file; the
build applies the result. Tests give literals.

The page layout (paths relative to the site folder):

==========================================  =============================================
``index.html``                              the newest ``HOME_SIZE`` articles
``pages/{k}.html``                          numbered from the OLDEST: page k holds the
                                            articles of rank (k-1)·PAGE_SIZE … k·PAGE_SIZE-1
                                            in (published_at, id) order, so a new article
                                            changes the last page, not every page
``sources/{slug}/index.html``               a source's newest articles, links to its months
``sources/{slug}/{YYYY-MM}.html``           a source's articles of one month
``sources/{slug}/feed.atom``, ``feed.json`` a source's newest ``FEED_SIZE`` articles
``days/index.html``                         every day with its number of articles
``days/{YYYY-MM-DD}.html``                  the articles of one day (archive time zone)
``articles/{slug}/{id}.html``               one article (``id``: the store's, for ever)
``feed.atom``, ``feed.json``                the newest ``FEED_SIZE`` articles overall
``about.html``, ``search.html``
==========================================  =============================================
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

# Articles per numbered page, on the home page and on a source's index page:
# fifty titles are a screenful or two on a phone and a small page (~15 KB).
PAGE_SIZE = 50
HOME_SIZE = 50
SOURCE_NEWEST = 50
# Feed readers want recent items with full text; 100 full articles is ~0.5 MB.
FEED_SIZE = 100

# Page kinds.
HOME = "home"
NUMBERED = "numbered"
SOURCE = "source"
SOURCE_MONTH = "source-month"
SOURCE_FEEDS = "source-feeds"
DAYS = "days"
DAY = "day"
ARTICLE = "article"
FEEDS = "feeds"
ABOUT = "about"
SEARCH = "search"


@dataclass(frozen=True, order=True)
class Page:
    """One page (or, for feeds, the pair of feed files) of the site."""

    kind: str
    source: str = ""
    key: str = ""  # article id, day, month or page number, as text

    @property
    def paths(self) -> tuple[str, ...]:
        """The files this page is, relative to the site folder (forward slashes)."""
        kind, source, key = self.kind, self.source, self.key
        if kind == HOME:
            return ("index.html",)
        if kind == NUMBERED:
            return (f"pages/{key}.html",)
        if kind == SOURCE:
            return (f"sources/{source}/index.html",)
        if kind == SOURCE_MONTH:
            return (f"sources/{source}/{key}.html",)
        if kind == SOURCE_FEEDS:
            return (f"sources/{source}/feed.atom", f"sources/{source}/feed.json")
        if kind == DAYS:
            return ("days/index.html",)
        if kind == DAY:
            return (f"days/{key}.html",)
        if kind == ARTICLE:
            return (f"articles/{source}/{key}.html",)
        if kind == FEEDS:
            return ("feed.atom", "feed.json")
        if kind == ABOUT:
            return ("about.html",)
        if kind == SEARCH:
            return ("search.html",)
        raise ValueError(f"unknown page kind {kind!r}")

    @property
    def path(self) -> str:
        return self.paths[0]


def article_page(source: str, article_id: int) -> Page:
    return Page(ARTICLE, source, str(article_id))


def numbered_page(number: int) -> Page:
    return Page(NUMBERED, key=str(number))


@dataclass(frozen=True, slots=True)
class Entry:
    """An article as lists and navigation need it (one per article: kept small)."""

    id: int
    source: str
    title: str
    published_ms: int
    day: str  # YYYY-MM-DD, in the archive's time zone

    @property
    def month(self) -> str:
        return self.day[:7]

    @property
    def path(self) -> str:
        return f"articles/{self.source}/{self.id}.html"


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return -(-total // page_size)


def page_of(rank: int, page_size: int = PAGE_SIZE) -> int:
    """The numbered page holding the article of ``rank`` (0: the oldest)."""
    return rank // page_size + 1


class SiteIndex:
    """Every article the site shows, in (published_at, id) order, and its groupings.

    ``sources`` are the site's sources in the order they are shown; an entry
    of another source is left out.
    """

    def __init__(
        self, entries: Iterable[Entry], sources: Sequence[str], page_size: int = PAGE_SIZE
    ) -> None:
        known = set(sources)
        self.sources = tuple(sources)
        self.page_size = page_size
        self.entries: list[Entry] = sorted(
            (e for e in entries if e.source in known), key=lambda e: (e.published_ms, e.id)
        )
        self.rank: dict[int, int] = {}
        self.by_id: dict[int, Entry] = {}
        self.by_source: dict[str, list[Entry]] = {slug: [] for slug in self.sources}
        self.source_rank: dict[int, int] = {}  # position within its source
        self.by_day: dict[str, list[Entry]] = {}
        self.by_source_month: dict[tuple[str, str], list[Entry]] = {}
        for rank, entry in enumerate(self.entries):
            self.rank[entry.id] = rank
            self.by_id[entry.id] = entry
            in_source = self.by_source[entry.source]
            self.source_rank[entry.id] = len(in_source)
            in_source.append(entry)
            self.by_day.setdefault(entry.day, []).append(entry)
            self.by_source_month.setdefault((entry.source, entry.month), []).append(entry)
        self.days: list[str] = sorted(self.by_day)
        self.months: dict[str, list[str]] = {slug: [] for slug in self.sources}
        for slug, month in sorted(self.by_source_month):
            self.months[slug].append(month)

    @property
    def pages(self) -> int:
        return page_count(len(self.entries), self.page_size)

    def page_entries(self, number: int) -> list[Entry]:
        start = (number - 1) * self.page_size
        return self.entries[start : start + self.page_size]

    def older_newer(self, entry: Entry) -> tuple[Entry | None, Entry | None]:
        """The articles just before and just after ``entry`` in its source."""
        in_source = self.by_source[entry.source]
        position = self.source_rank[entry.id]
        older = in_source[position - 1] if position > 0 else None
        newer = in_source[position + 1] if position + 1 < len(in_source) else None
        return older, newer


def always_pages(sources: Iterable[str]) -> set[Page]:
    """Pages every build renders: they show the newest articles or the site's state."""
    pages = {Page(HOME), Page(FEEDS), Page(ABOUT), Page(SEARCH)}
    pages.update(Page(SOURCE, slug) for slug in sources)
    return pages


def all_pages(index: SiteIndex) -> set[Page]:
    """Every page of the site."""
    pages = always_pages(index.sources) | {Page(DAYS)}
    pages.update(Page(SOURCE_FEEDS, slug) for slug in index.sources)
    pages.update(numbered_page(k) for k in range(1, index.pages + 1))
    pages.update(Page(DAY, key=day) for day in index.days)
    pages.update(Page(SOURCE_MONTH, s, m) for s, months in index.months.items() for m in months)
    pages.update(article_page(e.source, e.id) for e in index.entries)
    return pages


def count_pages(index: SiteIndex) -> int:
    """``len(all_pages(index))``, without making them."""
    months = sum(len(m) for m in index.months.values())
    fixed = len(always_pages(index.sources)) + 1  # + days/index.html
    return fixed + len(index.sources) + index.pages + len(index.days) + months + len(index.entries)


def select_pages(index: SiteIndex, changed: Collection[int], new: Collection[int]) -> set[Page]:
    """The pages an incremental build renders after ``changed`` articles.

    ``index`` is the site as it now is; ``changed`` are the articles new or
    changed since the last build (``site_dirty``); ``new`` those of them the
    site has never shown (inserted into the order, shifting what follows).
    Rendered: the changed articles' own pages and those of their older and
    newer neighbours in their source (whose links show their titles); the day
    and source-month pages they fall in, and the neighbouring days and months
    of a day or month that is new (their links to it); the numbered page of
    each changed article, and for new ones every numbered page from the first
    insertion on (their slices shift) and the last page before them (its link
    to the next page); ``days/index.html`` when an article is new (counts);
    the index and feeds of every touched source; and ``always_pages``.
    Nothing else: an old article's page is not even rendered.
    """
    changed_entries = [index.by_id[i] for i in sorted(set(changed)) if i in index.by_id]
    new_ids = {e.id for e in changed_entries} & set(new)
    touched = {e.source for e in changed_entries}
    pages = always_pages(index.sources)
    pages.update(Page(SOURCE_FEEDS, slug) for slug in touched)
    for entry in changed_entries:
        pages.add(article_page(entry.source, entry.id))
        for neighbour in index.older_newer(entry):
            if neighbour is not None:
                pages.add(article_page(neighbour.source, neighbour.id))
        pages.add(Page(DAY, key=entry.day))
        pages.add(Page(SOURCE_MONTH, entry.source, entry.month))
        if entry.id not in new_ids:
            pages.add(numbered_page(page_of(index.rank[entry.id], index.page_size)))
    if not new_ids:
        return pages

    pages.add(Page(DAYS))
    new_entries = [e for e in changed_entries if e.id in new_ids]
    for day in {e.day for e in new_entries}:
        if all(e.id in new_ids for e in index.by_day[day]):
            pages.update(Page(DAY, key=d) for d in _beside(index.days, day))
    for slug, month in {(e.source, e.month) for e in new_entries}:
        if all(e.id in new_ids for e in index.by_source_month[(slug, month)]):
            pages.update(Page(SOURCE_MONTH, slug, m) for m in _beside(index.months[slug], month))

    first = page_of(min(index.rank[i] for i in new_ids), index.page_size)
    pages.update(numbered_page(k) for k in range(first, index.pages + 1))
    before = page_count(len(index.entries) - len(new_ids), index.page_size)
    if before >= 1:
        pages.add(numbered_page(before))
    return pages


def _beside(ordered: Sequence[str], value: str) -> list[str]:
    """The values just before and after ``value`` in ``ordered`` (which holds it)."""
    at = bisect_left(ordered, value)
    return [ordered[i] for i in (at - 1, at + 1) if 0 <= i < len(ordered)]
