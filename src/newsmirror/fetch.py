"""Stage 2, fetch: a feed URL and the validators kept for it in, its bytes or a 304 out.

One ``Fetcher`` holds one aiohttp session per run, so connections are reused. A
request first waits for a slot under the global and the per-host limit, then its
timeout starts. It sends the validators of the last 200 (RFC 9110 §13.1), so an
unchanged feed costs a 304. Redirects are followed by hand, a bounded number of
times, to http(s) URLs only. Bodies are decoded here (gzip, deflate, br) while
they stream in, so the size limit holds for what a body expands to.

Retried, with exponential backoff, jitter and ``Retry-After`` (RFC 9110 §10.2.3):
timeouts, a connection dropped or reset before the answer was complete, an
unreachable network, 5xx (but 501 and 505, which are final), 408 and 429. Not
retried: other 4xx, an unknown host, TLS errors, and a refused connection --
nothing listens there, that answer came at once and would come again a second
later; the next scheduled run is the retry.

A caller fetching URLs it does not trust (article images) can also say where
not to go: ``allow_url`` judges the URL and every redirect target before a
connection is made, and ``allow_address`` judges every IP address a request
would connect to -- IP literals before the request, host names inside the DNS
resolver, so the addresses checked are the addresses connected to (no window
for DNS rebinding between a check and a connect). Requests with an address
check get their own connection pool and resolver per check, so that a
connection opened without the check, or under a laxer one, is never reused.

It must never raise anything but ``FetchError`` for a network, HTTP or size
problem; never hold more than ``max_bytes`` of a body, sent or decoded; never
talk to anything but the URL asked for and its http(s) redirects (no cookies
kept, no proxy taken from the environment).
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import ipaddress
import logging
import math
import random
import socket
import zlib
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import metadata
from typing import Self

import aiohttp
import brotli  # type: ignore[import-untyped]
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from newsmirror.errors import FetchError
from newsmirror.models import FetchResult, FetchSettings, HttpCache

log = logging.getLogger(__name__)

HTTP_SCHEMES = frozenset({"http", "https"})
# RFC 9110 §15.4: the redirects that name the new location in Location.
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# RFC 9110 §15.6.2 / §15.6.6: not implemented / version not supported is permanent.
PERMANENT_5XX = frozenset({501, 505})
# RFC 9110 §15.5.9 (408 Request Timeout) and RFC 6585 §4 (429): "try again later".
RETRIED_4XX = frozenset({408, 429})
# Up to this fraction is added to each backoff, so that sources failing
# together (one host down) do not all come back in the same instant.
JITTER = 0.1
# The codings we can decode while streaming, under the size limit.
ACCEPT_ENCODING = "gzip, deflate, br"
# The version named in the User-Agent when newsmirror runs from a source tree.
FALLBACK_VERSION = "0.1.0"
MiB = 1024 * 1024

# Judges a URL (the first one and every redirect target) before it is connected
# to: None to allow it, else the reason it is refused.
UrlCheck = Callable[[URL], str | None]
# Judges one address a request would connect to, given the host name it came
# from and the address as a string ("10.0.0.1", "::1"): None or a refusal. It
# must be hashable, and equal checks must decide alike: requests under equal
# checks share one connection pool (see ``Fetcher.fetch``).
AddressCheck = Callable[[str, str], str | None]


def default_user_agent() -> str:
    """``newsmirror/<version>``, so that feed hosts can tell who polls them."""
    try:
        version = metadata.version("newsmirror")
    except metadata.PackageNotFoundError:
        version = FALLBACK_VERSION
    return f"newsmirror/{version} (news feed mirror; aiohttp/{aiohttp.__version__})"


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """RFC 9110 §10.2.3: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _Transient(Exception):
    """A failure worth another attempt; becomes a FetchError when attempts run out."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after

    def final_reason(self, attempts: int) -> str:
        if attempts == 1:
            return self.reason
        if self.status is not None:
            return f"{self.reason} after {attempts} attempts"
        return f"{self.reason} ({attempts} attempts)"


class Fetcher:
    """Fetch URLs concurrently within limits; use as ``async with Fetcher(settings) as f``."""

    def __init__(self, settings: FetchSettings = FetchSettings()) -> None:  # noqa: B008 (frozen)
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._overall = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[tuple[str, str | None, int | None], asyncio.Semaphore] = {}
        # One session per address check, whose resolver applies that check.
        self._checked_sessions: dict[Hashable, aiohttp.ClientSession] = {}
        self._resolvers: list[AbstractResolver] = []

    async def __aenter__(self) -> Self:
        self._session = self._new_session()
        return self

    def _new_session(self, resolver: AbstractResolver | None = None) -> aiohttp.ClientSession:
        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.concurrency, limit_per_host=s.per_host, resolver=resolver
        )
        return aiohttp.ClientSession(
            connector=connector,
            # Our own asyncio.timeout covers the whole exchange once a slot is held;
            # aiohttp only bounds the TCP connect.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=s.connect_timeout),
            headers={
                "User-Agent": s.user_agent or default_user_agent(),
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            auto_decompress=False,  # decoded by _read_body, under the size limit
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def __aexit__(self, *exc: object) -> None:
        sessions = [self._session, *self._checked_sessions.values()]
        resolvers = self._resolvers
        self._session, self._checked_sessions, self._resolvers = None, {}, []
        for session in sessions:
            if session is not None:
                await session.close()
        for resolver in resolvers:  # a connector does not close a resolver it was given
            await resolver.close()

    def _session_for(self, allow_address: AddressCheck | None) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the Fetcher as 'async with Fetcher(...) as fetcher'")
        if allow_address is None:
            return self._session
        session = self._checked_sessions.get(allow_address)
        if session is None:
            resolver = _CheckedResolver(allow_address)
            self._resolvers.append(resolver)
            session = self._checked_sessions[allow_address] = self._new_session(resolver)
        return session

    async def fetch(
        self,
        url: str,
        cache: HttpCache | None = None,
        *,
        max_bytes: int | None = None,
        allow_url: UrlCheck | None = None,
        allow_address: AddressCheck | None = None,
    ) -> FetchResult:
        """GET ``url``: a 200 with its decoded body, or a 304; anything else raises FetchError.

        ``max_bytes`` overrides the settings' body limit for this call.
        ``allow_url`` is asked about ``url`` and every redirect target before
        connecting; ``allow_address`` about every address connected to (see the
        module docstring). A refusal from either raises FetchError with its
        reason, before any byte is sent there.
        """
        target = _http_url(url)
        guard = _Guard(
            max_bytes=self.settings.max_bytes if max_bytes is None else max_bytes,
            allow_url=allow_url,
            allow_address=allow_address,
        )
        attempts = 1 + max(0, self.settings.retries)
        for attempt in range(1, attempts + 1):
            try:
                result = await self._follow(url, target, cache, guard)
            except _Transient as failure:
                if attempt == attempts:
                    reason = failure.final_reason(attempts)
                    raise FetchError(url, reason, status=failure.status) from failure.__cause__
                delay = self._wait_before_retry(url, attempt, failure)
                log.debug("%s: %s; attempt %d in %.2f s", url, failure.reason, attempt + 1, delay)
                await asyncio.sleep(delay)
            else:
                return result if attempt == 1 else replace(result, attempts=attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def fetch_many(
        self, requests: Iterable[tuple[str, HttpCache | None]]
    ) -> list[FetchResult | FetchError]:
        """Fetch all at once within the limits; each failure takes its URL's place, in order."""
        return list(await asyncio.gather(*(self._fetch_or_error(u, c) for u, c in requests)))

    async def _fetch_or_error(self, url: str, cache: HttpCache | None) -> FetchResult | FetchError:
        try:
            return await self.fetch(url, cache)
        except FetchError as error:
            return error

    def _wait_before_retry(self, url: str, attempt: int, failure: _Transient) -> float:
        s = self.settings
        delay = min(s.backoff * 2 ** (attempt - 1) * (1 + random.random() * JITTER), s.max_backoff)
        if failure.retry_after is None:
            return delay
        if failure.retry_after > s.max_backoff:
            reason = (
                f"HTTP {failure.status}, Retry-After {math.ceil(failure.retry_after)} s "
                f"exceeds the {_seconds(s.max_backoff)} s limit"
            )
            raise FetchError(url, reason, status=failure.status)
        # Never sooner than the server asked, never faster than our own backoff.
        return max(failure.retry_after, delay)

    async def _follow(
        self, url: str, target: URL, cache: HttpCache | None, guard: _Guard
    ) -> FetchResult:
        """One attempt: the URL and its redirects, each hop in its own slot and timeout."""
        seen = {target}
        redirects = 0
        status: int | None = None  # of the redirect that led to ``target``
        while True:
            refusal = guard.refusal(target)
            if refusal is not None:
                raise FetchError(url, refusal, status=status)
            answer = await self._exchange(url, target, cache, guard)
            if isinstance(answer, FetchResult):
                return answer
            location, status = answer
            redirects += 1
            if location in seen:
                raise FetchError(url, "redirect loop", status=status)
            if redirects > self.settings.max_redirects:
                reason = f"too many redirects (more than {self.settings.max_redirects})"
                raise FetchError(url, reason, status=status)
            seen.add(location)
            target = location

    async def _exchange(
        self, url: str, target: URL, cache: HttpCache | None, guard: _Guard
    ) -> FetchResult | tuple[URL, int]:
        """One request and its answer, or where it redirects to. Slot waits are not timed."""
        session = self._session_for(guard.allow_address)
        host_key = (target.scheme, target.host, target.port)
        host_slot = self._hosts.get(host_key)
        if host_slot is None:
            host_slot = self._hosts[host_key] = asyncio.Semaphore(self.settings.per_host)
        # The host's slot first: waiting for it must not keep a global slot idle.
        async with host_slot, self._overall:
            try:
                async with asyncio.timeout(self.settings.timeout):
                    async with session.get(
                        target, headers=_conditional_headers(cache), allow_redirects=False
                    ) as response:
                        return await self._answer(url, response, cache, guard.max_bytes)
            except (FetchError, _Transient):
                raise
            except aiohttp.ConnectionTimeoutError as error:
                reason = f"connecting timed out after {_seconds(self.settings.connect_timeout)} s"
                raise _Transient(reason) from error
            except TimeoutError as error:
                reason = f"timed out after {_seconds(self.settings.timeout)} s"
                raise _Transient(reason) from error
            except (aiohttp.ClientError, OSError) as error:
                raise _connection_failure(url, target, error) from error

    async def _answer(
        self, url: str, response: aiohttp.ClientResponse, cache: HttpCache | None, max_bytes: int
    ) -> FetchResult | tuple[URL, int]:
        status = response.status
        headers = response.headers
        if status == 200:
            return FetchResult(
                url=url,
                final_url=str(response.url),
                status=200,
                body=await self._read_body(url, response, max_bytes),
                content_type=headers.get("Content-Type"),
                cache=HttpCache(headers.get("ETag"), headers.get("Last-Modified")),
                headers=tuple(headers.items()),
            )
        if status == 304:
            if cache is None or (cache.etag is None and cache.last_modified is None):
                raise FetchError(
                    url, "HTTP 304 Not Modified to an unconditional request", status=304
                )
            return FetchResult(
                url=url,
                final_url=str(response.url),
                status=304,
                # RFC 9110 §15.4.5: a 304 may carry new validators; keep the others.
                cache=HttpCache(
                    headers.get("ETag") or cache.etag,
                    headers.get("Last-Modified") or cache.last_modified,
                ),
                headers=tuple(headers.items()),
            )
        if status in REDIRECT_STATUSES:
            return _redirect_target(url, response), status
        reason = _http_reason(response)
        if status in RETRIED_4XX or (status >= 500 and status not in PERMANENT_5XX):
            retry_after = retry_after_seconds(headers.get("Retry-After"), datetime.now(UTC))
            raise _Transient(reason, status, retry_after)
        if 200 < status < 300:
            reason = f"unexpected {reason} (a body was expected)"
        raise FetchError(url, reason, status=status)

    async def _read_body(self, url: str, response: aiohttp.ClientResponse, limit: int) -> bytes:
        """The decoded body, streamed; refused as soon as it grows past ``limit`` bytes."""
        coding = response.headers.get("Content-Encoding", "identity").strip().lower()
        decoder = _decoder_for(url, coding)
        too_large = FetchError(url, f"body larger than {_size(limit)} limit", status=200)
        if decoder is None and (response.content_length or 0) > limit:
            raise too_large  # known from the headers: not a byte read
        chunks: list[bytes] = []
        received = size = 0
        try:
            async for chunk in response.content.iter_any():
                received += len(chunk)
                if received > limit:
                    raise too_large
                if decoder is not None:
                    chunk = decoder.decode(chunk, limit - size)
                    if size + len(chunk) > limit:
                        reason = f"compressed body expands beyond the {_size(limit)} limit"
                        raise FetchError(url, reason, status=200)
                size += len(chunk)
                chunks.append(chunk)
            if decoder is not None:
                decoder.finish()
        except DECODE_ERRORS as error:
            raise FetchError(url, f"corrupt {coding} body: {error}", status=200) from error
        return b"".join(chunks)


