"""Pages as text: Jinja2 templates (compiled once per build) fed plain data.

Every link is relative to the page it is on (``root`` leads back to the site
folder: ``""`` from ``index.html``, ``"../../"`` from ``articles/voa/12.html``),
so the site works under any sub-path and opened from disk. Templates escape
everything; the article's content, cleaned before it was stored, is the only
markup passed through as is (``|safe`` in ``article.html``), with the search
widget's snippet.

Nothing here reads the store or writes a file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from ..config import Config, SourceConfig
from ..store import StoredSource
from .content import http_link, site_content
from .plan import (
    HOME_SIZE,
    SOURCE_NEWEST,
    Entry,
    Page,
    SiteIndex,
    page_of,
)
from .searchindex import search_widget
from .stamp import TEMPLATES_DIR

log = logging.getLogger(__name__)

STYLESHEET = "static/style.css"
# Newest numbered pages linked from the home page (page 1, the oldest, always is).
HOME_PAGE_LINKS = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def root_of(path: str) -> str:
    """The way back to the site folder from the file at ``path``."""
    return "../" * path.count("/")


def environment() -> jinja2.Environment:
    """The templates, compiled once: ``auto_reload`` off, nothing re-read per page."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@dataclass(frozen=True)
class Moment:
    """A time as pages show it, in the archive's time zone."""

    iso: str  # for <time datetime>: 2026-11-21T01:00:00+08:00
    text: str  # 2026-11-21 01:00
    offset: str  # UTC+08:00


class Clock:
    """Formats times in the archive's time zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._days: dict[str, str] = {}

    def local(self, ms: int) -> datetime:
        return (EPOCH + timedelta(milliseconds=ms)).astimezone(self.zone)

    def day(self, ms: int) -> str:
        """YYYY-MM-DD in the zone; one string object per day, shared by its articles."""
        day = self.local(ms).strftime("%Y-%m-%d")
        return self._days.setdefault(day, day)

    def moment(self, ms: int) -> Moment:
        local = self.local(ms)
        offset = local.strftime("%z")
        return Moment(
            iso=local.isoformat(timespec="seconds"),
            text=local.strftime("%Y-%m-%d %H:%M"),
            offset=f"UTC{offset[:3]}:{offset[3:]}",
        )

    def label(self) -> str:
        return f" {self.zone.key} 时区"


@dataclass(frozen=True)
class Details:
    """What an article page shows beyond its list row (``Store.site_details``)."""

    id: int
    key: str  # the article's stable identity in its source
    link: str
    author: str | None
    categories: tuple[str, ...]
    first_seen_ms: int
    updated_ms: int
    revision: int
    content: str

    @classmethod
    def from_row(cls, row: tuple[int, str, str, str | None, str, int, int, int, str]) -> Details:
        article_id, key, link, author, categories, first_seen, updated, revision, content = row
        try:
            tags = tuple(str(c) for c in json.loads(categories))
        except (ValueError, TypeError):
            tags = ()
        return cls(article_id, key, link, author, tags, first_seen, updated, revision, content)


class Item:
    """An article in a list, its links relative to the list's page."""

    __slots__ = ("href", "iso", "source_href", "source_name", "text", "title")

    def __init__(self, entry: Entry, root: str, source_name: str, moment: Moment) -> None:
        self.href = root + entry.path
        self.title = entry.title
        self.source_name = source_name
        self.source_href = f"{root}sources/{entry.source}/index.html"
        self.iso = moment.iso
        self.text = moment.text


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    rel: str = ""


@dataclass(frozen=True)
class Counted:
    href: str
    text: str
    count: int


