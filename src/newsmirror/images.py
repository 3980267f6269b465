"""Images in articles: which ones an article shows, and the archive's policy for them.

SPEC.md step 5: readers often cannot load third-party images, so each archive
(or source) picks a policy:

- ``keep``: the article's HTML is left as it is;
- ``proxy``: every image URL goes through a URL template such as
  ``https://images.weserv.nl?url={url}``;
- ``mirror``: every image is downloaded once into the archive's ``assets/``
  folder, named by its content hash, and the article points at that copy with a
  relative path, so a clone of the archive shows it with no network.

Deciding is pure (``image_urls``, ``proxied``, ``rewrite_images``: strings in,
strings out, every byte the policy does not touch kept as it was); acting is
``mirror_image``, which downloads through the shared ``Fetcher``.

A mirrored image is served later from the archive's own site, so this module
must never store anything that a browser could run: the type is sniffed from
the bytes (never taken from the URL or the Content-Type), only raster formats
are kept, and the file extension is the sniffed type's. SVG is refused: it can
carry script, which would run in the site's origin if the file were opened.
And an image URL is written by whoever wrote the feed, so it must never make
newsmirror fetch from a private network: see ``AddressGuard``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from newsmirror.errors import FetchError
from newsmirror.fetch import Fetcher
from newsmirror.htmlrewrite import format_srcset, iter_attributes, parse_srcset, rewrite_attributes

log = logging.getLogger(__name__)

POLICIES = ("keep", "proxy", "mirror")
HTTP_SCHEMES = ("http", "https")
# Where mirrored images go, under the archive folder: assets/ab/abcdef….jpg.
ASSETS_DIR = "assets"
MiB = 1024 * 1024
# A news photo is rarely above 2 MB; 10 MiB leaves room for a large original
# while keeping one article's images from bloating a git repository that is
# cloned in full by every reader.
DEFAULT_MAX_BYTES = 10 * MiB

# -- which attributes show an image ---------------------------------------------
# <img src>, <img srcset> and <picture><source srcset> (HTML §4.8.3-4), <video
# poster> (§4.8.9). <image> is what HTML parsers turn into <img> (HTML §13.2.6.4.7)
# and, inside inline SVG, loads its href / xlink:href.
IMAGE_TAGS = frozenset({"img", "source", "video", "image"})
_SINGLE_URL = frozenset({("img", "src"), ("video", "poster"), ("image", "src")})
_SINGLE_URL |= {("image", "href"), ("image", "xlink:href")}
_SRCSET = frozenset({("img", "srcset"), ("source", "srcset")})

# -- proxy templates ------------------------------------------------------------------
PLACEHOLDERS = ("{url}", "{full_url}", "{quoted_url}")
# {url} is inserted as the seeds show it (scheme dropped, otherwise as is); only
# what would end or change a query value is escaped: "&" starts another
# parameter, "#" a fragment, "+" reads as a space in a form-encoded query
# (HTML §4.10.21.7), white space ends the URL.
_QUERY_BREAKERS = str.maketrans({"&": "%26", "#": "%23", "+": "%2B", " ": "%20"})


# -- pure: which images, and how the article points at them -------------------------


def image_urls(html: str) -> list[str]:
    """The absolute http(s) image URLs ``html`` shows, each once, in document order."""
    found: dict[str, None] = {}
    for attribute in iter_attributes(html, IMAGE_TAGS):
        key = (attribute.tag, attribute.name)
        if key in _SINGLE_URL:
            urls = [attribute.value.strip()]
        elif key in _SRCSET:
            urls = [url for url, _ in parse_srcset(attribute.value)]
        else:
            continue
        for url in urls:
            if _is_remote(url) and not url.startswith("//"):
                found.setdefault(url)
    return list(found)


def proxied(url: str, template: str) -> str:
    """``url`` as the image proxy ``template`` serves it.

    Placeholders: ``{url}`` the URL without its scheme
    (``gdb.voanews.com/x.jpg?a=1``, as images.weserv.nl takes it and the seeds
    show), ``{full_url}`` the URL as it is, ``{quoted_url}`` the whole URL
    percent-encoded. A URL that is not http(s) (``data:``, relative) is left
    alone, and so is a URL already under the template's prefix: never proxied twice.
    """
    if not any(placeholder in template for placeholder in PLACEHOLDERS):
        raise ValueError(f"image proxy template has none of {', '.join(PLACEHOLDERS)}: {template}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in HTTP_SCHEMES or not parts.netloc:
        return url
    if _is_proxied(url, template):
        return url
    without_scheme = url[len(parts.scheme) + 3 :]  # after "https://"
    return (
        template.replace("{url}", without_scheme.translate(_QUERY_BREAKERS))
        .replace("{full_url}", url)
        .replace("{quoted_url}", quote(url, safe=""))
    )


def rewrite_images(
    html: str,
    policy: str,
    *,
    proxy_template: str,
    local: Mapping[str, str],
    prefix: str,
) -> str:
    """``html`` with its images shown as ``policy`` says; every other byte kept.

    ``keep``: ``html`` itself. ``proxy``: every image URL through ``proxied``.
    ``mirror``: an image found in ``local`` (URL → archive path such as
    ``assets/ab/abcd….jpg``) becomes ``prefix + path`` (``prefix`` leads from
    the file being written to the archive folder, e.g. ``"../"``); an image not
    mirrored (yet) keeps its URL. A ``srcset`` with any remote candidate not
    mirrored is dropped whole, so a browser cannot pick the remote one.
    """
    if policy == "keep":
        return html
    if policy == "proxy":
        return rewrite_attributes(
            html,
            _ImageRewrite(lambda url: proxied(url, proxy_template), keep_srcset=True),
            IMAGE_TAGS,
        )
    if policy == "mirror":

        def local_copy(url: str) -> str:
            path = local.get(url)
            return url if path is None else prefix + path

        return rewrite_attributes(html, _ImageRewrite(local_copy, keep_srcset=False), IMAGE_TAGS)
    raise ValueError(f"unknown image policy {policy!r} (expected one of {', '.join(POLICIES)})")


@dataclass(frozen=True)
class _ImageRewrite:
    """The ``AttributeRewrite`` for image attributes: ``convert`` each image URL.

    ``keep_srcset`` False: a srcset whose remote candidates are not all converted
    is dropped (None), rather than left with a way around the policy.
    """

    convert: Callable[[str], str]
    keep_srcset: bool

    def __call__(self, tag: str, name: str, value: str) -> str | None:
        convert = self.convert
        if (tag, name) in _SINGLE_URL:
            url = value.strip()
            if not _is_remote(url):
                return value
            new = convert(url)
            return value if new == url else new
        if (tag, name) not in _SRCSET:
            return value
        candidates = parse_srcset(value)
        changed = False
        rewritten: list[tuple[str, str]] = []
        for url, descriptor in candidates:
            new = convert(url) if _is_remote(url) else url
            if new == url and _is_remote(url) and not self.keep_srcset:
                return None
            changed = changed or new != url
            rewritten.append((new, descriptor))
        # Reformatting an unchanged srcset would change its bytes for nothing.
        return format_srcset(rewritten) if changed else value


def _is_remote(url: str) -> bool:
    """An http(s) URL, or a scheme-relative one (``//host/x.jpg``): fetched from elsewhere."""
    if url.startswith("//"):
        return True
    scheme, colon, rest = url.partition(":")
    return bool(colon) and scheme.lower() in HTTP_SCHEMES and rest.startswith("//")


def _is_proxied(url: str, template: str) -> bool:
    """``url`` starts with what the template puts before its placeholder (scheme aside)."""
    start = min(template.index(p) for p in PLACEHOLDERS if p in template)
    template_prefix = _without_scheme(template[:start])
    return bool(template_prefix) and _without_scheme(url).startswith(template_prefix)


def _without_scheme(url: str) -> str:
    scheme, colon, rest = url.partition("://")
    return rest if colon and scheme.lower() in HTTP_SCHEMES else url


# -- sniffing: what the bytes are, whatever the server says --------------------------


@dataclass(frozen=True)
class ImageType:
    name: str  # "jpeg"
    mime: str  # "image/jpeg"
    extension: str  # "jpg"


JPEG = ImageType("jpeg", "image/jpeg", "jpg")
PNG = ImageType("png", "image/png", "png")
GIF = ImageType("gif", "image/gif", "gif")
WEBP = ImageType("webp", "image/webp", "webp")
AVIF = ImageType("avif", "image/avif", "avif")
# The ftyp brands that mark an AVIF file (AV1 Image File Format, on HEIF, ISO/IEC 23008-12).
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def sniff_image(data: bytes) -> ImageType | None:
    """The raster format ``data`` starts with (magic numbers), or None."""
    if data.startswith(b"\xff\xd8\xff"):  # JPEG: SOI, then another marker (ITU T.81 Annex B)
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):  # PNG signature (RFC 2083 §3.1)
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":  # WebP's RIFF header (RFC 9649)
        return WEBP
    if data[4:8] == b"ftyp" and _AVIF_BRANDS & set(_ftyp_brands(data)):
        return AVIF
    return None