@dataclass(frozen=True, slots=True)
class _Guard:
    """What one ``fetch`` call allows: its body limit and its URL and address checks."""

    max_bytes: int
    allow_url: UrlCheck | None
    allow_address: AddressCheck | None

    def refusal(self, target: URL) -> str | None:
        """Why ``target`` must not be connected to, or None. Runs before every hop."""
        if self.allow_url is not None:
            reason = self.allow_url(target)
            if reason is not None:
                return reason
        if self.allow_address is not None and target.host is not None:
            # aiohttp connects to an IP literal without asking the resolver, so
            # the check sees literals here; host names meet it in _CheckedResolver.
            address = _ip_literal(target.host)
            if address is not None:
                return self.allow_address(target.host, address)
        return None


class _AddressRefused(OSError):
    """Every address a host name resolved to was refused by the address check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _CheckedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses ``check`` allows.

    The connector connects to exactly what this returns, so the address that
    was checked is the address connected to, whatever a DNS server answers a
    second time (DNS rebinding); aiohttp's DNS cache holds checked answers only.
    """

    def __init__(self, check: AddressCheck) -> None:
        self._check = check
        self._resolver: AbstractResolver | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._resolver is None:
            self._resolver = aiohttp.DefaultResolver()
        found = await self._resolver.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refusals: list[str] = []
        for result in found:
            reason = self._check(host, result["host"])
            if reason is None:
                allowed.append(result)
            else:
                refusals.append(reason)
        if not allowed:
            raise _AddressRefused(refusals[0] if refusals else f"no address for {host}")
        return allowed

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()


