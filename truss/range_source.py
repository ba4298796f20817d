"""Let ffmpeg read one S3 object by byte ranges, so a render fetches only what it decodes.

`serve_object(storage, key)` starts a tiny HTTP server on 127.0.0.1 for the length of a
`with` block. It answers only one unguessable path, only GET/HEAD with byte ranges, and turns
each range ffmpeg asks for into ranged S3 GETs, small first, then growing (boto3 does the
signing, TLS and retries: ffmpeg never sees a credential or a presigned URL, and its input
whitelist needs just `http,tcp`). ffmpeg asks for bounded ranges (`-request_size`, see
truss.media), so what is fetched from S3 is what ffmpeg reads plus at most one request.
`ServedObject.fetched` counts the bytes fetched from S3.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from truss.ffmpeg import MediaError, RemoteSource
from truss.storage import Storage

log = logging.getLogger(__name__)

FIRST_FETCH_BYTES = 256 * 1024  # the first S3 GET of each answer (ffmpeg often stops early)
FETCH_BYTES = 4 * 1024 * 1024  # ...then twice as much each time, up to this
COPY_BYTES = 64 * 1024
GONE = "The source video is no longer in storage, so this clip can't be rendered. Upload it again."
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class ServedObject:
    """The URL ffmpeg reads, the object's size, and how many bytes came from S3 so far."""

    url: str
    size: int
    fetched: int = 0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> RemoteSource:
        """What truss.media reads (ffmpeg's input)."""
        return RemoteSource(self.url)

    def count(self, fetched: int = 0, requests: int = 0) -> None:
        with self._lock:
            self.fetched += fetched
            self.requests += requests


@contextmanager
def serve_object(storage: Storage, key: str) -> Iterator[ServedObject]:
    """Serve `key` on a loopback URL while the block runs; the server stops after it."""
    info = storage.head(key)
    if info is None:
        raise MediaError(GONE)
    token = secrets.token_urlsafe(24)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(storage, key, info.size, token))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    served = ServedObject(f"http://{host!s}:{port}/{token}", info.size)
    server.served = served  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="range-source", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        log.info("read %d of %d bytes of %s in %d requests", served.fetched, info.size, key,
                 served.requests)  # fmt: skip


def _handler(storage: Storage, key: str, size: int, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            if self.path != f"/{token}":
                self._refuse(HTTPStatus.NOT_FOUND)
                return
            span = _span(self.headers.get("Range"), size)
            if span is None:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = span
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if body:
                self._copy(start, end)

        def _copy(self, start: int, end: int) -> None:
            """Stream [start, end] from S3 in bounded GETs; stop when ffmpeg hangs up."""
            served: ServedObject = self.server.served  # type: ignore[attr-defined]
            first, piece = start, FIRST_FETCH_BYTES
            try:
                while first <= end:
                    last = min(end, first + piece - 1)
                    served.count(requests=1)
                    stream = storage.open_range(key, first, last)
                    try:
                        while chunk := stream.read(COPY_BYTES):
                            served.count(fetched=len(chunk))
                            self.wfile.write(chunk)
                    finally:
                        stream.close()
                    first, piece = last + 1, min(2 * piece, FETCH_BYTES)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # ffmpeg seeked elsewhere or is done

        def _refuse(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("range source: " + format, *args)

    return Handler


def _span(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte span a Range header asks for (the whole object without one)."""
    if size == 0:
        return None
    if not header:
        return 0, size - 1
    found = _RANGE.match(header.strip())
    if not found or int(found[1]) >= size:
        return None
    start = int(found[1])
    end = int(found[2]) if found[2] else size - 1
    return (start, min(end, size - 1)) if end >= start else None
