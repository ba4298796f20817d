"""The one interface every publishing adapter speaks, its errors, and shared HTTP plumbing.

A job publishes one clip to one platform in three steps, each resumable from the saved
session dict (JSON-able: strings, ints and bools only, so it fits a DynamoDB item):

    session = adapter.start(token, post)            # save it before sending any bytes
    session = adapter.upload(token, post, session, on_progress)
    status = adapter.check(token, session)          # poll; the caller owns the deadline

Errors are `PublishError`s classified by what the caller should do (`kind`):
`retry` (5xx, dropped connection), `reconnect` (the creator must connect again), `content`
(the platform refuses this video or text), `quota` (try again at `retry_at`). A 401 on a
bearer token is the subclass `Unauthorized`, so the job can refresh the token once and retry.
Messages say what happened and what to do; they never contain a token or a URL that holds one
(a requests exception's text names the URL, so it is never copied into a message).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import requests
from requests.exceptions import ChunkedEncodingError

ErrorKind = Literal["retry", "reconnect", "content", "quota"]
State = Literal["processing", "published", "failed"]
Session = dict[str, Any]
Progress = Callable[[int, int], None]  # (bytes the platform holds, total bytes)
Clock = Callable[[], datetime]

PACIFIC = ZoneInfo("America/Los_Angeles")
READ_BLOCK = 64 * 1024
PROVIDER_WORDS_MAX = 300  # the provider's own message, cut to this many characters


def utc_now() -> datetime:
    return datetime.now(UTC)


def no_progress(sent: int, total: int) -> None:
    """The default `on_progress`: nothing to report to."""


@dataclass(frozen=True)
class Post:
    """What to publish on one platform.

    `text` is the platform's main text: YouTube's title, TikTok's caption, Discord's message;
    `description` is YouTube's description (ignored elsewhere). `privacy` is the platform's
    own value (YouTube: private/unlisted/public; TikTok: one of the creator-info options).
    `options` carries platform switches (TikTok: disable_comment, disable_duet,
    disable_stitch). `session` is the upload session saved by an earlier attempt, or None."""

    path: Path
    size: int
    content_type: str
    duration_s: float
    text: str
    description: str = ""
    privacy: str = "private"
    options: Mapping[str, Any] = field(default_factory=dict)
    session: Session | None = None


@dataclass(frozen=True)
class Status:
    """Where a post stands on the platform. `reason` is in words (why it failed, or a note)."""

    state: State
    remote_id: str = ""
    url: str = ""
    reason: str = ""


# A PublishError's provider_code when the upload session (YouTube's resumable URL, TikTok's
# upload link) expired: the runner drops it, opens and saves a new one, then uploads.
SESSION_EXPIRED = "session_expired"


class PublishError(Exception):
    """A platform call failed; `message` is shown to the creator, `provider_code` is the
    platform's own code (e.g. quotaExceeded, 40005), `retry_at` when a quota resets."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        provider_code: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.provider_code = provider_code
        self.retry_at = retry_at


class Unauthorized(PublishError):
    """The platform answered 401: refresh the token once and try again; if it happens again
    with a fresh token, the connection needs the creator (kind `reconnect`)."""

    def __init__(self, platform: str, provider_code: str = "401") -> None:
        super().__init__(
            "reconnect",
            f"{platform} no longer accepts Truss's access. Reconnect {platform} on the "
            "Connections page, then publish again.",
            provider_code,
        )


class Adapter(Protocol):
    """A platform Truss uploads clips to (YouTube, TikTok, Discord)."""

    platform: str

    def start(self, token: str, post: Post) -> Session:
        """Open an upload on the platform; the returned session is saved before `upload`."""
        ...

    def upload(self, token: str, post: Post, session: Session, on_progress: Progress) -> Session:
        """Send the bytes the platform does not hold yet; the session for `check`."""
        ...

    def check(self, token: str, session: Session) -> Status:
        """Where the post stands (one call; polling and its deadline are the caller's)."""
        ...


def next_pacific_midnight(now: datetime) -> datetime:
    """When a YouTube daily quota resets: the next midnight in America/Los_Angeles, in UTC."""
    local = now.astimezone(PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


def provider_words(text: object) -> str:
    """The provider's own message, short, for showing next to ours."""
    words = " ".join(str(text or "").split())
    return words[:PROVIDER_WORDS_MAX]


def json_body(response: requests.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when it has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def dropped(platform: str, what: str) -> PublishError:
    return PublishError(
        "retry",
        f"The connection to {platform} dropped while {what}. Truss will try again.",
        "connection",
    )


def server_error(platform: str, response: requests.Response) -> PublishError:
    return PublishError(
        "retry",
        f"{platform} had a temporary problem (HTTP {response.status_code}). Truss will try again.",
        str(response.status_code),
    )


def send(
    http: requests.Session, platform: str, what: str, method: str, url: str, **kwargs: Any
) -> requests.Response:
    """One HTTP call; a connection failure or timeout is a `retry` PublishError that carries
    neither the URL nor the exception (whose text names the URL, which may hold a token)."""
    try:
        return http.request(method, url, **kwargs)
    except (requests.ConnectionError, requests.Timeout, ChunkedEncodingError):
        pass  # raised below, outside the handler, so the original isn't its __context__
    raise dropped(platform, what)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FileSlice:
    """Bytes [start, start+length) of a file, streamed from disk in 64 KiB blocks.

    requests sends it with a Content-Length (it has a length and is iterable), so a chunk or
    a whole video never sits in memory."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self.path, self.start, self.length = path, start, length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            left = self.length
            while left > 0:
                block = f.read(min(READ_BLOCK, left))
                if not block:
                    raise OSError(f"{self.path.name} is shorter than expected")
                left -= len(block)
                yield block


class MultipartBody:
    """multipart/form-data with JSON fields and one file, streamed (the file from disk)."""

    def __init__(self, fields: Mapping[str, Any], name: str, filename: str, post: Post) -> None:
        self.boundary = f"truss-{secrets.token_hex(16)}"
        self.head = b"".join(self._json_part(k, v) for k, v in fields.items())
        self.head += self._file_header(name, filename, post.content_type)
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.file = FileSlice(post.path, 0, post.size)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _json_part(self, name: str, value: Any) -> bytes:
        head = f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
        head += "Content-Type: application/json\r\n\r\n"
        return head.encode() + json.dumps(value).encode() + b"\r\n"

    def _file_header(self, name: str, filename: str, content_type: str) -> bytes:
        disposition = f'form-data; name="{name}"; filename="{filename}"'
        head = f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
        return (head + f"Content-Type: {content_type}\r\n\r\n").encode()

    def __len__(self) -> int:
        return len(self.head) + len(self.file) + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        yield from self.file
        yield self.tail