# What a decoder raises on bytes that are not the coding the server named.
DECODE_ERRORS = (zlib.error, brotli.error, ValueError)


class _ZlibDecoder:
    """gzip (RFC 1952) or deflate: RFC 9110 §8.4.1.2 says zlib (RFC 1950), some send raw."""

    def __init__(self, wbits: int, raw_fallback: bool = False) -> None:
        self._stream = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # decided on the first chunk only

    def decode(self, data: bytes, room: int) -> bytes:
        # One byte more than the room left tells "fits" from "too large" without
        # ever inflating further: this is what defeats a gzip bomb.
        fallback, self._raw_fallback = self._raw_fallback, False
        try:
            return self._stream.decompress(data, room + 1)
        except zlib.error:
            if not fallback:
                raise
            self._stream = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, RFC 1951
            return self._stream.decompress(data, room + 1)

    def finish(self) -> None:
        if not self._stream.eof:
            raise ValueError("the compressed stream ends early")


class _BrotliDecoder:
    """RFC 7932; ``output_buffer_limit`` bounds each output as ``max_length`` does for zlib."""

    def __init__(self) -> None:
        self._stream = brotli.Decompressor()

    def decode(self, data: bytes, room: int) -> bytes:
        return bytes(self._stream.process(data, output_buffer_limit=room + 1))

    def finish(self) -> None:
        if not self._stream.is_finished():
            raise ValueError("the compressed stream ends early")


