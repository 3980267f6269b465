"""Images: the pure policy functions, and mirroring against a real server on 127.0.0.1.

Every test that downloads runs on an event loop that records each address a
socket connects to and refuses any but the test server's: a test can never
reach a private or public address by mistake, and the private-address tests
prove that the refusal came before any connection.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import struct
import threading
import tracemalloc
import zlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from newsmirror.fetch import Fetcher
from newsmirror.images import (
    AVIF,
    GIF,
    JPEG,
    PNG,
    WEBP,
    AddressGuard,
    ImageLimits,
    Mirrored,
    image_urls,
    mirror_image,
    proxied,
    rewrite_images,
    sniff_image,
)
from newsmirror.localserver import LocalServer, Request, Response, Route
from newsmirror.models import FetchSettings

from .conftest import SEEDS, need_shared

WESERV = "https://images.weserv.nl?url={url}"
FAST = FetchSettings(timeout=2.0, connect_timeout=1.0, retries=1, backoff=0.01, max_backoff=1.0)
MiB = 1024 * 1024
T = TypeVar("T")


# -- tiny valid images, written by hand (each decodes to one pixel) -----------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_1X1 = (  # 8-bit grey, one pixel of 0x80 (PNG spec §11.2)
    b"\x89PNG\r\n\x1a\n"
    + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + png_chunk(b"IDAT", zlib.compress(b"\x00\x80"))
    + png_chunk(b"IEND", b"")
)
GIF_1X1 = (  # the classic transparent pixel
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")  # VP8L


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


# Baseline JPEG (ITU T.81), 1×1 grey: one Huffman code ("0") per table, for DC
# difference 0 and for end-of-block; the scan is those two bits, padded with 1s.
ONE_CODE = bytes([1] + [0] * 15) + b"\x00"
JPEG_1X1 = (
    b"\xff\xd8"
    + jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
    + jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
    + jpeg_segment(0xC4, b"\x00" + ONE_CODE)
    + jpeg_segment(0xC4, b"\x10" + ONE_CODE)
    + jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    + b"\x3f\xff\xd9"
)
# Only the ftyp box of an AVIF file: what sniffing reads.
AVIF_HEAD = struct.pack(">I", 28) + b"ftypavif" + b"\x00" * 4 + b"avifmif1miaf" + b"\x00" * 8

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Login</title></head><body>nope</body></html>"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1">'
    b"<script>alert(document.domain)</script></svg>"
)


# -- image_urls ----------------------------------------------------------------------


def test_image_urls_finds_src_srcset_and_poster_once_in_order() -> None:
    html = (
        '<p><img src="https://a.example/1.jpg" alt="one"></p>'
        '<picture><source srcset="https://a.example/2.webp 1x, https://a.example/3.webp 2x">'
        '<img src="https://a.example/1.jpg" srcset="https://a.example/4.jpg 800w,'
        'https://a.example/5.jpg 1600w"></picture>'
        "<video poster=http://v.example/poster.png><source src=https://v.example/v.mp4></video>"
        '<img src=" https://a.example/6.jpg?w=1&amp;h=2 ">'
    )
    assert image_urls(html) == [
        "https://a.example/1.jpg",
        "https://a.example/2.webp",
        "https://a.example/3.webp",
        "https://a.example/4.jpg",
        "https://a.example/5.jpg",
        "http://v.example/poster.png",
        "https://a.example/6.jpg?w=1&h=2",  # entities decoded, white space trimmed
    ]


def test_image_urls_only_absolute_http() -> None:
    html = (
        '<img src="data:image/png;base64,iVBORw0KGgo="><img src="/relative.jpg">'
        '<img src="//cdn.example/protocol-relative.jpg"><img src="javascript:alert(1)">'
        '<img src="ftp://a.example/x.jpg"><a href="https://a.example/not-an-image.jpg">x</a>'
        '<img alt="no source"><img src="HTTPS://A.example/upper.jpg">'
    )
    assert image_urls(html) == ["HTTPS://A.example/upper.jpg"]
    assert image_urls("no markup at all") == []


def test_image_urls_sees_image_elements() -> None:
    # HTML parsers make <image> an <img>; inside SVG it loads its href.
    html = '<image src="https://a.example/1.png"><svg><image href="https://a.example/2.png"/></svg>'
    assert image_urls(html) == ["https://a.example/1.png", "https://a.example/2.png"]


# -- proxied --------------------------------------------------------------------------


def test_proxied_as_the_seeds_show() -> None:
    assert (
        proxied("https://gdb.voanews.com/DB98.jpg", WESERV)
        == "https://images.weserv.nl?url=gdb.voanews.com/DB98.jpg"
    )
    assert proxied("http://gdb.voanews.com/x.jpg?a=1", WESERV) == (
        "https://images.weserv.nl?url=gdb.voanews.com/x.jpg?a=1"
    )


def test_proxied_placeholders() -> None:
    url = "https://a.example/图.jpg?w=1&h=2"
    assert proxied(url, "https://p.example/{full_url}") == "https://p.example/" + url
    assert proxied(url, "https://p.example/?u={quoted_url}") == (
        "https://p.example/?u=https%3A%2F%2Fa.example%2F%E5%9B%BE.jpg%3Fw%3D1%26h%3D2"
    )
    # In {url}, what would end the proxy's own query value is escaped, nothing else.
    assert proxied(url, WESERV + "&w=900") == (
        "https://images.weserv.nl?url=a.example/图.jpg?w=1%26h=2&w=900"
    )


def test_proxied_never_twice_and_only_http() -> None:
    once = proxied("https://gdb.voanews.com/DB98.jpg", WESERV)
    assert proxied(once, WESERV) == once
    assert proxied(once.replace("https:", "http:"), WESERV) == once.replace("https:", "http:")
    for url in ("data:image/gif;base64,R0lGOD", "/local.jpg", "//cdn.example/x.jpg", ""):
        assert proxied(url, WESERV) == url


def test_proxied_template_needs_a_placeholder() -> None:
    with pytest.raises(ValueError, match="image proxy template"):
        proxied("https://a.example/x.jpg", "https://images.weserv.nl?url=")


# -- rewrite_images -------------------------------------------------------------------

ARTICLE = (
    "<div><i>Wed, 15 Jul 2020</i></div>\n"
    "<img  class='lead'  src='https://a.example/1.jpg'  width=100% >"
    '<!-- <img src="https://a.example/commented.jpg"> -->'
    '<picture><source type="image/webp" srcset="https://a.example/2.webp 1x,https://a.example/3.webp 2x">'
    '<img src="https://a.example/2.jpg" srcset="https://a.example/2.jpg 1x, data:image/gif;base64,R0 2x"></picture>'
    "<p>“引号” &amp; <a href='https://a.example/page'>链接</a></p>"
    '<video poster="https://v.example/p.png" controls></video>'
    '<img src="data:image/png;base64,iVBOR">'
)


def test_keep_returns_the_same_object() -> None:
    assert rewrite_images(ARTICLE, "keep", proxy_template=WESERV, local={}, prefix="") is ARTICLE


def test_proxy_rewrites_every_image_and_nothing_else() -> None:
    out = rewrite_images(ARTICLE, "proxy", proxy_template=WESERV, local={}, prefix="")
    w = "https://images.weserv.nl?url="
    assert out == (
        "<div><i>Wed, 15 Jul 2020</i></div>\n"
        f"<img  class='lead'  src=\"{w}a.example/1.jpg\"  width=100% >"
        '<!-- <img src="https://a.example/commented.jpg"> -->'
        f'<picture><source type="image/webp" srcset="{w}a.example/2.webp 1x, {w}a.example/3.webp 2x">'
        f'<img src="{w}a.example/2.jpg" srcset="{w}a.example/2.jpg 1x, data:image/gif;base64,R0 2x"></picture>'
        "<p>“引号” &amp; <a href='https://a.example/page'>链接</a></p>"
        f'<video poster="{w}v.example/p.png" controls></video>'
        '<img src="data:image/png;base64,iVBOR">'
    )
    # Already proxied: a second pass changes nothing.
    again = rewrite_images(out, "proxy", proxy_template=WESERV, local={}, prefix="")
    assert again == out


def test_proxy_leaves_the_seed_byte_for_byte() -> None:
    seed = need_shared(SEEDS / "004_4f5272d95a507ae4.txt").read_text(encoding="utf-8")
    assert 'src="https://images.weserv.nl?url=gdb.voanews.com/' in seed
    assert rewrite_images(seed, "proxy", proxy_template=WESERV, local={}, prefix="") == seed


def test_mirror_points_at_local_copies_and_keeps_the_rest() -> None:
    local = {
        "https://a.example/1.jpg": "assets/aa/aa11.jpg",
        "https://a.example/2.webp": "assets/bb/bb22.webp",
        "https://a.example/3.webp": "assets/cc/cc33.webp",
        "https://v.example/p.png": "assets/dd/dd44.png",
    }
    out = rewrite_images(ARTICLE, "mirror", proxy_template=WESERV, local=local, prefix="../")
    assert out == (
        "<div><i>Wed, 15 Jul 2020</i></div>\n"
        "<img  class='lead'  src=\"../assets/aa/aa11.jpg\"  width=100% >"
        '<!-- <img src="https://a.example/commented.jpg"> -->'
        # every candidate mirrored: all rewritten
        '<picture><source type="image/webp" srcset="../assets/bb/bb22.webp 1x, ../assets/cc/cc33.webp 2x">'
        # 2.jpg not mirrored (yet): src keeps its URL, the srcset is dropped
        '<img src="https://a.example/2.jpg"></picture>'
        "<p>“引号” &amp; <a href='https://a.example/page'>链接</a></p>"
        '<video poster="../assets/dd/dd44.png" controls></video>'
        '<img src="data:image/png;base64,iVBOR">'
    )
    # Publishing again over its own output changes nothing.
    assert rewrite_images(out, "mirror", proxy_template=WESERV, local=local, prefix="../") == out


def test_mirror_with_nothing_mirrored_drops_only_remote_srcsets() -> None:
    html = (
        '<img src="https://a.example/1.jpg" srcset="https://a.example/1.jpg 1x, https://a.example/2.jpg 2x">'
        '<img src="https://a.example/3.jpg" srcset="data:image/gif;base64,R0 1x">'
        '<img srcset="//cdn.example/4.jpg 2x" src="https://a.example/4.jpg">'
    )
    out = rewrite_images(html, "mirror", proxy_template=WESERV, local={}, prefix="../")
    assert out == (
        '<img src="https://a.example/1.jpg">'
        '<img src="https://a.example/3.jpg" srcset="data:image/gif;base64,R0 1x">'
        '<img src="https://a.example/4.jpg">'
    )


def test_mirror_prefix_follows_the_file_depth() -> None:
    local = {"https://a.example/1.jpg": "assets/aa/aa11.jpg"}
    html = '<img src="https://a.example/1.jpg">'
    for prefix in ("", "../", "../../"):
        out = rewrite_images(html, "mirror", proxy_template=WESERV, local=local, prefix=prefix)
        assert out == f'<img src="{prefix}assets/aa/aa11.jpg">'


def test_html_without_images_is_returned_unchanged() -> None:
    html = (
        "<p>没有图片 <b>bold</b></p>\n<a href='https://a.example/x.jpg'>a link is not an image</a>"
    )
    for policy in ("proxy", "mirror"):
        assert rewrite_images(html, policy, proxy_template=WESERV, local={}, prefix="") == html


def test_unknown_policy() -> None:
    with pytest.raises(ValueError, match="unknown image policy 'inline'"):
        rewrite_images("<img src=x>", "inline", proxy_template=WESERV, local={}, prefix="")


# -- sniffing and the address guard (pure) --------------------------------------------


def test_sniff_image() -> None:
    assert sniff_image(JPEG_1X1) == JPEG
    assert sniff_image(PNG_1X1) == PNG
    assert sniff_image(GIF_1X1) == GIF
    assert sniff_image(WEBP_1X1) == WEBP
    assert sniff_image(AVIF_HEAD) == AVIF
    heic = AVIF_HEAD.replace(b"avif", b"heic")
    for data in (HTML_PAGE, SVG_WITH_SCRIPT, b"", b"BM\x00\x00", heic, b"RIFF\x00\x00\x00\x00WAVE"):
        assert sniff_image(data) is None


@pytest.mark.parametrize(
    "host, address, reason",
    [
        ("10.0.0.1", "10.0.0.1", "refused: 10.0.0.1 is a private address"),
        ("127.0.0.2", "127.0.0.2", "refused: 127.0.0.2 is a loopback address"),
        ("0.0.0.0", "0.0.0.0", "refused: 0.0.0.0 is an unspecified address"),
        (
            "169.254.169.254",
            "169.254.169.254",
            "refused: 169.254.169.254 is a link-local (cloud metadata) address",
        ),
        ("::1", "::1", "refused: ::1 is a loopback address"),
        (  # 169.254.169.254, IPv4-mapped into IPv6
            "::ffff:a9fe:a9fe",
            "::ffff:a9fe:a9fe",
            "refused: ::ffff:a9fe:a9fe is a link-local (cloud metadata) address",
        ),
        (
            "img.example",
            "192.168.1.5",
            "refused: img.example resolves to a private address (192.168.1.5)",
        ),
        (
            "img.example",
            "fe80::1%eth0",
            "refused: img.example resolves to a link-local address (fe80::1%eth0)",
        ),
        (
            "img.example",
            "224.0.0.251",
            "refused: img.example resolves to a multicast address (224.0.0.251)",
        ),
        (
            "img.example",
            "100.64.0.1",
            "refused: img.example resolves to a non-public address (100.64.0.1)",
        ),
        (
            "img.example",
            "64:ff9b::a00:1",
            "refused: img.example resolves to a private address (64:ff9b::a00:1)",
        ),
        ("img.example", "fc00::1", "refused: img.example resolves to a private address (fc00::1)"),
        ("img.example", "93.184.215.14", None),
        ("img.example", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_address_guard(host: str, address: str, reason: str | None) -> None:
    guard = AddressGuard.trusting(["feeds.example", "127.0.0.1"])
    assert guard(host, address) == reason


def test_address_guard_trusts_configured_hosts() -> None:
    guard = AddressGuard.trusting(["http-feeds.example", "FEEDS.example.", "127.0.0.1", ""])
    assert guard.trusted == frozenset({"http-feeds.example", "feeds.example", "127.0.0.1"})
    assert guard("feeds.example", "10.0.0.7") is None
    assert guard("Feeds.Example.", "10.0.0.7") is None
    assert guard("127.0.0.1", "127.0.0.1") is None
    assert guard("other.example", "10.0.0.7") is not None
    # Equal guards are one key: they share the Fetcher's connection pool.
    assert AddressGuard.trusting(["127.0.0.1"]) == AddressGuard.trusting({"127.0.0.1"})
    assert hash(AddressGuard.trusting(["127.0.0.1"])) == hash(AddressGuard.trusting(("127.0.0.1",)))


# -- mirroring against a real server -------------------------------------------------


class LoopbackOnlyLoop(asyncio.SelectorEventLoop):
    """An event loop that records every address a socket connects to and allows
    only ``allowed`` (the test server): a tripwire, never reached by correct code."""

    allowed: ClassVar[set[tuple[str, int]]] = set()
    connected: ClassVar[list[tuple[str, int]]] = []

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        target = (str(address[0]), int(address[1]))
        type(self).connected.append(target)
        if target not in type(self).allowed:
            raise AssertionError(f"a test tried to connect to {target}")
        await super().sock_connect(sock, address)


@pytest.fixture(autouse=True)
def _no_connections() -> None:
    """By default a test may connect nowhere; ``tripwire`` allows the test server."""
    LoopbackOnlyLoop.allowed = set()
    LoopbackOnlyLoop.connected = []


@pytest.fixture
def tripwire(server: LocalServer) -> list[tuple[str, int]]:
    LoopbackOnlyLoop.allowed = {("127.0.0.1", server.port)}
    return LoopbackOnlyLoop.connected


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=LoopbackOnlyLoop) as runner:
        return runner.run(coroutine)


def mirror(
    url: str,
    root: Path,
    *,
    trusted: tuple[str, ...] = ("127.0.0.1",),
    limits: ImageLimits | None = None,
    settings: FetchSettings = FAST,
) -> Mirrored:
    async def main() -> Mirrored:
        async with Fetcher(settings) as fetcher:
            return await mirror_image(
                fetcher, url, root, limits=limits or ImageLimits(), trusted_hosts=trusted
            )

    return run(main())


def stored_files(root: Path) -> list[str]:
    assets = root / "assets"
    if not assets.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in assets.rglob("*") if p.is_file())


GOOD_IMAGES = {"jpg": JPEG_1X1, "png": PNG_1X1, "gif": GIF_1X1, "webp": WEBP_1X1}
MIME = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


@pytest.mark.parametrize("extension", GOOD_IMAGES)
def test_good_images_are_stored_by_content_hash(
    server: LocalServer, tripwire: list[Any], tmp_path: Path, extension: str
) -> None:
    data, mime = GOOD_IMAGES[extension], MIME[extension]
    # The URL says .png and the server says octet-stream: the bytes decide.
    url = server.add("/photo.png", Route(data, content_type="application/octet-stream"))
    result = mirror(url, tmp_path)
    digest = hashlib.sha256(data).hexdigest()
    path = f"assets/{digest[:2]}/{digest}.{extension}"
    assert result == Mirrored(url, path, mime, len(data), digest)
    assert result.ok and result.error is None and not result.permanent
    assert (tmp_path / path).read_bytes() == data
    assert stored_files(tmp_path) == [path]  # no temporary file left behind
    assert set(tripwire) == {("127.0.0.1", server.port)}


def test_the_same_image_at_two_urls_is_one_file(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    first = server.add("/a/lead.jpg", Route(JPEG_1X1, content_type="image/jpeg"))
    second = server.add("/b/copy.jpg?size=large", Route(JPEG_1X1, content_type="image/jpeg"))
    one = mirror(first, tmp_path)
    assert one.path is not None
    written = (tmp_path / one.path).stat().st_mtime_ns
    two = mirror(second, tmp_path)
    assert (one.url, two.url) == (first, second)
    assert one.path == two.path and one.sha256 == two.sha256
    assert stored_files(tmp_path) == [one.path]
    assert (tmp_path / one.path).stat().st_mtime_ns == written  # not written again


def test_an_html_page_is_not_an_image(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    url = server.add("/photo.jpg", Route(HTML_PAGE, content_type="image/jpeg"))
    result = mirror(url, tmp_path)
    assert result.error == "not an image: HTML (served as image/jpeg)"
    assert result.permanent and result.path is None
    assert stored_files(tmp_path) == []


def test_an_svg_is_refused(server: LocalServer, tripwire: list[Any], tmp_path: Path) -> None:
    url = server.add("/logo.svg", Route(SVG_WITH_SCRIPT, content_type="image/svg+xml"))
    result = mirror(url, tmp_path)
    assert result.error is not None and result.error.startswith("SVG refused")
    assert result.permanent and result.path is None
    assert stored_files(tmp_path) == []


def test_a_type_left_out_of_the_limits_is_refused(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    url = server.add("/anim.gif", Route(GIF_1X1, content_type="image/gif"))
    result = mirror(url, tmp_path, limits=ImageLimits(types=frozenset({"jpeg", "png"})))
    assert (result.error, result.permanent) == ("image type gif not accepted", True)
    assert stored_files(tmp_path) == []


def test_an_image_over_the_limit_is_refused_from_its_length(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    big = JPEG_1X1[:-2] + bytes(50 * MiB)  # 50 MiB announced by Content-Length
    url = server.add("/huge.jpg", Route(big, content_type="image/jpeg"))
    result = mirror(url, tmp_path)  # the default limit: 10 MiB
    assert result.error == "body larger than 10 MiB limit"
    assert result.permanent and stored_files(tmp_path) == []


class EndlessImageServer:
    """Streams a JPEG that never ends, chunked (no Content-Length), made as it goes.

    LocalServer always sends a Content-Length; this is the server that does not,
    so the limit must hold while the body streams.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.sent = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> EndlessImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            connection, _ = self._listener.accept()
        except OSError:
            return
        with connection:
            connection.recv(65536)
            head = (
                b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            block = bytes(64 * 1024)
            try:
                connection.sendall(head + b"%x\r\n%s\r\n" % (len(JPEG_1X1), JPEG_1X1))
                while self.sent < 200 * MiB:
                    connection.sendall(b"%x\r\n%s\r\n" % (len(block), block))
                    self.sent += len(block)
            except OSError:
                return  # the client hung up: what the limit should make it do


def test_an_endless_image_is_refused_while_streaming(tmp_path: Path) -> None:
    with EndlessImageServer() as endless:
        LoopbackOnlyLoop.allowed = {("127.0.0.1", endless.port)}
        url = f"http://127.0.0.1:{endless.port}/endless.jpg"
        tracemalloc.start()
        try:
            result = mirror(url, tmp_path, limits=ImageLimits(max_bytes=2 * MiB))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.error == "body larger than 2 MiB limit"
    assert result.permanent and stored_files(tmp_path) == []
    assert peak < 12 * MiB  # the limit and some buffers, never the stream
    assert endless.sent < 50 * MiB  # the client stopped reading long before


def test_404_is_permanent_and_5xx_and_timeouts_are_not(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    gone = mirror(server.url("/gone.jpg"), tmp_path)
    assert (gone.error, gone.permanent) == ("HTTP 404 Not Found", True)
    failing = mirror(server.add("/busy.jpg", lambda r: Response(503)), tmp_path)
    assert failing.error == "HTTP 503 Service Unavailable after 2 attempts"
    assert not failing.permanent
    slow = server.add("/slow.jpg", lambda r: Response(200, JPEG_1X1, delay=0.5))
    timed_out = mirror(slow, tmp_path, settings=FetchSettings(timeout=0.1, retries=0))
    assert (timed_out.error, timed_out.permanent) == ("timed out after 0.1 s", False)
    assert stored_files(tmp_path) == []


def redirect_to(location: str) -> Route | Any:
    def handler(request: Request) -> Response:
        return Response(302, b"", {"Location": location})

    return handler


@pytest.mark.parametrize(
    "location, reason",
    [
        (
            "http://169.254.169.254/latest/meta-data",
            "refused: 169.254.169.254 is a link-local (cloud metadata) address",
        ),
        ("http://10.0.0.1/x", "refused: 10.0.0.1 is a private address"),
        ("http://127.0.0.2:{port}/photo.jpg", "refused: 127.0.0.2 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/x", "refused: ::ffff:a00:1 is a private address"),
        ("http://[::1]:{port}/photo.jpg", "refused: ::1 is a loopback address"),
        # Spellings a resolver reads as 127.0.0.1 are literals too.
        (
            "http://2130706433:{port}/photo.jpg",
            "refused: 2130706433 resolves to a loopback address (127.0.0.1)",
        ),
        (
            "http://0x7f.1:{port}/photo.jpg",
            "refused: 0x7f.1 resolves to a loopback address (127.0.0.1)",
        ),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    server: LocalServer, tripwire: list[Any], tmp_path: Path, location: str, reason: str
) -> None:
    server.add("/photo.jpg", Route(JPEG_1X1, content_type="image/jpeg"))
    url = server.add("/redirect.jpg", redirect_to(location.format(port=server.port)))
    result = mirror(url, tmp_path)  # 127.0.0.1 is trusted, the target is not
    assert (result.error, result.permanent, result.path) == (reason, True, None)
    assert [r.path for r in server.requests] == ["/redirect.jpg"]
    assert set(tripwire) == {("127.0.0.1", server.port)}  # nothing else was dialled


def test_a_host_name_resolving_to_a_private_address_is_refused(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    # "localhost" is a name, not a literal: the check happens in the resolver,
    # on the very addresses the connection would use.
    server.add("/photo.jpg", Route(JPEG_1X1, content_type="image/jpeg"))
    url = server.add("/redirect.jpg", redirect_to(f"http://localhost:{server.port}/photo.jpg"))
    result = mirror(url, tmp_path)
    assert result.error is not None
    assert result.error.startswith("refused: localhost resolves to a loopback address (")
    assert result.permanent
    assert [r.path for r in server.requests] == ["/redirect.jpg"]


def test_an_untrusted_private_image_url_is_refused_and_a_trusted_one_fetched(
    server: LocalServer, tripwire: list[Any], tmp_path: Path
) -> None:
    url = server.add("/photo.jpg", Route(JPEG_1X1, content_type="image/jpeg"))
    refused = mirror(url, tmp_path, trusted=())
    assert (refused.error, refused.permanent) == ("refused: 127.0.0.1 is a loopback address", True)
    assert server.requests == [] and tripwire == []
    by_name = f"http://localhost:{server.port}/photo.jpg"
    assert mirror(by_name, tmp_path, trusted=("localhost",)).ok
    assert mirror(url, tmp_path, trusted=("127.0.0.1",)).ok


def test_not_an_http_url_is_permanent(tmp_path: Path) -> None:
    for url in ("file:///etc/passwd", "data:image/png;base64,iVBOR", "/relative.jpg"):
        result = mirror(url, tmp_path)
        assert (result.error, result.permanent) == ("not an http(s) URL", True)