def _ftyp_brands(data: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO BMFF ``ftyp`` box (ISO/IEC 14496-12 §4.3)."""
    size = int.from_bytes(data[:4], "big")
    end = min(size, len(data)) if size >= 16 else 16
    return [data[8:12]] + [data[i : i + 4] for i in range(16, end - 3, 4)]


def _describe(data: bytes) -> str:
    """What a body that is not an image looks like, for the error message."""
    if not data:
        return "empty body"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head.startswith(b"<"):
        return "unrecognised bytes"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "HTML"
    if b"<svg" in head:
        return "SVG"
    if any(tag in head for tag in (b"<html", b"<body", b"<div", b"<p>", b"<script")):
        return "HTML"
    return "XML"


# -- limits and results ---------------------------------------------------------------


@dataclass(frozen=True)
class ImageLimits:
    """What ``mirror_image`` accepts.

    ``types``: raster formats every browser shows. Not SVG (it can carry
    script, see the module docstring); not BMP, TIFF or ICO: news sites do not
    use them, BMP is uncompressed and its two-byte signature ("BM") says little.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    types: frozenset[str] = frozenset({"jpeg", "png", "gif", "webp", "avif"})


@dataclass(frozen=True)
class Mirrored:
    """The outcome of mirroring one image.

    ``path`` (archive-relative, forward slashes) is set on success; otherwise
    ``error`` says why, and ``permanent`` whether trying again later is useless
    (an HTML page, an SVG, a 404, a private address) or may succeed (a timeout,
    a 5xx, a connection reset).
    """

    url: str
    path: str | None
    content_type: str | None = None  # the sniffed type's MIME type
    size: int = 0
    sha256: str | None = None
    error: str | None = None
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.path is not None


# -- the private-address guard --------------------------------------------------------

# Every refusal of the guard starts so, which tells it from other fetch errors.
REFUSED = "refused: "
# AWS, GCP, Azure and others answer instance credentials here (link-local anyway;
# named in the message because it is what an attacker would aim at).
CLOUD_METADATA = ipaddress.ip_address("169.254.169.254")
# RFC 6052 §2.1: IPv6 addresses that a NAT64 gateway turns into the IPv4 inside.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AddressGuard:
    """Refuses addresses that are not on the public internet, except on trusted hosts.

    Used as ``Fetcher.fetch(allow_address=...)``: the Fetcher asks it about an
    IP-literal host before every hop (the first URL and each redirect), and about
    every address a host name resolves to inside its DNS resolver, so what is
    checked is what is connected to. Frozen and hashable: equal guards share one
    connection pool in the Fetcher.

    ``trusted`` are host names (or literals) the operator chose, e.g. the hosts
    of the configured feeds: an intranet feed's images are on the intranet.
    """

    trusted: frozenset[str] = frozenset()

    @classmethod
    def trusting(cls, hosts: Iterable[str]) -> AddressGuard:
        return cls(frozenset(h for h in (_host_key(host) for host in hosts) if h))

    def __call__(self, host: str, address: str) -> str | None:
        if _host_key(host) in self.trusted:
            return None
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{REFUSED}{host}: unreadable address {address}"
        kind = non_public_kind(ip)
        if kind is None:
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        if _host_key(host) == _host_key(address):
            return f"{REFUSED}{address} is {article} {kind} address"
        return f"{REFUSED}{host} resolves to {article} {kind} address ({address})"


def non_public_kind(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is ("private", "loopback", …), or None."""
    for embedded in _embedded_ipv4(ip):
        kind = non_public_kind(embedded)
        if kind is not None:
            return kind
    if ip == CLOUD_METADATA:
        return "link-local (cloud metadata)"
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        # Left: what is neither of those yet not globally routed, e.g. the
        # carrier-grade NAT range 100.64.0.0/10 (RFC 6598).
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address reaches: mapped, 6to4, Teredo, NAT64."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def _host_key(host: str) -> str:
    """A host as compared with the trusted ones: lower case, no brackets, no final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


# -- acting: download one image into the archive --------------------------------------


async def mirror_image(
    fetcher: Fetcher,
    url: str,
    assets_root: Path,
    *,
    limits: ImageLimits = ImageLimits(),  # frozen: a shared default is safe
    trusted_hosts: Collection[str] = (),
) -> Mirrored:
    """Download ``url`` into ``assets_root/assets/``; never raises for a bad image or URL.

    The file is ``assets/{sha256[:2]}/{sha256}.{ext}``, ``ext`` from the sniffed
    type; an image already there (the same bytes, from any URL) is not written
    again. The body is refused as it streams past ``limits.max_bytes``; the URL
    and every redirect are refused before connecting when they lead to a
    non-public address on a host not in ``trusted_hosts``.
    """
    guard = AddressGuard.trusting(trusted_hosts)
    try:
        result = await fetcher.fetch(url, max_bytes=limits.max_bytes, allow_address=guard)
    except FetchError as error:
        log.debug("image %s: %s", url, error.reason)
        return Mirrored(url, None, error=error.reason, permanent=_is_permanent(error))
    body = result.body
    kind = sniff_image(body)
    if kind is None:
        what = _describe(body)
        if what == "SVG":
            reason = "SVG refused: it can carry script, which would run on the archive's site"
        else:
            served_as = f" (served as {result.content_type})" if result.content_type else ""
            reason = f"not an image: {what}{served_as}"
        return Mirrored(url, None, size=len(body), error=reason, permanent=True)
    if kind.name not in limits.types:
        reason = f"image type {kind.name} not accepted"
        return Mirrored(url, None, kind.mime, len(body), error=reason, permanent=True)
    digest = hashlib.sha256(body).hexdigest()
    path = f"{ASSETS_DIR}/{digest[:2]}/{digest}.{kind.extension}"
    try:
        await asyncio.to_thread(_store, Path(assets_root) / path, body)
    except OSError as error:
        # A full disk or a permission problem: fix it and the next run succeeds.
        reason = f"cannot write {path}: {error.strerror or error}"
        return Mirrored(url, None, kind.mime, len(body), digest, error=reason)
    return Mirrored(url, path, kind.mime, len(body), digest)


def _store(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically, unless it is there already.

    The name is the content's hash, so a file of the right size is the same
    content (a half-written file cannot exist: temp file, then os.replace).
    """
    with contextlib.suppress(FileNotFoundError):
        if target.stat().st_size == len(data):
            return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        # 0o644 (less the umask), not mkstemp's 0o600: the archive is published.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _is_permanent(error: FetchError) -> bool:
    """Whether trying ``error``'s URL again on a later run is useless.

    Transient: no answer (timeouts, resets, an unknown host, TLS trouble), 5xx,
    408, 429 -- the Fetcher has already retried those within the run. Permanent:
    every other 4xx (404, 410, 403 hotlink protection), 501 / 505, an answer
    too large or undecodable, redirect loops, bad URLs and the guard's refusals.
    """
    status = error.status
    if status is None:
        return error.reason.startswith(REFUSED) or error.reason in (
            "not an http(s) URL",
            "not a valid URL",
        )
    if status in (408, 429):
        return False
    return status < 500 or status in (501, 505)
