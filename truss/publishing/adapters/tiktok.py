"""TikTok: Content Posting API, direct post by FILE_UPLOAD.

- creator_info: `POST /v2/post/publish/creator_info/query/` -> privacy options, longest video,
  comment/duet/stitch switches. `start` asks it first: a privacy the account doesn't offer or a
  video longer than it allows fails as `content` before anything is sent.
- start: `POST /v2/post/publish/video/init/` with `post_info` and `source_info{FILE_UPLOAD,
  video_size, chunk_size, total_chunk_count}` -> `publish_id`, `upload_url`.
- upload: `PUT` the chunks in order with `Content-Range` (206 until the last, then 201). Chunk
  rules (TikTok's media transfer guide): chunks of 5-64 MB, total_chunk_count = size //
  chunk_size with the trailing bytes in the last chunk (up to 128 MB), a file under 5 MB goes
  whole, 1-1000 chunks. A new upload() on a saved session continues from the chunk holding the
  status endpoint's `uploaded_bytes`.
- check: `POST /v2/post/publish/status/fetch/` -> PUBLISH_COMPLETE / FAILED (fail_reason) /
  still processing. Moderation can take hours: the caller gives it a deadline.
- Errors come in `{"data": ..., "error": {"code", "message", "log_id"}}`; `code` decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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
    provider_words,
    send,
    server_error,
    utc_now,
)
from truss.publishing.adapters.stats import Figures, parse_videos, stats_error

PLATFORM = "TikTok"
MB = 1024 * 1024
EXPIRED = SESSION_EXPIRED  # the upload URL lapsed (after an hour): the runner opens a new one
VIDEO_URL = "https://www.tiktok.com/@{user}/video/{id}"
STATS_FIELDS = "id,view_count,like_count,comment_count,share_count"
STATS_IDS_PER_CALL = 20  # video/query takes at most 20 ids
FAIL_REASONS = {
    "file_format_check_failed": "TikTok can't read the video's format",
    "duration_check_failed": "the video is longer or shorter than TikTok allows",
    "frame_rate_check_failed": "TikTok doesn't accept the video's frame rate",
    "picture_size_check_failed": "TikTok doesn't accept the video's picture size",
    "spam_risk_too_many_posts": "the account posted too many times today",
    "spam_risk_user_banned_from_posting": "the account is banned from posting",
    "spam_risk_text": "TikTok's moderation flagged the caption",
    "auth_removed": "the creator removed Truss's access on TikTok",
    "publish_cancelled": "the post was cancelled on TikTok",
}
CONTENT_CODES = {
    "spam_risk_user_banned_from_posting": "the account is banned from posting",
    "unaudited_client_can_only_post_to_private_accounts": (
        "this app isn't audited by TikTok yet, so it can only post privately ('Only me')"
    ),
    "privacy_level_option_mismatch": "the chosen privacy isn't one this account offers",
    "invalid_params": "TikTok refused the post's settings",
}


@dataclass(frozen=True)
class ChunkRules:
    """TikTok's chunk limits (tests shrink them, together with the fake's)."""

    min_bytes: int = 5 * MB
    max_bytes: int = 64 * MB
    last_max_bytes: int = 128 * MB
    max_chunks: int = 1000


@dataclass(frozen=True)
class TikTokSettings:
    api_base: str = "https://open.tiktokapis.com"
    chunk_bytes: int = 10 * MB  # preferred, kept within the rules
    rules: ChunkRules = ChunkRules()
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    resume_attempts: int = 3
    resume_pause_s: float = 2.0


@dataclass(frozen=True)
class CreatorInfo:
    """What the connected TikTok account allows (show these options on the publish form)."""

    username: str
    nickname: str
    avatar_url: str
    privacy_options: tuple[str, ...]
    max_duration_s: int
    comment_disabled: bool
    duet_disabled: bool
    stitch_disabled: bool


def chunk_plan(size: int, preferred: int, rules: ChunkRules = ChunkRules()) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) for a video of `size` bytes under TikTok's rules."""
    if size <= 0:
        raise PublishError("content", "The clip file is empty; render it again.", "empty")
    chunk = max(rules.min_bytes, min(preferred, rules.max_bytes))
    if size < rules.min_bytes or size <= chunk:
        return size, 1
    if size // chunk > rules.max_chunks:
        chunk = -(-size // rules.max_chunks)
    count = size // chunk
    if chunk > rules.max_bytes or size - chunk * (count - 1) > rules.last_max_bytes:
        raise PublishError("content", "The video is too large for TikTok.", "too_large")
    return chunk, count


class TikTokAdapter:
    platform = "tiktok"

    def __init__(
        self,
        settings: TikTokSettings,
        http: requests.Session | None = None,
        now: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings, self.now, self.sleep = settings, now, sleep
        self.http = http or requests.Session()
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)

    def creator_info(self, token: str) -> CreatorInfo:
        data = self._call(token, "/v2/post/publish/creator_info/query/", {}, "reading the account")
        return CreatorInfo(
            username=str(data.get("creator_username", "")),
            nickname=str(data.get("creator_nickname", "")),
            avatar_url=str(data.get("creator_avatar_url", "")),
            privacy_options=tuple(str(p) for p in data.get("privacy_level_options") or []),
            max_duration_s=int(data.get("max_video_post_duration_sec") or 0),
            comment_disabled=bool(data.get("comment_disabled")),
            duet_disabled=bool(data.get("duet_disabled")),
            stitch_disabled=bool(data.get("stitch_disabled")),
        )

    def start(self, token: str, post: Post) -> Session:
        """Check the account allows this post, then init it: {"publish_id", "upload_url", ...}."""
        info = self.creator_info(token)
        _check_allowed(info, post)
        chunk, count = chunk_plan(post.size, self.settings.chunk_bytes, self.settings.rules)
        body = {
            "post_info": {
                "title": post.text,
                "privacy_level": post.privacy,
                "disable_comment": bool(post.options.get("disable_comment", False)),
                "disable_duet": bool(post.options.get("disable_duet", False)),
                "disable_stitch": bool(post.options.get("disable_stitch", False)),
            },
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": post.size,
                "chunk_size": chunk,
                "total_chunk_count": count,
            },
        }
        data = self._call(token, "/v2/post/publish/video/init/", body, "starting the post")
        if not data.get("publish_id") or not data.get("upload_url"):
            raise PublishError("retry", "TikTok did not open an upload.", "no-upload-url")
        return {
            "publish_id": str(data["publish_id"]),
            "upload_url": str(data["upload_url"]),
            "chunk_size": chunk,
            "chunk_count": count,
            "username": info.username,
        }

    def upload(self, token: str, post: Post, session: Session, on_progress: Progress) -> Session:
        """PUT the chunks TikTok doesn't hold yet, in order; the session gets "uploaded"."""
        session = dict(session)
        if session.get("uploaded"):
            return session
        self._continue_from_what_tiktok_holds(token, post, session)
        resumes = 0
        while not session.get("uploaded"):
            try:
                self._send_chunks(post, session, on_progress)
            except PublishError as exc:
                expired = exc.provider_code == EXPIRED  # a new post is the runner's to open
                if exc.kind != "retry" or expired or resumes >= self.settings.resume_attempts:
                    raise
                resumes += 1
                self.sleep(self.settings.resume_pause_s * resumes)
        return session

    def check(self, token: str, session: Session) -> Status:
        publish_id = str(session.get("publish_id", ""))
        data = self._status(token, publish_id)
        state = str(data.get("status", ""))
        if state == "FAILED":
            code = str(data.get("fail_reason", "") or "unknown")
            why = FAIL_REASONS.get(code, f"TikTok gave the reason '{code}'")
            return Status("failed", publish_id, reason=f"TikTok did not publish the clip: {why}.")
        if state in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
            ids = data.get("publicaly_available_post_id") or []  # sic, TikTok's spelling
            post_id = str(ids[0]) if ids else ""
            user = session.get("username", "")
            url = VIDEO_URL.format(user=user, id=post_id) if post_id and user else ""
            note = "" if post_id else "TikTok published it; its public link appears after review."
            return Status("published", post_id or publish_id, url, note)
        return Status("processing", publish_id)

    def fetch_counts(self, token: str, video_ids: list[str]) -> dict[str, Figures]:
        """Running totals of the videos (`POST /v2/video/query/`, scope video.list, 20 ids a
        call); a video TikTok doesn't return (deleted, not the account's) is missing."""
        url = self.settings.api_base.rstrip("/") + "/v2/video/query/"
        headers = {**bearer(token), "Content-Type": "application/json; charset=UTF-8"}
        found: dict[str, Figures] = {}
        for start in range(0, len(video_ids), STATS_IDS_PER_CALL):
            body = {"filters": {"video_ids": video_ids[start : start + STATS_IDS_PER_CALL]}}
            response = send(self.http, PLATFORM, "reading statistics", "POST", url,
                            params={"fields": STATS_FIELDS}, json=body, headers=headers,
                            timeout=self.timeout)  # fmt: skip
            envelope = json_body(response)
            error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
            code = str((error or {}).get("code", ""))
            if response.status_code != 200 or code not in ("", "ok"):
                said = provider_words((error or {}).get("message"))
                raise stats_error(PLATFORM, response, f"{code} {said}".strip(), code)
            found.update(parse_videos(envelope))
        return found

    def _send_chunks(self, post: Post, session: Session, on_progress: Progress) -> None:
        """Send the chunks from session["next_chunk"] on, moving it on after each."""
        chunk, count = int(session["chunk_size"]), int(session["chunk_count"])
        for index in range(int(session["next_chunk"]), count):
            start = index * chunk
            length = post.size - start if index == count - 1 else chunk
            headers = {
                "Content-Type": post.content_type,
                "Content-Range": f"bytes {start}-{start + length - 1}/{post.size}",
            }
            response = send(self.http, PLATFORM, "uploading the video", "PUT",
                            session["upload_url"], data=FileSlice(post.path, start, length),
                            headers=headers, timeout=self.timeout)  # fmt: skip
            if response.status_code not in (200, 201, 206):
                raise self._upload_error(response)
            session["next_chunk"] = index + 1
            on_progress(start + length, post.size)
        session["uploaded"] = True

    def _continue_from_what_tiktok_holds(self, token: str, post: Post, session: Session) -> None:
        """A saved upload continues with the chunk after the bytes TikTok reports holding
        (all of them: nothing left to send)."""
        held = int(self._status(token, str(session["publish_id"])).get("uploaded_bytes") or 0)
        session["uploaded"] = held >= post.size
        session["next_chunk"] = min(
            held // int(session["chunk_size"]), int(session["chunk_count"]) - 1
        )

    def _status(self, token: str, publish_id: str) -> dict[str, Any]:
        body = {"publish_id": publish_id}
        return self._call(token, "/v2/post/publish/status/fetch/", body, "checking the post")

    def _call(self, token: str, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """One Content Posting API call; its `data`, or the `error` as a PublishError."""
        url = self.settings.api_base.rstrip("/") + path
        headers = {**bearer(token), "Content-Type": "application/json; charset=UTF-8"}
        response = send(self.http, PLATFORM, what, "POST", url, json=body, headers=headers,
                        timeout=self.timeout)  # fmt: skip
        envelope = json_body(response)
        error = envelope.get("error") if isinstance(envelope.get("error"), dict) else {}
        code = str(error.get("code", "")) if error else ""
        if response.status_code == 200 and code in ("", "ok"):
            data = envelope.get("data")
            return data if isinstance(data, dict) else {}
        raise self._error(response, code, provider_words(error.get("message") if error else ""))

    def _error(self, response: requests.Response, code: str, said: str) -> PublishError:
        status = response.status_code
        if code == "scope_not_authorized":
            return PublishError(
                "reconnect",
                "TikTok says Truss may not post for this account. Reconnect TikTok on the "
                "Connections page and allow posting.",
                code,
            )
        if status == 401 or code == "access_token_invalid":
            return Unauthorized(PLATFORM, code or "401")
        if status == 429 or code == "rate_limit_exceeded":
            return PublishError(
                "quota",
                "TikTok asked Truss to slow down.",
                code or "429",
                self.now() + timedelta(minutes=1),
            )
        if code in ("spam_risk_too_many_posts", "reached_active_user_cap"):
            return PublishError(
                "quota",
                "TikTok's limit of posts for this account (or this app) is reached for today.",
                code,
                self.now() + timedelta(days=1),
            )
        if status >= 500 or code == "internal_error":
            return server_error(PLATFORM, response)
        why = CONTENT_CODES.get(code, said or f"HTTP {status}")
        return PublishError("content", f"TikTok refused the post: {why}.", code or str(status))

    def _upload_error(self, response: requests.Response) -> PublishError:
        if response.status_code >= 500:
            return server_error(PLATFORM, response)
        if response.status_code in (404, 410):
            return PublishError("retry", "TikTok's upload link expired.", EXPIRED)
        code = str(response.status_code)
        return PublishError("content", f"TikTok refused a part of the video (HTTP {code}).", code)


def _check_allowed(info: CreatorInfo, post: Post) -> None:
    if info.privacy_options and post.privacy not in info.privacy_options:
        offered = ", ".join(info.privacy_options)
        raise PublishError(
            "content",
            f"TikTok doesn't offer the privacy '{post.privacy}' for this account; choose one "
            f"of: {offered}.",
            "privacy_level_option_mismatch",
        )
    if info.max_duration_s and post.duration_s > info.max_duration_s:
        raise PublishError(
            "content",
            f"The clip is {post.duration_s:.0f} s long; this TikTok account can post videos "
            f"up to {info.max_duration_s} s. Trim it and publish again.",
            "duration_check_failed",
        )
