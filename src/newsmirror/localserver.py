"""A small HTTP server on 127.0.0.1, for the demo, the site preview and the tests.

It serves routes held in memory (or files of a folder) with the validators a
real feed host sends: a strong ETag and Last-Modified on every 200, and a 304
to a matching conditional GET (RFC 9110 §13.1.1, §13.1.3). A route may also be
a function, which the tests use to answer with failures on purpose.

It never listens on anything but the loopback address.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

LOOPBACK = "127.0.0.1"
# http.server's default listen backlog of 5 stalls a burst of concurrent
# connections for a second (SYN retransmit); feeds are fetched in parallel.
LISTEN_BACKLOG = 256
# A fixed Last-Modified for in-memory routes, so that answers are reproducible.
DEFAULT_LAST_MODIFIED = "Sat, 21 Nov 2026 00:00:00 GMT"
# How often serve_forever checks for stop(); the stdlib's 0.5 s made every stop
# (every test using the server) wait up to half a second.
SHUTDOWN_POLL_INTERVAL = 0.02
# Types the site needs that the platform's mimetypes table may lack or get wrong:
# browsers compile WebAssembly only when served as application/wasm (Pagefind).
SITE_TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # the path with its query, as sent
    headers: Mapping[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts in tests)
    close_without_answer: bool = False  # drop the connection without a status line


@dataclass
class Route:
    """A static answer: the server adds ETag / Last-Modified and answers 304 itself."""

    body: bytes
    content_type: str = "application/xml; charset=utf-8"
    last_modified: str = DEFAULT_LAST_MODIFIED
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


Handler = Callable[[Request], Response]


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port.

    >>> with LocalServer() as server:
    ...     server.add("/feed.xml", Route(b"<rss/>"))
    ...     url = server.url("/feed.xml")
    """

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.requests: list[Request] = []
        self.root = root
        self._lock = threading.Lock()
        self._httpd = _Server((LOOPBACK, port), _RequestHandler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # -- routes -----------------------------------------------------------
    def add(self, path: str, route: Route | Handler | bytes) -> str:
        """Serve ``route`` at ``path``; returns the route's full URL."""
        if isinstance(route, bytes):
            route = Route(route)
        with self._lock:
            self.routes[path] = route
        return self.url(path)

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def url(self, path: str = "/") -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- life -------------------------------------------------------------
    def start(self) -> LocalServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_INTERVAL},
            name="newsmirror-localserver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    # -- answering ----------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            route = self.routes.get(request.path) or self.routes.get(urlsplit(request.path).path)
        if route is None and self.root is not None:
            route = self._file_route(request.path)
        if route is None:
            return Response(404, b"not found\n", {"Content-Type": "text/plain"})
        if callable(route) and not isinstance(route, Route):
            return route(request)
        return _static_answer(route, request)

    def _file_route(self, raw_path: str) -> Route | None:
        assert self.root is not None
        path = unquote(urlsplit(raw_path).path)
        root = self.root.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        content_type = (
            SITE_TYPES.get(target.suffix.lower())
            or mimetypes.guess_type(target.name)[0]
            or "application/octet-stream"
        )
        if content_type.startswith("text/") or content_type in (
            "application/json",
            "application/atom+xml",
            "application/feed+json",
            "text/javascript",
        ):
            content_type += "; charset=utf-8"
        mtime = target.stat().st_mtime
        return Route(
            target.read_bytes(),
            content_type=content_type,
            last_modified=email.utils.formatdate(mtime, usegmt=True),
        )


def _static_answer(route: Route, request: Request) -> Response:
    headers = {
        "Content-Type": route.content_type,
        "ETag": route.etag,
        "Last-Modified": route.last_modified,
        **route.extra_headers,
    }
    # RFC 9110 §13.2.2: If-None-Match takes precedence over If-Modified-Since.
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        if route.etag in tags or "*" in tags:
            return Response(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
    elif request.headers.get("If-Modified-Since") == route.last_modified:
        return Response(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
    return Response(200, route.body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    owner: LocalServer


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: headers and body go out in separate writes; with Nagle on, the
    # body's last segment waits for the client's delayed ACK (~40 ms on Linux) on
    # every keep-alive answer: 200 feeds of 50 KB took 2 s instead of 25 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    def _handle(self, send_body: bool) -> None:
        request = Request(self.command, self.path, {k: v for k, v in self.headers.items()})
        response = self.server.owner._answer(request)
        if response.delay:
            threading.Event().wait(response.delay)
        if response.close_without_answer:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 304:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if send_body and response.status != 304:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo and the tests print what matters themselves."""
