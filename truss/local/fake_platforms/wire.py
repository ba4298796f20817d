"""HTTP helpers the fakes share: bearer tokens, client authentication, Content-Range, bodies
streamed to disk, and dropping a connection mid-upload."""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import struct
from pathlib import Path
from typing import Any

from flask import Request, Response, jsonify

COPY = 1024 * 1024
_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")


def bearer(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def client_credentials(request: Request, id_field: str = "client_id") -> tuple[str, str]:
    """client_secret_basic or client_secret_post (TikTok names the id `client_key`)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        with contextlib.suppress(ValueError):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password
    form = request.form
    return form.get(id_field) or form.get("client_id", ""), form.get("client_secret", "")


def content_range(value: str | None) -> tuple[int | None, int | None, int | None] | None:
    """`bytes a-b/total`, `bytes */total` or `bytes a-b/*` → (a, b, total); None if malformed."""
    match = _RANGE.match((value or "").strip())
    if not match:
        return None
    first, last, total = match.groups()
    return (
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        None if total == "*" else int(total),
    )


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def write_body(request: Request, path: Path, offset: int, limit: int | None = None) -> int:
    """Stream the request body into `path` at `offset` (at most `limit` bytes); bytes written."""
    stream = request.stream
    written = 0
    path.touch(exist_ok=True)
    with path.open("r+b") as out:
        out.seek(offset)
        while limit is None or written < limit:
            piece = stream.read(COPY if limit is None else min(COPY, limit - written))
            if not piece:
                break
            out.write(piece)
            written += len(piece)
    return written


def drain(request: Request) -> int:
    """Read and discard the body (so a keep-alive connection stays in step); its length."""
    total = 0
    while piece := request.stream.read(COPY):
        total += len(piece)
    return total


def read_partly(request: Request, count: int) -> None:
    remaining = count
    while remaining > 0:
        piece = request.stream.read(min(COPY, remaining))
        if not piece:
            break
        remaining -= len(piece)


def drop_connection(request: Request) -> Response:
    """Cut the TCP connection now, as a network failure would: the client gets no response."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug's write of this response fails with a broken pipe, which it treats as a drop
    return Response(b"", status=500)


def drop_point(state_fraction: float | None, first: int, length: int, total: int) -> int | None:
    """How many bytes of this chunk to accept before dropping, if the armed drop falls in it."""
    if state_fraction is None:
        return None
    cut = int(total * state_fraction)
    if first <= cut < first + length:
        return cut - first
    return None
