"""Let ffmpeg read one S3 object by byte ranges, so a render fetches only what it decodes.

`serve_object(storage, key)` starts a tiny HTTP server on 127.0.0.1 for the length of a
`with` block. It answers only connections from processes of our own user (the owner of the
peer's socket, read from /proc/net/tcp: ffmpeg's command line, URL and token included, is
readable by every local user), only one unguessable path, only GET/HEAD with byte ranges,
and turns each range ffmpeg asks for into ranged S3 GETs, small first, then growing (boto3
does the signing, TLS and retries: ffmpeg never sees a credential or a presigned URL, and
its input whitelist needs just `http,tcp`). ffmpeg asks for bounded ranges (`-request_size`,
see truss.ffmpeg), so what is fetched from S3 is what ffmpeg reads plus at most one request.
`ServedObject.fetched` counts the bytes fetched from S3.

S3 errors: an answer's first S3 GET is made before its headers go out, so a failure is a
plain 404 (the object is gone) or 503 (anything else) and never a 206 cut short; a failure
after that (a later GET of a long answer) closes the connection. Either way the block ends
with `MediaError(GONE)` (final: the clip says the source is no longer in storage) or
`SourceUnavailable` (not an AnalysisError: the render job fails and RQ runs it again), never
with ffmpeg's own words. The error goes to the log as one warning line.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from truss.ffmpeg import MediaError, RemoteSource
from truss.storage import Storage

log = logging.getLogger(__name__)

FIRST_FETCH_BYTES = 256 * 1024  # the first S3 GET of each answer (ffmpeg often stops early)
FETCH_BYTES = 4 * 1024 * 1024  # ...then twice as much each time, up to this
COPY_BYTES = 64 * 1024
GONE = "The source video is no longer in storage, so this clip can't be rendered. Upload it again."
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_GONE_CODES = {"NoSuchKey", "404", "NotFound"}
PROC_NET_TCP = "/proc/net/tcp"  # IPv4 sockets of this network namespace, with their owner
_NO_PROC = -1


class SourceUnavailable(Exception):
    """Storage failed while ffmpeg read the source (S3 unreachable, throttling, a 5xx): not
    the video's fault, so not an AnalysisError; the render job raises it and RQ retries."""


class _StorageFailed(Exception):
    def __init__(self, gone: bool) -> None:
        super().__init__("gone" if gone else "unavailable")
        self.gone = gone


@dataclass
class ServedObject:
    """The URL ffmpeg reads, the object's size, and how many bytes came from S3 so far."""

    url: str
    size: int
    fetched: int = 0
    requests: int = 0
    gone: bool = False  # S3 said the object no longer exists
    unavailable: bool = False  # S3 failed otherwise
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> RemoteSource:
        """What truss.media reads (ffmpeg's input)."""
        return RemoteSource(self.url)

    def count(self, fetched: int = 0, requests: int = 0) -> None:
        with self._lock:
            self.fetched += fetched
            self.requests += requests

    def failed(self, gone: bool) -> None:
        with self._lock:
            self.gone = self.gone or gone
            self.unavailable = self.unavailable or not gone

    def storage_error(self) -> Exception | None:
        """What the block raises because S3 failed while it ran (None: S3 never failed)."""
        if self.gone:
            return MediaError(GONE)
        if self.unavailable:
            return SourceUnavailable("S3 failed while the source was read; retry later")
        return None


@contextmanager
def serve_object(storage: Storage, key: str) -> Iterator[ServedObject]:
    """Serve `key` on a loopback URL while the block runs; the server stops after it."""
    info = storage.head(key)
    if info is None:
        raise MediaError(GONE)
    token = secrets.token_urlsafe(24)
    server = _Server(("127.0.0.1", 0), _handler(storage, key, info.size, token))
    host, port = server.server_address[:2]
    served = ServedObject(f"http://{host!s}:{port}/{token}", info.size)
    server.served = served  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="range-source", daemon=True)
    thread.start()
    try:
        yield served
    except MediaError as exc:  # ffmpeg failed: because S3 did?
        error = served.storage_error()
        if error is None:
            raise
        raise error from exc
    else:  # ffmpeg may have taken a cut-short answer for the end of the file
        if (error := served.storage_error()) is not None:
            raise error
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        log.info("read %d of %d bytes of %s in %d requests", served.fetched, info.size, key,
                 served.requests)  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Only our own processes may connect: the token is in ffmpeg's command line, which
        every local user can read (/proc/<pid>/cmdline), so it alone is not enough."""
        if _peer_uid(self.server_address[1], client_address[1]) in {os.geteuid(), _NO_PROC}:
            return True
        log.warning("range source: refused a connection from another user (port %s)",
                    client_address[1])  # fmt: skip
        return False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """An unexpected error answering ffmpeg: to the log, not printed on stderr."""
        log.exception("range source: answering %s failed", client_address)


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
            if not body:
                self._partial_headers(*span)
                return
            chunks = self._chunks(*span)
            try:
                first = next(chunks)  # S3 answered before we promise a 206
            except _StorageFailed as failed:
                self._refuse(
                    HTTPStatus.NOT_FOUND if failed.gone else HTTPStatus.SERVICE_UNAVAILABLE
                )
                return
            self._partial_headers(*span)
            try:
                self.wfile.write(first)
                for chunk in chunks:
                    self.wfile.write(chunk)
            except _StorageFailed:
                self.close_connection = True  # cut short: ffmpeg's read fails, the block raises
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # ffmpeg seeked elsewhere or is done
            finally:
                chunks.close()

        def _partial_headers(self, start: int, end: int) -> None:
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()

        def _chunks(self, start: int, end: int) -> Generator[bytes, None, None]:
            """[start, end] from S3 in bounded GETs, small first; _StorageFailed if S3 fails."""
            served: ServedObject = self.server.served  # type: ignore[attr-defined]
            first, piece = start, FIRST_FETCH_BYTES
            while first <= end:
                last = min(end, first + piece - 1)
                served.count(requests=1)
                try:
                    stream = storage.open_range(key, first, last)
                    try:
                        while chunk := stream.read(COPY_BYTES):
                            served.count(fetched=len(chunk))
                            yield chunk
                    finally:
                        stream.close()
                except (BotoCoreError, ClientError) as exc:
                    gone = _is_gone(exc)
                    served.failed(gone)
                    log.warning("range source: S3 GET of %s bytes %d-%d failed: %s", key, first,
                                last, exc)  # fmt: skip
                    raise _StorageFailed(gone) from exc
                first, piece = last + 1, min(2 * piece, FETCH_BYTES)

        def _refuse(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("range source: " + format, *args)

    return Handler


def _peer_uid(server_port: int, peer_port: int) -> int | None:
    """The uid owning the client end of a loopback connection to us: the row of
    /proc/net/tcp whose local port is the peer's and remote port ours. None: not found (it
    closed); _NO_PROC: no /proc/net/tcp to look in (not Linux), the token alone guards."""
    try:
        with open(PROC_NET_TCP, encoding="ascii") as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        return _NO_PROC
    for row in rows:
        cols = row.split()  # sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
        if len(cols) > 7 and _port(cols[1]) == peer_port and _port(cols[2]) == server_port:
            return int(cols[7])
    return None


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def _is_gone(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _GONE_CODES


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
