"""YouTube: `videos.insert` by the resumable upload protocol, then the video's processing.

- start: `POST {upload_base}/youtube/v3/videos?uploadType=resumable&part=snippet,status` with
  the JSON metadata and `X-Upload-Content-Length/Type` -> the session URI in `Location`.
- upload: first ask where the session stands (`PUT` with `Content-Range: bytes */total`):
  `308` with `Range: bytes=0-N` -> send from N+1; `308` without `Range` -> nothing arrived,
  send from 0; `200/201` -> already complete; `404/410` -> the session expired: a `retry`
  error with provider_code SESSION_EXPIRED (the runner opens and saves a new one first).
  Then `PUT` chunks with `Content-Range: bytes a-b/total`, each answered by `308` (the next
  offset comes from its `Range`, never from what was sent) until `200/201` with the video.
  A dropped connection is resumed the same way, a few times, before it is a `retry` error.
- check: `GET {api_base}/videos?part=status,processingDetails&id=...`.
- Errors: 401 -> Unauthorized; 403 quotaExceeded/dailyLimitExceeded -> `quota` until the next
  midnight Pacific; uploadLimitExceeded -> `quota` tomorrow; other 403 -> `reconnect`; 400 ->
  `content`; 5xx and rate limits -> `retry`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urljoin

import requests

from truss.publishing.adapters.base import (
    SESSION_EXPIRED,
    Clock,
    FileSlice,
    Post,
    Progress,
    PublishError,
    Session,
    Status,
    Unauthorized,
    bearer,
    json_body,
    next_pacific_midnight,
    provider_words,
    send,
    server_error,
    utc_now,
)
from truss.publishing.adapters.stats import VideoDay, google_words, parse_report, stats_error

PLATFORM = "YouTube"
CHUNK_GRANULE = 256 * 1024  # every chunk but the last must be a multiple of this
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
WATCH_URL = "https://www.youtube.com/watch?v={id}"
RANGE = re.compile(r"bytes=(\d+)-(\d+)")
STATS_METRICS = "views,likes,comments,shares,estimatedMinutesWatched"


@dataclass(frozen=True)
class YouTubeSettings:
    api_base: str = "https://www.googleapis.com/youtube/v3"
    upload_base: str = "https://www.googleapis.com/upload"
    analytics_base: str = "https://youtubeanalytics.googleapis.com"
    chunk_bytes: int = 8 * 1024 * 1024
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    resume_attempts: int = 3  # a dropped connection is resumed this many times per upload()
    resume_pause_s: float = 2.0


class YouTubeAdapter:
    platform = "youtube"

    def __init__(
        self,
        settings: YouTubeSettings,
        http: requests.Session | None = None,
        now: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.chunk_bytes % CHUNK_GRANULE:
            raise ValueError("YouTube chunks must be a multiple of 256 KiB")
        self.settings, self.now, self.sleep = settings, now, sleep
        self.http = http or requests.Session()
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)

    def start(self, token: str, post: Post) -> Session:
        """Open a resumable upload session; {"upload_url", "total"}."""
        metadata = {
            "snippet": {
                "title": post.text,
                "description": post.description,
                "categoryId": str(post.options.get("category_id", "22")),
            },
            "status": {"privacyStatus": post.privacy, "selfDeclaredMadeForKids": False},
        }
        headers = {
            **bearer(token),
            "X-Upload-Content-Length": str(post.size),
            "X-Upload-Content-Type": post.content_type,
        }
        url = f"{self.settings.upload_base.rstrip('/')}/youtube/v3/videos"
        params = {"uploadType": "resumable", "part": "snippet,status"}
        response = send(self.http, PLATFORM, "starting the upload", "POST", url, params=params,
                        json=metadata, headers=headers, timeout=self.timeout)  # fmt: skip
        if response.status_code != 200:
            raise self._error(response)
        location = response.headers.get("Location", "")
        if not location:
            raise PublishError("retry", "YouTube did not open an upload session.", "no-location")
        return {"upload_url": urljoin(response.url, location), "total": post.size}

    def upload(self, token: str, post: Post, session: Session, on_progress: Progress) -> Session:
        """Send what YouTube doesn't hold yet; the session then has "video_id"."""
        session = dict(session)
        resumes = 0
        while "video_id" not in session:
            try:
                offset = self._position(token, post, session)
                if offset is not None:
                    on_progress(offset, post.size)
                    self._send_from(token, post, session, offset, on_progress)
            except PublishError as exc:
                expired = exc.provider_code == SESSION_EXPIRED
                if exc.kind != "retry" or expired or resumes >= self.settings.resume_attempts:
                    raise
                resumes += 1
                self.sleep(self.settings.resume_pause_s * resumes)
        return session

    def check(self, token: str, session: Session) -> Status:
        """The uploaded video's processing and upload status."""
        video_id = str(session.get("video_id", ""))
        url = f"{self.settings.api_base.rstrip('/')}/videos"
        params = {"part": "status,processingDetails", "id": video_id}
        response = send(self.http, PLATFORM, "checking the video", "GET", url, params=params,
                        headers=bearer(token), timeout=self.timeout)  # fmt: skip
        if response.status_code != 200:
            raise self._error(response)
        items = json_body(response).get("items") or []
        if not items:
            return Status("processing", video_id, reason="YouTube doesn't list the video yet.")
        return _video_status(video_id, items[0])

    def _position(self, token: str, post: Post, session: Session) -> int | None:
        """Bytes the session holds (None when the upload is complete; the session then has
        the video id). An expired session is a `retry` error with SESSION_EXPIRED: a new
        one is the runner's to open, after saving it, so a crash can't leave two videos."""
        headers = {**bearer(token), "Content-Range": f"bytes */{post.size}"}
        response = send(self.http, PLATFORM, "resuming the upload", "PUT",
                        session["upload_url"], data=b"", headers=headers,
                        timeout=self.timeout)  # fmt: skip
        if response.status_code in (404, 410):
            raise PublishError("retry", "YouTube's upload session expired.", SESSION_EXPIRED)
        return self._after_put(response, session)

    def fetch_stats(self, token: str, video_id: str, first: date, last: date) -> list[VideoDay]:
        """The video's figures per day, first..last (YouTube Analytics `reports` with
        dimensions=day; days YouTube has no figures for yet are missing)."""
        url = f"{self.settings.analytics_base.rstrip('/')}/v2/reports"
        params = {
            "ids": "channel==MINE",
            "startDate": first.isoformat(),
            "endDate": last.isoformat(),
            "metrics": STATS_METRICS,
            "dimensions": "day",
            "filters": f"video=={video_id}",
        }
        response = send(self.http, PLATFORM, "reading statistics", "GET", url, params=params,
                        headers=bearer(token), timeout=self.timeout)  # fmt: skip
        if response.status_code != 200:
            raise stats_error(PLATFORM, response, *google_words(response))
        return parse_report(json_body(response))

    def _send_from(
        self, token: str, post: Post, session: Session, offset: int, on_progress: Progress
    ) -> None:
        total = post.size
        while offset < total:
            end = min(offset + self.settings.chunk_bytes, total)
            headers = {**bearer(token), "Content-Range": f"bytes {offset}-{end - 1}/{total}"}
            response = send(self.http, PLATFORM, "uploading the video", "PUT",
                            session["upload_url"], data=FileSlice(post.path, offset, end - offset),
                            headers=headers, timeout=self.timeout)  # fmt: skip
            held = self._after_put(response, session)
            if held is None:
                on_progress(total, total)
                return
            if held <= offset:  # kept nothing of the chunk: ask again rather than loop
                raise PublishError("retry", "YouTube kept none of the last part sent.", "308")
            offset = held
            on_progress(offset, total)
        # YouTube holds every byte but hasn't answered with the video: ask again (as a resume).
        raise PublishError("retry", "YouTube has the whole video but did not confirm it yet.")

    def _after_put(self, response: requests.Response, session: Session) -> int | None:
        """A PUT's answer: the next offset (308), or None once the video exists (200/201)."""
        if response.status_code in (200, 201):
            session["video_id"] = str(json_body(response).get("id", ""))
            return None
        if response.status_code == 308:
            held = RANGE.fullmatch(response.headers.get("Range", "").strip())
            return int(held.group(2)) + 1 if held else 0
        raise self._error(response)

    def _error(self, response: requests.Response) -> PublishError:
        """Google's error JSON ({"error": {"code", "message", "errors": [{"reason"}]}}) in words."""
        error = json_body(response).get("error")
        error = error if isinstance(error, dict) else {}
        reasons = [e.get("reason", "") for e in error.get("errors") or [] if isinstance(e, dict)]
        reason = next((r for r in reasons if r), str(response.status_code))
        said = provider_words(error.get("message"))
        status = response.status_code
        if status == 401:
            return Unauthorized(PLATFORM, reason)
        if reason in QUOTA_REASONS:
            return PublishError(
                "quota",
                "YouTube's daily upload quota for this app is used up; it resets at midnight "
                "Pacific time.",
                reason,
                next_pacific_midnight(self.now()),
            )
        if reason == "uploadLimitExceeded":
            return PublishError(
                "quota",
                "This YouTube channel has reached its limit of uploads for now.",
                reason,
                self.now() + timedelta(days=1),
            )
        if status >= 500 or reason in RATE_REASONS:
            return server_error(PLATFORM, response)
        if status == 403:
            return PublishError(
                "reconnect",
                f"YouTube refused the upload ({said or reason}). Reconnect YouTube on the "
                "Connections page and allow uploads.",
                reason,
            )
        return PublishError("content", f"YouTube refused the video: {said or reason}.", reason)


def _video_status(video_id: str, video: dict[str, Any]) -> Status:
    """A videos.list item's processingDetails and status, as one Status."""
    url = WATCH_URL.format(id=video_id)
    status, details = _dict(video.get("status")), _dict(video.get("processingDetails"))
    upload = status.get("uploadStatus", "")
    processing = details.get("processingStatus", "")
    if upload == "rejected":
        why = status.get("rejectionReason", "rejected")
        return Status("failed", video_id, url, f"YouTube rejected the video ({why}).")
    if upload == "failed" or processing in ("failed", "terminated"):
        why = status.get("failureReason") or details.get("processingFailureReason") or processing
        return Status("failed", video_id, url, f"YouTube could not process the video ({why}).")
    if upload == "processed" or processing == "succeeded":
        return Status("published", video_id, url)
    return Status("processing", video_id, url)


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
