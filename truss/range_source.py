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

Within one block the bytes fetched are kept in memory (`ServedObject.cache`), so a render
that reads the clip's window several times (the face analysis for the layout, the offline
transcription, the render itself, each ffmpeg run reading the header again) fetches it from
S3 once: a range fully cached is answered from memory, one partly cached fetches only its
missing parts. The cache holds at most CACHE_BYTES (64 MiB; `serve_object(cache_bytes=...)`)
in pieces of at most COPY_BYTES, the least recently read dropped first; a window larger
than that gains nothing from it (each pass fetches it again, as without the cache). It goes
when the block ends.

S3 errors: an answer's first S3 GET (when any of it is not cached) is made before its
headers go out, so a failure is a plain 404 (the object is gone) or 503 (anything else) and
never a 206 cut short; a failure after that (a later GET of a long answer) closes the
connection. Either way the block ends
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
from bisect import bisect_right, insort
from collections import OrderedDict
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
COPY_BYTES = 64 * 1024  # ...read and cached in pieces of at most this
CACHE_BYTES = 64 * 1024 * 1024  # bytes fetched kept for the block's later reads, at most
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


class SpanCache:
    """Bytes of one object already fetched, as pieces keyed by their first byte, holding at
    most `limit` bytes (the least recently read piece goes first). Pieces never overlap.
    Thread-safe: the server answers each connection in its own thread."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._pieces: OrderedDict[int, bytes] = OrderedDict()  # least recently read first
        self._starts: list[int] = []  # the same keys, sorted
        self._lock = threading.Lock()

    def read(self, pos: int, last: int) -> bytes:
        """Cached bytes from `pos` on, up to `last` at most and to the end of one piece; b""
        when byte `pos` is not cached."""
        with self._lock:
            start = self._piece_at(pos)
            if start is None:
                return b""
            self._pieces.move_to_end(start)
            return self._pieces[start][pos - start : last - start + 1]

    def first_gap(self, first: int, last: int) -> tuple[int, int] | None:
        """The first span of [first, last] not cached (None: all of it is)."""
        with self._lock:
            pos = first
            while pos <= last:
                start = self._piece_at(pos)
                if start is None:
                    return pos, self._gap_end(pos, last)
                pos = start + len(self._pieces[start])
            return None

    def put(self, pos: int, data: bytes) -> None:
        """Keep `data` (bytes pos...); not if it overlaps a piece (another connection fetched
        it meanwhile) or is larger than the whole cache."""
        with self._lock:
            if not data or len(data) > self.limit or self._overlaps(pos, len(data)):
                return
            insort(self._starts, pos)
            self._pieces[pos] = data
            self.held += len(data)
            while self.held > self.limit:
                start, old = self._pieces.popitem(last=False)
                del self._starts[bisect_right(self._starts, start) - 1]
                self.held -= len(old)

    def _piece_at(self, pos: int) -> int | None:
        index = bisect_right(self._starts, pos) - 1
        if index < 0:
            return None
        start = self._starts[index]
        return start if pos < start + len(self._pieces[start]) else None

    def _gap_end(self, pos: int, last: int) -> int:
        """The last byte of the uncached span starting at `pos`, `last` at most."""
        index = bisect_right(self._starts, pos)
        after = self._starts[index] if index < len(self._starts) else last + 1
        return min(after - 1, last)

    def _overlaps(self, pos: int, length: int) -> bool:
        index = bisect_right(self._starts, pos)
        before = self._starts[index - 1] if index else None
        after = self._starts[index] if index < len(self._starts) else None
        return (before is not None and before + len(self._pieces[before]) > pos) or (
            after is not None and after < pos + length
        )


@dataclass
class ServedObject:
    """The URL ffmpeg reads, the object's size, and how many bytes came from S3 so far."""

    url: str
    size: int
    fetched: int = 0
    requests: int = 0
    from_cache: int = 0  # bytes answered from `cache`, not fetched again
    cache: SpanCache = field(default_factory=lambda: SpanCache(CACHE_BYTES), repr=False)
    gone: bool = False  # S3 said the object no longer exists
    unavailable: bool = False  # S3 failed otherwise
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def source(self) -> RemoteSource:
        """What truss.media reads (ffmpeg's input)."""
        return RemoteSource(self.url)

    def count(self, fetched: int = 0, requests: int = 0, from_cache: int = 0) -> None:
        with self._lock:
            self.fetched += fetched
            self.requests += requests
            self.from_cache += from_cache

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
def serve_object(
    storage: Storage, key: str, cache_bytes: int = CACHE_BYTES
) -> Iterator[ServedObject]:
    """Serve `key` on a loopback URL while the block runs; the server stops after it. What
    it fetches is kept for the block's later reads, `cache_bytes` at most."""
    info = storage.head(key)
    if info is None:
        raise MediaError(GONE)
    token = secrets.token_urlsafe(24)
    server = _Server(("127.0.0.1", 0), _handler(storage, key, info.size, token))
    host, port = server.server_address[:2]
    url = f"http://{host!s}:{port}/{token}"
    served = ServedObject(url, info.size, cache=SpanCache(cache_bytes))
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
        log.info("read %d of %d bytes of %s in %d requests (and %d again from memory)",
                 served.fetched, info.size, key, served.requests, served.from_cache)  # fmt: skip


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
            """[start, end], from the cache where it has it, from S3 in bounded GETs (small
            first) where not; _StorageFailed if S3 fails. The first S3 GET, if any is
            needed, is made before the first chunk is yielded (before the headers go out)."""
            served: ServedObject = self.server.served  # type: ignore[attr-defined]
            fetches = _Fetches(storage, key, served)
            gap = served.cache.first_gap(start, end)
            early = fetches.open(*gap) if gap else None  # S3 answered before we promise a 206
            pos = start
            try:
                while pos <= end:
                    if early is not None and pos == early.first:
                        fetching, early = early, None
                        yield from fetches.stream(fetching)
                        pos = fetching.last + 1
                    elif cached := served.cache.read(pos, early.first - 1 if early else end):
                        served.count(from_cache=len(cached))
                        yield cached
                        pos += len(cached)
                    else:  # not cached (or dropped since): fetch up to the next cached byte
                        stop = early.first - 1 if early else end
                        gap = served.cache.first_gap(pos, stop) or (pos, stop)
                        fetching = fetches.open(pos, gap[1])
                        yield from fetches.stream(fetching)
                        pos = fetching.last + 1
            finally:
                if early is not None:
                    early.stream.close()

        def _refuse(self, status: HTTPStatus) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("range source: " + format, *args)

    return Handler


