"""The fetch stage against a real HTTP server on 127.0.0.1 (the ``server`` fixture)."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
from yarl import URL

from newsmirror.errors import FetchError
from newsmirror.fetch import Fetcher, retry_after_seconds
from newsmirror.localserver import LocalServer, Request, Response, Route
from newsmirror.models import FetchResult, FetchSettings, HttpCache

from .feedkit import free_port

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
# Short limits so that failures cost milliseconds, not the defaults' seconds.
FAST = FetchSettings(timeout=2.0, connect_timeout=1.0, retries=3, backoff=0.01, max_backoff=2.0)
MiB = 1024 * 1024


def fetch(url: str, cache: HttpCache | None = None, settings: FetchSettings = FAST) -> FetchResult:
    async def main() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, cache)

    return asyncio.run(main())


def fetch_error(url: str, settings: FetchSettings = FAST) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings=settings)
    assert caught.value.url == url
    return caught.value


def answers(*responses: Response) -> Callable[[Request], Response]:
    """A route answering with ``responses`` in turn, the last one for ever after."""
    queue = list(responses)

    def handler(request: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def encoded(body: bytes, coding: str) -> Response:
    return Response(200, body, {"Content-Type": "application/xml", "Content-Encoding": coding})


# -- 200 and 304 ---------------------------------------------------------------


def test_200_then_conditional_get_answered_304(server: LocalServer) -> None:
    route = Route(FEED)
    url = server.add("/feed.xml", route)

    first = fetch(url)
    assert (first.status, first.body, first.attempts) == (200, FEED, 1)
    assert first.content_type == "application/xml; charset=utf-8"
    assert first.cache == HttpCache(route.etag, route.last_modified)
    assert first.final_url == url

    second = fetch(url, first.cache)
    assert second.not_modified and second.status == 304
    assert second.body == b""
    assert second.cache == first.cache
    sent = server.requests_for("/feed.xml")[-1].headers
    assert sent["If-None-Match"] == route.etag
    assert sent["If-Modified-Since"] == route.last_modified


def test_last_modified_alone_gives_a_304(server: LocalServer) -> None:
    route = Route(FEED)
    url = server.add("/feed.xml", route)
    result = fetch(url, HttpCache(last_modified=route.last_modified))
    assert result.status == 304
    assert result.cache.etag == route.etag  # the 304 carried it: kept for next time
    assert "If-None-Match" not in server.requests_for("/feed.xml")[-1].headers


def test_user_agent_names_newsmirror(server: LocalServer) -> None:
    url = server.add("/feed.xml", Route(FEED))
    fetch(url)
    fetch(url, settings=FetchSettings(user_agent="custom-agent/1"))
    agents = [r.headers["User-Agent"] for r in server.requests_for("/feed.xml")]
    assert agents[0].startswith("newsmirror/")
    assert agents[1] == "custom-agent/1"
    assert server.requests[0].headers["Accept-Encoding"] == "gzip, deflate, br"


# -- retries -------------------------------------------------------------------


def test_500_then_200_succeeds_on_attempt_2(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(Response(500), Response(200, FEED)))
    result = fetch(url)
    assert (result.status, result.body, result.attempts) == (200, FEED, 2)


def test_connection_closed_without_answer_is_retried(server: LocalServer) -> None:
    drop = Response(close_without_answer=True)
    url = server.add("/feed.xml", answers(drop, drop, drop, Response(200, FEED)))
    result = fetch(url)
    assert result.body == FEED
    # aiohttp itself sends a GET again once when the connection drops (RFC 9112 §9.3.1),
    # so the three drops take two of our attempts.
    assert result.attempts == 2


def test_persistent_drops_fail_after_all_attempts(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(Response(close_without_answer=True)))
    error = fetch_error(url)
    assert (error.reason, error.status) == (
        "connection closed without an answer (4 attempts)",
        None,
    )


def test_persistent_500_fails_after_all_attempts(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(Response(500)))
    error = fetch_error(url)
    assert error.status == 500
    assert error.reason == "HTTP 500 Internal Server Error after 4 attempts"
    assert len(server.requests_for("/feed.xml")) == 4


def test_503_retry_after_is_honoured(server: LocalServer) -> None:
    seen_at: list[float] = []
    respond = answers(Response(503, headers={"Retry-After": "1"}), Response(200, FEED))

    def handler(request: Request) -> Response:
        seen_at.append(time.monotonic())
        return respond(request)

    result = fetch(server.add("/feed.xml", handler))
    assert result.attempts == 2
    assert seen_at[1] - seen_at[0] >= 0.95  # backoff alone would have waited ~0.01 s


@pytest.mark.parametrize("retry_after", ["3600", formatdate(time.time() + 3600, usegmt=True)])
def test_retry_after_beyond_the_limit_fails_at_once(server: LocalServer, retry_after: str) -> None:
    url = server.add("/feed.xml", answers(Response(503, headers={"Retry-After": retry_after})))
    error = fetch_error(url)
    assert error.status == 503
    assert error.reason.startswith("HTTP 503, Retry-After 3")
    assert error.reason.endswith(" s exceeds the 2 s limit")
    assert len(server.requests_for("/feed.xml")) == 1


def test_retry_after_forms() -> None:
    now = time.time()
    assert retry_after_seconds("120", datetime.now(UTC)) == 120.0
    in_a_minute = retry_after_seconds(formatdate(now + 60, usegmt=True), datetime.now(UTC))
    assert in_a_minute is not None and 58 <= in_a_minute <= 60
    assert retry_after_seconds(formatdate(now - 60, usegmt=True), datetime.now(UTC)) == 0.0
    assert retry_after_seconds("soon", datetime.now(UTC)) is None
    assert retry_after_seconds(None, datetime.now(UTC)) is None


def test_404_fails_at_once(server: LocalServer) -> None:
    error = fetch_error(server.url("/missing.xml"))
    assert (error.status, error.reason) == (404, "HTTP 404 Not Found")
    assert len(server.requests_for("/missing.xml")) == 1


def test_429_is_retried_but_501_is_final(server: LocalServer) -> None:
    url = server.add("/busy.xml", answers(Response(429), Response(200, FEED)))
    assert fetch(url).attempts == 2
    error = fetch_error(server.add("/never.xml", answers(Response(501))))
    assert (error.status, error.reason) == (501, "HTTP 501 Not Implemented")
    assert len(server.requests_for("/never.xml")) == 1


def test_304_to_an_unconditional_request_is_an_error(server: LocalServer) -> None:
    error = fetch_error(server.add("/feed.xml", answers(Response(304))))
    assert error.reason == "HTTP 304 Not Modified to an unconditional request"


def test_timeout(server: LocalServer) -> None:
    url = server.add("/slow.xml", answers(Response(200, FEED, delay=1.0)))
    settings = FetchSettings(timeout=0.2, retries=1, backoff=0.01)
    error = fetch_error(url, settings)
    assert error.reason == "timed out after 0.2 s (2 attempts)"
    assert error.status is None


# -- connection failures -----------------------------------------------------------


def test_connection_refused() -> None:
    error = fetch_error(f"http://127.0.0.1:{free_port()}/feed.xml")
    assert error.reason == "connection refused"


def test_host_not_found() -> None:
    settings = FetchSettings(timeout=2.0, connect_timeout=1.0, retries=3, backoff=0.01)
    error = fetch_error("http://nonexistent.invalid/feed", settings)
    assert error.reason == "host not found: nonexistent.invalid"


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "feed.xml"])
def test_not_an_http_url(url: str) -> None:
    assert fetch_error(url).reason == "not an http(s) URL"


# -- redirects -------------------------------------------------------------------


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", {"Location": location})


def test_redirect_chain_within_the_limit(server: LocalServer) -> None:
    server.add("/r1", answers(redirect("/r2", 301)))
    server.add("/r2", answers(redirect(server.url("/r3"), 307)))
    server.add("/r3", answers(redirect("feed.xml", 308)))  # relative to /r3
    server.add("/feed.xml", Route(FEED))
    result = fetch(server.url("/r1"))
    assert (result.status, result.body) == (200, FEED)
    assert result.url == server.url("/r1")
    assert result.final_url == server.url("/feed.xml")


def test_redirect_loop(server: LocalServer) -> None:
    server.add("/a", answers(redirect("/b")))
    server.add("/b", answers(redirect("/a")))
    error = fetch_error(server.url("/a"))
    assert (error.reason, error.status) == ("redirect loop", 302)
    assert len(server.requests) == 2


def test_too_many_redirects(server: LocalServer) -> None:
    for hop in range(10):
        server.add(f"/hop{hop}", answers(redirect(f"/hop{hop + 1}")))
    error = fetch_error(server.url("/hop0"), FetchSettings(max_redirects=3))
    assert error.reason == "too many redirects (more than 3)"
    assert len(server.requests) == 4


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml"])
def test_redirect_to_another_scheme_is_refused(server: LocalServer, location: str) -> None:
    error = fetch_error(server.add("/feed.xml", answers(redirect(location))))
    assert error.reason == f"redirect to a non-http(s) URL: {location}"
    assert error.status == 302


# -- bodies ------------------------------------------------------------------------


def test_body_over_the_limit(server: LocalServer) -> None:
    url = server.add("/big.xml", Route(b"x" * (2 * MiB)))
    error = fetch_error(url, FetchSettings(max_bytes=1 * MiB))
    assert error.reason == "body larger than 1 MiB limit"


def test_body_at_the_limit(server: LocalServer) -> None:
    url = server.add("/big.xml", Route(b"x" * MiB))
    assert len(fetch(url, settings=FetchSettings(max_bytes=MiB)).body) == MiB


def zeros_gzip(size: int) -> bytes:
    """``size`` zero bytes gzipped (~1000:1), made without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MiB)
    parts = [packer.compress(block) for _ in range(size // MiB)]
    return b"".join(parts) + packer.flush()


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compression_bomb_is_refused_without_inflating_it(server: LocalServer, coding: str) -> None:
    bomb = zeros_gzip(50 * MiB) if coding == "gzip" else brotli.compress(bytes(50 * MiB), quality=1)
    assert len(bomb) < 100_000
    url = server.add("/bomb.xml", answers(encoded(bomb, coding)))
    tracemalloc.start()
    try:
        error = fetch_error(url, FetchSettings(max_bytes=MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == "compressed body expands beyond the 1 MiB limit"
    assert peak < 8 * MiB  # the 50 MiB were never held


def raw_deflate(data: bytes) -> bytes:
    """RFC 1951 without the zlib wrapper, as some servers send "deflate"."""
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    "coding, pack",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110 §8.4.1.2: the zlib format
        ("deflate", raw_deflate),
        ("br", brotli.compress),
    ],
)
def test_compressed_bodies_are_decoded(
    server: LocalServer, coding: str, pack: Callable[[bytes], bytes]
) -> None:
    body = FEED * 200
    url = server.add("/feed.xml", answers(encoded(pack(body), coding)))
    result = fetch(url)
    assert result.body == body
    assert dict(result.headers)["Content-Encoding"] == coding


def test_unknown_content_encoding_is_an_error(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(encoded(FEED, "compress")))
    assert fetch_error(url).reason == "unsupported Content-Encoding: compress"


def test_truncated_gzip_is_an_error(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(encoded(gzip.compress(FEED * 50)[:-20], "gzip")))
    assert fetch_error(url).reason.startswith("corrupt gzip body")


# -- limits ------------------------------------------------------------------------


def test_per_host_limit_is_respected(server: LocalServer) -> None:
    lock = threading.Lock()
    in_flight = 0
    most = 0

    def handler(request: Request) -> Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return Response(200, FEED)

    url = server.add("/feed.xml", handler)

    async def main() -> list[FetchResult | FetchError]:
        async with Fetcher(FetchSettings(per_host=2, concurrency=16)) as fetcher:
            return await fetcher.fetch_many([(url, None)] * 20)

    results = asyncio.run(main())
    assert all(isinstance(r, FetchResult) and r.status == 200 for r in results)
    assert most == 2


def test_waiting_for_a_slot_does_not_count_against_the_timeout(server: LocalServer) -> None:
    url = server.add("/feed.xml", answers(Response(200, FEED, delay=0.3)))

    async def main() -> list[FetchResult | FetchError]:
        settings = FetchSettings(per_host=1, timeout=0.5, retries=0)
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch_many([(url, None)] * 4)  # 1.2 s in a row

    assert all(isinstance(r, FetchResult) for r in asyncio.run(main()))


def test_fetch_many_returns_errors_in_place(server: LocalServer) -> None:
    good = server.add("/feed.xml", Route(FEED))

    async def main() -> list[FetchResult | FetchError]:
        async with Fetcher(FAST) as fetcher:
            return await fetcher.fetch_many([(good, None), (server.url("/gone"), None)])

    ok, failed = asyncio.run(main())
    assert isinstance(ok, FetchResult) and ok.body == FEED
    assert isinstance(failed, FetchError) and failed.status == 404


# -- per-call limit and checks (used for article images) -------------------------------


def fetch_with(url: str, **options: Any) -> FetchResult:
    async def main() -> FetchResult:
        async with Fetcher(FAST) as fetcher:
            return await fetcher.fetch(url, **options)

    return asyncio.run(main())


def fetch_with_error(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_with(url, **options)
    assert caught.value.url == url
    return caught.value


def test_max_bytes_overrides_the_settings_for_one_call(server: LocalServer) -> None:
    url = server.add("/big.xml", Route(b"x" * (2 * MiB)))
    assert fetch_with_error(url, max_bytes=MiB).reason == "body larger than 1 MiB limit"
    assert len(fetch_with(url).body) == 2 * MiB  # FAST keeps the 20 MiB default
    small = FetchSettings(max_bytes=MiB)
    assert fetch_error(url, small).reason == "body larger than 1 MiB limit"

    async def raised() -> FetchResult:
        async with Fetcher(small) as fetcher:
            return await fetcher.fetch(url, max_bytes=4 * MiB)

    assert len(asyncio.run(raised()).body) == 2 * MiB


def test_allow_url_is_asked_before_each_hop(server: LocalServer) -> None:
    server.add("/r1", answers(redirect("/r2", 301)))
    server.add("/r2", answers(redirect("/feed.xml", 307)))
    server.add("/feed.xml", Route(FEED))
    asked: list[str] = []

    def allow_all(url: URL) -> str | None:
        asked.append(url.path)
        return None

    assert fetch_with(server.url("/r1"), allow_url=allow_all).body == FEED
    assert asked == ["/r1", "/r2", "/feed.xml"]

    def refuse_feed(url: URL) -> str | None:
        return "no feeds today" if url.path == "/feed.xml" else None

    server.requests.clear()
    error = fetch_with_error(server.url("/r1"), allow_url=refuse_feed)
    assert (error.reason, error.status) == ("no feeds today", 307)  # the hop that led there
    assert [r.path for r in server.requests] == ["/r1", "/r2"]  # never asked for /feed.xml


def test_allow_url_refusing_the_first_url_sends_nothing(server: LocalServer) -> None:
    url = server.add("/feed.xml", Route(FEED))
    error = fetch_with_error(url, allow_url=lambda u: "not this one")
    assert (error.reason, error.status) == ("not this one", None)
    assert server.requests == []


class RecordingCheck:
    """An address check refusing ``refused`` and recording what it was asked."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)
        self.asked: list[tuple[str, str]] = []

    def __call__(self, host: str, address: str) -> str | None:
        self.asked.append((host, address))
        return f"{address} is off limits" if address in self.refused else None


def test_allow_address_sees_literals_before_connecting(server: LocalServer) -> None:
    url = server.add("/feed.xml", Route(FEED))
    check = RecordingCheck("127.0.0.1")
    error = fetch_with_error(url, allow_address=check)
    assert error.reason == "127.0.0.1 is off limits"
    assert check.asked == [("127.0.0.1", "127.0.0.1")]
    assert server.requests == []
    # An IPv4 address spelled the legacy way is the same address.
    odd = f"http://127.1:{server.port}/feed.xml"
    assert fetch_with_error(odd, allow_address=check).reason == "127.0.0.1 is off limits"
    assert fetch_with(url, allow_address=RecordingCheck("10.0.0.1")).body == FEED


def test_allow_address_sees_resolved_addresses(server: LocalServer) -> None:
    server.add("/feed.xml", Route(FEED))
    by_name = f"http://localhost:{server.port}/feed.xml"
    check = RecordingCheck("127.0.0.1", "::1")
    error = fetch_with_error(by_name, allow_address=check)
    assert error.reason in ("127.0.0.1 is off limits", "::1 is off limits")
    assert {host for host, _ in check.asked} == {"localhost"}
    assert server.requests == []
    # Only the allowed addresses are tried: with ::1 refused, 127.0.0.1 answers.
    assert fetch_with(by_name, allow_address=RecordingCheck("::1")).body == FEED


def test_a_checked_request_never_reuses_an_unchecked_connection(server: LocalServer) -> None:
    url = server.add("/feed.xml", Route(FEED))
    by_name = f"http://localhost:{server.port}/feed.xml"

    async def main() -> FetchError:
        async with Fetcher(FAST) as fetcher:
            # An open keep-alive connection and a cached DNS answer for localhost...
            assert (await fetcher.fetch(by_name)).body == FEED
            assert (await fetcher.fetch(url)).body == FEED
            # ...are not how a checked request gets there.
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(by_name, allow_address=RecordingCheck("127.0.0.1", "::1"))
            return caught.value

    assert asyncio.run(main()).reason in ("127.0.0.1 is off limits", "::1 is off limits")
    assert len(server.requests) == 2