class Renderer:
    """Renders the pages of one build; ``index`` is the site as it now is."""

    def __init__(self, config: Config, index: SiteIndex) -> None:
        self.config = config
        self.index = index
        self.clock = Clock(config.archive.zone)
        self.sources: dict[str, SourceConfig] = {s.slug: s for s in config.sources}
        self.env = environment()
        self.templates = {
            name: self.env.get_template(name)
            for name in ("list.html", "article.html", "days.html", "about.html", "search.html")
        }
        self._moments: dict[int, Moment] = {}

    # -- helpers ---------------------------------------------------------------------------
    def moment(self, ms: int) -> Moment:
        found = self._moments.get(ms)
        if found is None:
            found = self._moments[ms] = self.clock.moment(ms)
        return found

    def name(self, slug: str) -> str:
        return self.sources[slug].name

    def items(self, entries: Sequence[Entry], root: str) -> list[Item]:
        """``entries`` (oldest first, as the index keeps them) newest first, as list items."""
        return [
            Item(e, root, self.name(e.source), self.moment(e.published_ms))
            for e in reversed(entries)
        ]

    def _page(self, template: str, path: str, **context: object) -> str:
        return self.templates[template].render(
            site_title=self.config.site.title, root=root_of(path), **context
        )

    def _list(
        self,
        path: str,
        heading: str,
        entries: Sequence[Entry],
        *,
        intro: str = "",
        pager: Sequence[Link] = (),
        months: Sequence[Counted] = (),
        feed_root: str = "",
        show_source: bool = True,
    ) -> str:
        root = root_of(path)
        return self._page(
            "list.html",
            path,
            heading=heading,
            intro=intro,
            items=self.items(entries, root),
            pager=pager,
            months=months,
            feed_root=feed_root,
            show_source=show_source,
        )

    # -- list pages ----------------------------------------------------------------------------
    def home(self, page: Page) -> str:
        index = self.index
        total = len(index.entries)
        pager: list[Link] = []
        if total > HOME_SIZE:
            older = page_of(total - HOME_SIZE - 1, index.page_size)
            pager.append(Link(f"pages/{older}.html", "更早的文章 →", "next"))
            for number in range(older - 1, max(older - HOME_PAGE_LINKS, 1), -1):
                pager.append(Link(f"pages/{number}.html", f"第 {number} 页"))
            if older > 1:
                pager.append(Link("pages/1.html", "第 1 页（最早）"))
        return self._list(
            page.path,
            self.config.site.title,
            index.entries[-HOME_SIZE:],
            intro=f"最新的 {min(total, HOME_SIZE)} 篇文章，共 {total} 篇。",
            pager=pager,
        )

    def numbered(self, page: Page) -> str:
        number = int(page.key)
        entries = self.index.page_entries(number)
        pager: list[Link] = []
        last = self.index.pages
        if number < last:
            pager.append(Link(f"{number + 1}.html", "← 较新", "prev"))
        else:
            pager.append(Link("../index.html", "← 最新", "prev"))
        if number > 1:
            pager.append(Link(f"{number - 1}.html", "较早 →", "next"))
        if number > 2:
            pager.append(Link("1.html", "第 1 页（最早）"))
        intro = "页码从最早的文章数起，第 1 页最早。"
        if entries:
            first = self.moment(entries[0].published_ms).text[:10]
            final = self.moment(entries[-1].published_ms).text[:10]
            intro = f"{first} 至 {final} 发布的文章。" + intro
        return self._list(page.path, f"第 {number} 页", entries, intro=intro, pager=pager)

    def source(self, page: Page) -> str:
        slug = page.source
        entries = self.index.by_source.get(slug, [])
        months = [
            Counted(
                f"{month}.html", _month_text(month), len(self.index.by_source_month[slug, month])
            )
            for month in reversed(self.index.months.get(slug, []))
        ]
        return self._list(
            page.path,
            self.name(slug),
            entries[-SOURCE_NEWEST:],
            intro=f"最新的 {min(len(entries), SOURCE_NEWEST)} 篇文章，共 {len(entries)} 篇。",
            months=months,
            feed_root="./",  # its feeds are beside it
            show_source=False,
        )

    def source_month(self, page: Page) -> str:
        slug, month = page.source, page.key
        months = self.index.months.get(slug, [])
        pager: list[Link] = [Link("index.html", f"{self.name(slug)}首页")]
        at = months.index(month) if month in months else -1
        if at >= 0 and at + 1 < len(months):
            pager.append(Link(f"{months[at + 1]}.html", f"← {_month_text(months[at + 1])}", "prev"))
        if at > 0:
            pager.append(Link(f"{months[at - 1]}.html", f"{_month_text(months[at - 1])} →", "next"))
        return self._list(
            page.path,
            f"{self.name(slug)} · {_month_text(month)}",
            self.index.by_source_month.get((slug, month), []),
            pager=pager,
            show_source=False,
        )

    def day(self, page: Page) -> str:
        day = page.key
        days = self.index.days
        at = days.index(day) if day in days else -1
        pager: list[Link] = []
        if at >= 0 and at + 1 < len(days):
            pager.append(Link(f"{days[at + 1]}.html", f"← {_day_text(days[at + 1])}", "prev"))
        if at > 0:
            pager.append(Link(f"{days[at - 1]}.html", f"{_day_text(days[at - 1])} →", "next"))
        pager.append(Link("index.html", "全部日期"))
        return self._list(page.path, _day_text(day), self.index.by_day.get(day, []), pager=pager)

    def days(self, page: Page) -> str:
        by_month: dict[str, list[Counted]] = {}
        for day in reversed(self.index.days):
            by_month.setdefault(day[:7], []).append(
                Counted(f"{day}.html", f"{int(day[8:])}日", len(self.index.by_day[day]))
            )
        months = [{"text": _month_text(month), "days": days} for month, days in by_month.items()]
        return self._page("days.html", page.path, months=months, zone_label=self.clock.label())

    # -- single pages ----------------------------------------------------------------------------
    def article(self, entry: Entry, details: Details, local: Mapping[str, str]) -> str:
        path = entry.path
        root = root_of(path)
        source = self.sources[entry.source]
        older, newer = self.index.older_newer(entry)
        content = site_content(
            details.content,
            source.images,
            proxy_template=source.image_proxy,
            local=local,
            prefix=root,
        )
        link = http_link(details.link)
        return self._page(
            "article.html",
            path,
            title=entry.title,
            source_name=source.name,
            source_href=f"{root}sources/{entry.source}/index.html",
            author=details.author or "",
            published=self.moment(entry.published_ms),
            published_utc=(EPOCH + timedelta(milliseconds=entry.published_ms)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            archived=self.moment(details.first_seen_ms),
            link=link or "",
            raw_link="" if link else details.link.strip(),
            updates=details.revision - 1,
            updated=self.moment(details.updated_ms),
            content=content,
            categories=details.categories,
            older=self._neighbour(older, root),
            newer=self._neighbour(newer, root),
        )

    def _neighbour(self, entry: Entry | None, root: str) -> Link | None:
        return None if entry is None else Link(root + entry.path, entry.title)

    def about(self, page: Page, stored: Sequence[StoredSource], built_ms: int) -> str:
        health = {s.slug: s for s in stored}
        rows = []
        for source in self.config.sources:
            state = health.get(source.slug)
            entries = self.index.by_source.get(source.slug, [])
            newest = max((e.published_ms for e in entries), default=None)
            # Only what changes when something happens at the source: no "last
            # success" or "last 7 days", which would rewrite this page every run.
            rows.append(
                {
                    "name": source.name,
                    "href": f"sources/{source.slug}/index.html",
                    "url": source.url,
                    "articles": len(entries),
                    "newest": None if newest is None else self.moment(newest),
                    "failures": state.consecutive_failures if state else 0,
                    "last_error": (state.last_error or "") if state else "",
                    "last_error_at": self._maybe(state.last_error_at if state else None),
                }
            )
        return self._page(
            "about.html",
            page.path,
            sources=rows,
            built=self.moment(built_ms),
            zone_label=self.clock.label(),
        )

    def _maybe(self, moment: datetime | None) -> Moment | None:
        if moment is None:
            return None
        return self.moment((moment - EPOCH) // timedelta(milliseconds=1))

    def search(self, page: Page) -> str:
        """The search page, with the in-browser search of ``searchindex``."""
        widget = Markup(search_widget(root_of(page.path)))
        return self._page("search.html", page.path, widget=widget)


def _month_text(month: str) -> str:
    return f"{month[:4]}年{int(month[5:7])}月"


def _day_text(day: str) -> str:
    return f"{day[:4]}年{int(day[5:7])}月{int(day[8:10])}日"
