"""A farm of N RSS 2.0 feeds x M items, served on 127.0.0.1 by aiohttp in its own process.

    python bench/farm.py --feeds 200 --items 50 [--port 0]

Prints ``READY <port>`` on stdout once every feed of the current version is
generated and the server listens. Feeds are at ``/feed/<n>.xml`` (n from 0).

Each item: a generated Chinese title, an HTML body of 2-20 KB (paragraphs,
headings, one ``<img>``) in ``content:encoded``, a summary in ``description``,
a guid, a link, a date and a category. Text comes from the generator of
``bench/site_build.py`` (our own words, nothing from the corpus). Bodies are
drawn from a pool of distinct bodies, each item gets its own lead paragraph,
title, guid, link and image, so every item is a distinct article.

Conditional requests: every response carries an ``ETag`` and a
``Last-Modified``; ``If-None-Match`` / ``If-Modified-Since`` matching the
current version get ``304 Not Modified``.

Versions: ``POST /_control/version?v=2`` switches to version 2, where 5% of
all items (rounded, spread over the feeds) are new: they are prepended to
their feed and as many old items fall off, so each feed keeps M items.
``&new=500``: that many new items instead (feeds without one answer 304). The
response comes once the new version is generated. ``GET /_control/stats``
gives request counts (200s and 304s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import random
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from aiohttp import web  # noqa: E402
from site_build import Prose  # noqa: E402

from tests.feedkit import Item, rss  # noqa: E402

POOL = 600  # distinct bodies; each item adds its own lead paragraph, title and image
NEW_SHARE = 0.05
CATEGORIES = ("国际", "中国", "港澳", "台湾", "财经", "评论", "科技", "社会")


# An item is 2-20 KB: a body of this size, plus its lead paragraph and image (~400 bytes).
BODY_BYTES = (2048 - 400, 20480 - 400)


class Farm:
    def __init__(self, feeds: int, items: int, seed: int = 20261121) -> None:
        self.feeds = feeds
        self.items = items
        prose = Prose(seed)
        self.pool = [prose.body(n, size=BODY_BYTES, figures=False) for n in range(POOL)]
        self.titles = [prose.title() for _ in range(POOL)]
        self.leads = [prose.sentence() + prose.sentence() for _ in range(POOL)]
        # The newest item of version 1 is an hour old; items are an hour apart.
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.newest = now - timedelta(hours=1)
        self.spread(round(feeds * items * NEW_SHARE))
        self.version = 1
        self.cache: dict[int, tuple[bytes, str, str]] = {}
        self.stats = {"200": 0, "304": 0}
        self.generate()

    def spread(self, total_new: int) -> None:
        """Version 2's new items, ``total_new`` of them, spread over the feeds."""
        self.new_per_feed = [
            total_new // self.feeds + (1 if n < total_new % self.feeds else 0)
            for n in range(self.feeds)
        ]

    def item(self, feed: int, number: int) -> Item:
        """Item ``number`` (0 = oldest) of ``feed``; the same in every version."""
        key = feed * 100_003 + number
        rng = random.Random(key)
        k = rng.randrange(POOL)
        published = self.newest - timedelta(hours=self.items - 1 - number, minutes=feed % 60)
        title = f"{self.titles[k]}（{feed}-{number}）"
        lead = f"<p>{self.titles[rng.randrange(POOL)]}。{self.leads[rng.randrange(POOL)]}</p>"
        img = (
            f'<figure><img src="https://img.example.org/{feed}/{number}.jpg" '
            f'alt="新闻图片{feed}-{number}" width="800" height="450">'
            f"<figcaption>资料图片（{feed}-{number}）</figcaption></figure>"
        )
        return Item(
            title=title,
            link=f"https://news{feed}.example.org/a/{number}.html",
            guid=f"farm-{feed}-{number}",
            published=published,
            content=f"{lead}\n{img}\n{self.pool[k]}",
            description=self.leads[k][:120],
            categories=(CATEGORIES[k % len(CATEGORIES)],),
        )

    def document(self, feed: int) -> tuple[bytes, str, str]:
        extra = self.new_per_feed[feed] if self.version == 2 else 0
        last = self.items - 1 + extra
        numbers = range(last, last - self.items, -1)  # newest first
        data = rss([self.item(feed, n) for n in numbers], title=f"农场新闻台{feed:04d}")
        etag = '"' + hashlib.blake2b(data, digest_size=8).hexdigest() + '"'
        modified = self.newest + timedelta(hours=extra)
        return data, etag, format_datetime(modified, usegmt=True)

    def generate(self) -> None:
        self.cache = {n: self.document(n) for n in range(self.feeds)}

    async def feed(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            n = int(name)
            data, etag, modified = self.cache[n]
        except (ValueError, KeyError):
            raise web.HTTPNotFound() from None
        headers = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "no-cache"}
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = etag in {t.strip() for t in inm.split(",")} or inm.strip() == "*"
        elif ims is not None:
            try:
                fresh = parsedate_to_datetime(ims) >= parsedate_to_datetime(modified)
            except (TypeError, ValueError):
                fresh = False
        if fresh:
            self.stats["304"] += 1
            return web.Response(status=304, headers=headers)
        self.stats["200"] += 1
        return web.Response(
            body=data, headers=headers, content_type="application/rss+xml", charset="utf-8"
        )

    async def set_version(self, request: web.Request) -> web.Response:
        version = int(request.query.get("v", "2"))
        if version not in (1, 2):
            raise web.HTTPBadRequest(text="v must be 1 or 2")
        new = request.query.get("new")
        if new is not None and version == 2:
            self.spread(int(new))
            self.version = 0  # generate again below
        if version != self.version:
            self.version = version
            self.generate()
        self.stats = {"200": 0, "304": 0}
        return web.json_response({"version": self.version, "new": sum(self.new_per_feed)})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response({**self.stats, "version": self.version})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed/{name}.xml", self.feed)
        app.router.add_post("/_control/version", self.set_version)
        app.router.add_get("/_control/stats", self.get_stats)
        return app


async def serve(farm: Farm, port: int) -> None:
    runner = web.AppRunner(farm.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    actual = runner.addresses[0][1]
    print(f"READY {actual}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--version", type=int, default=1, choices=(1, 2))
    args = parser.parse_args()
    farm = Farm(args.feeds, args.items)
    if args.version == 2:
        farm.version = 2
        farm.generate()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(farm, args.port))


if __name__ == "__main__":
    main()
