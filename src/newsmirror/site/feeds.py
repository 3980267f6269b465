"""Feeds out: Atom (RFC 4287) and JSON Feed 1.1, as text, from plain data.

Links. The site has no base URL (yet), and a feed reader resolves a relative
reference against the feed's own URL (RFC 4287 §2 via xml:base, RFC 3986 §5.1),
so:

- Atom: an entry's ``alternate`` link is the article's original URL; its copy on
  this site is a ``related`` link relative to the feed file (``../../articles/
  voa/12.html`` from ``sources/voa/feed.atom``). Without an original URL the
  site copy is the ``alternate``. The feed's ``alternate`` is the matching
  HTML page, its ``self`` the feed file, both relative.
- JSON Feed: ``url`` is the original URL (the spec wants URLs there, not
  references); the site copy is in the ``_newsmirror`` extension object
  (``{"page": "articles/voa/12.html"}``, relative to the feed file).
  ``home_page_url`` and ``feed_url`` are left out until a base URL exists.
- Content is HTML with images as the source's policy shows them; mirrored
  images are referenced relative to the feed file, like the site's links.

Ids are ``urn:uuid:`` names derived from the site title and the article's
stable store identity (source and key), so they never change (RFC 4287
§4.2.6: ids are permanent) and do not depend on where the site is hosted.

XML 1.0 cannot carry most C0 control characters, U+FFFE/U+FFFF or lone
surrogates even escaped; they are removed from every string first.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
LANGUAGE = "zh-CN"
# Characters XML 1.0 allows (§2.2 Char); everything else is dropped.
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE = uuid.UUID("6f1f3d4e-2b8a-5c3e-9a41-6e6577736d69")  # newsmirror's, fixed for ever


@dataclass(frozen=True)
class FeedItem:
    id: str
    title: str
    link: str | None  # the original article, when it is an http(s) URL
    page: str  # the site's copy, relative to the feed file
    content_html: str
    author: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedInfo:
    id: str
    title: str
    page: str  # the HTML page the feed follows, relative to the feed file
    atom_path: str  # the feed files, relative to themselves (their file names)
    json_path: str
    author: str
    items: Sequence[FeedItem] = field(default_factory=tuple)

    @property
    def updated(self) -> datetime:
        """The newest change of its items: a feed that did not change keeps its bytes."""
        return max((item.updated for item in self.items), default=_EMPTY_FEED_UPDATED)


def feed_id(site_title: str, name: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"feed\x00{site_title}\x00{name}").urn


def item_id(site_title: str, source: str, key: str) -> str:
    return uuid.uuid5(_NAMESPACE, f"article\x00{site_title}\x00{source}\x00{key}").urn


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML_CHAR.sub("", value)


def rfc3339(moment: datetime) -> str:
    """UTC, seconds precision: ``2026-11-20T17:00:00Z`` (RFC 3339 §5.6)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: str) -> str:
    return escape(xml_text(value))


def _attr(value: str) -> str:
    return quoteattr(xml_text(value), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def atom(feed: FeedInfo) -> str:
    """The feed as an Atom 1.0 document (RFC 4287)."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="{ATOM_NS}" xml:lang="{LANGUAGE}">\n',
        f"  <id>{_text(feed.id)}</id>\n",
        f'  <title type="text">{_text(feed.title)}</title>\n',
        f"  <updated>{rfc3339(feed.updated)}</updated>\n",
        f"  <author><name>{_text(feed.author)}</name></author>\n",
        f'  <link rel="alternate" type="text/html" href={_attr(feed.page)}/>\n',
        f'  <link rel="self" type="application/atom+xml" href={_attr(feed.atom_path)}/>\n',
        "  <generator>newsmirror</generator>\n",
    ]
    for item in feed.items:
        out.append("  <entry>\n")
        out.append(f"    <id>{_text(item.id)}</id>\n")
        out.append(f'    <title type="text">{_text(item.title)}</title>\n')
        out.append(f"    <published>{rfc3339(item.published)}</published>\n")
        out.append(f"    <updated>{rfc3339(item.updated)}</updated>\n")
        out.append(f"    <author><name>{_text(item.author)}</name></author>\n")
        if item.link:
            out.append(f'    <link rel="alternate" type="text/html" href={_attr(item.link)}/>\n')
            out.append(f'    <link rel="related" type="text/html" href={_attr(item.page)}/>\n')
        else:
            out.append(f'    <link rel="alternate" type="text/html" href={_attr(item.page)}/>\n')
        for category in item.categories:
            out.append(f"    <category term={_attr(category)}/>\n")
        out.append(f'    <content type="html">{_text(item.content_html)}</content>\n')
        out.append("  </entry>\n")
    out.append("</feed>\n")
    return "".join(out)


def json_feed(feed: FeedInfo) -> str:
    """The feed as a JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    items = []
    for item in feed.items:
        entry: dict[str, object] = {"id": item.id}
        if item.link:
            entry["url"] = xml_text(item.link)
        entry["title"] = xml_text(item.title)
        entry["content_html"] = xml_text(item.content_html)
        entry["date_published"] = rfc3339(item.published)
        entry["date_modified"] = rfc3339(item.updated)
        entry["authors"] = [{"name": xml_text(item.author)}]
        if item.categories:
            entry["tags"] = [xml_text(c) for c in item.categories]
        entry["language"] = LANGUAGE
        entry["_newsmirror"] = {"page": item.page}
        items.append(entry)
    document = {
        "version": JSON_FEED_VERSION,
        "title": xml_text(feed.title),
        "language": LANGUAGE,
        "authors": [{"name": xml_text(feed.author)}],
        "_newsmirror": {"page": feed.page, "id": feed.id},
    }
    # One item per line: readable in a diff, and written by json's C encoder
    # (``indent`` would switch to its pure-Python one, ~10x slower).
    head = _compact(document)[:-1]
    lines = ",\n".join(_compact(item) for item in items)
    return f'{head},"items":[\n{lines}\n]}}\n' if items else f'{head},"items":[]}}\n'


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