def _decoder_for(url: str, coding: str) -> _ZlibDecoder | _BrotliDecoder | None:
    if coding in ("", "identity"):
        return None
    if coding in ("gzip", "x-gzip"):
        return _ZlibDecoder(16 + zlib.MAX_WBITS)  # +16: expect the gzip header
    if coding == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br":
        return _BrotliDecoder()
    raise FetchError(url, f"unsupported Content-Encoding: {coding}", status=200)


# -- small pure helpers --------------------------------------------------------


def _http_url(url: str) -> URL:
    try:
        target = URL(url)
    except (ValueError, TypeError) as error:
        raise FetchError(url, "not a valid URL") from error
    if target.scheme not in HTTP_SCHEMES or not target.host:
        raise FetchError(url, "not an http(s) URL")
    return target.with_fragment(None)


def _ip_literal(host: str) -> str | None:
    """The address an IP-literal host denotes, or None for a host name.

    Besides the standard forms, the legacy IPv4 forms that ``inet_aton`` (and so
    a resolver) accepts -- ``127.1``, ``2130706433``, ``0x7f.0.0.1`` -- count as
    literals, so that a check cannot be dodged by spelling an address oddly.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if host and all(c in _LEGACY_IPV4_CHARS for c in host):
        try:
            return str(ipaddress.IPv4Address(socket.inet_aton(host)))
        except OSError:
            return None
    return None


_LEGACY_IPV4_CHARS = frozenset("0123456789abcdefxABCDEFX.")


def _conditional_headers(cache: HttpCache | None) -> dict[str, str] | None:
    """RFC 9110 §13.1: send back the validators of the last 200."""
    if cache is None:
        return None
    sent = {"If-None-Match": cache.etag, "If-Modified-Since": cache.last_modified}
    return {name: value for name, value in sent.items() if value} or None


def _redirect_target(url: str, response: aiohttp.ClientResponse) -> URL:
    status = response.status
    location = response.headers.get("Location")
    if not location:
        raise FetchError(url, f"{_http_reason(response)} without a Location", status=status)
    try:
        target = response.url.join(URL(location)).with_fragment(None)
    except (ValueError, TypeError) as error:
        raise FetchError(url, f"redirect to a bad URL: {location}", status=status) from error
    if target.scheme not in HTTP_SCHEMES or not target.host:
        raise FetchError(url, f"redirect to a non-http(s) URL: {location}", status=status)
    return target


def _http_reason(response: aiohttp.ClientResponse) -> str:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = response.reason or ""
    return f"HTTP {response.status} {phrase}".rstrip()


def _connection_failure(url: str, target: URL, error: BaseException) -> Exception:
    """A FetchError for what another attempt cannot change, else a _Transient."""
    os_errno = getattr(error, "errno", None)
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(
        error.os_error, _AddressRefused
    ):
        return FetchError(url, error.os_error.reason)
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return FetchError(url, f"host not found: {target.host}")
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        problem = getattr(error.certificate_error, "verify_message", None) or "not trusted"
        return FetchError(url, f"TLS certificate of {target.host}: {problem}")
    if isinstance(error, aiohttp.ClientSSLError):
        return FetchError(url, f"TLS handshake with {target.host} failed")
    if os_errno == errno.ECONNREFUSED:
        return FetchError(url, "connection refused")
    if isinstance(error, aiohttp.ClientConnectorError):
        return _Transient(f"cannot connect to {target.host}: {error.strerror}")
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return _Transient("connection closed without an answer")
    if isinstance(error, aiohttp.ClientPayloadError):
        return _Transient("connection closed before the body was complete")
    if os_errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED):
        return _Transient("connection reset")
    if isinstance(error, aiohttp.ClientResponseError):
        return FetchError(url, f"malformed HTTP answer: {error.message}")
    if isinstance(error, aiohttp.InvalidURL):
        return FetchError(url, "not a valid URL")
    return FetchError(url, f"network error: {error}")


def _seconds(value: float) -> str:
    return f"{value:g}"


def _size(limit: int) -> str:
    return f"{limit / MiB:g} MiB" if limit >= MiB else f"{limit} bytes"