@dataclass
class _Fetch:
    first: int
    last: int
    stream: Any


class _Fetches:
    """One answer's S3 GETs: the first FIRST_FETCH_BYTES at most, each next one twice as
    large up to FETCH_BYTES; what they bring is counted and cached."""

    def __init__(self, storage: Storage, key: str, served: ServedObject) -> None:
        self.storage, self.key, self.served = storage, key, served
        self.piece = FIRST_FETCH_BYTES

    def open(self, first: int, last: int) -> _Fetch:
        """A GET of [first, last] or its first part; _StorageFailed if S3 refuses it."""
        last = min(last, first + self.piece - 1)
        self.piece = min(2 * self.piece, FETCH_BYTES)
        self.served.count(requests=1)
        try:
            return _Fetch(first, last, self.storage.open_range(self.key, first, last))
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, first, last) from exc

    def stream(self, fetch: _Fetch) -> Generator[bytes, None, None]:
        """The GET's bytes, each chunk cached; _StorageFailed if S3 fails meanwhile."""
        pos = fetch.first
        try:
            while chunk := fetch.stream.read(COPY_BYTES):
                self.served.count(fetched=len(chunk))
                self.served.cache.put(pos, chunk)
                pos += len(chunk)
                yield chunk
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, fetch.first, fetch.last) from exc
        finally:
            fetch.stream.close()
        if pos <= fetch.last:  # S3 ended the body early
            raise self._failed(None, fetch.first, fetch.last)

    def _failed(self, exc: Exception | None, first: int, last: int) -> _StorageFailed:
        gone = exc is not None and _is_gone(exc)
        self.served.failed(gone)
        log.warning("range source: S3 GET of %s bytes %d-%d failed: %s", self.key, first, last,
                    exc or "the answer was cut short")  # fmt: skip
        return _StorageFailed(gone)


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
