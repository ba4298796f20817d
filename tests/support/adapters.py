"""Helpers for the publishing adapters' tests: a clip file of a given size as a Post, and an
HTTP session that remembers what it sent (to see where an upload resumed)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests

from truss.publishing.adapters import Post


def clip_post(tmp_path: Path, size: int, text: str = "Best moment", **fields: Any) -> Post:
    """A file of `size` random bytes posted as a 20-second MP4."""
    path = tmp_path / f"clip-{size}.mp4"
    path.write_bytes(os.urandom(size))
    return Post(path, size, "video/mp4", fields.pop("duration_s", 20.0), text, **fields)


class RecordingSession(requests.Session):
    """requests.Session that notes each request's method and Content-Range."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        headers = kwargs.get("headers") or {}
        self.sent.append((str(method), headers.get("Content-Range", "")))
        return super().request(method, url, *args, **kwargs)

    def ranges(self) -> list[str]:
        """The Content-Range of each PUT that carried bytes (not the `bytes */n` questions)."""
        return [r for m, r in self.sent if m == "PUT" and r and not r.startswith("bytes */")]
