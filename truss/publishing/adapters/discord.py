"""Discord: execute a webhook with the clip and the message.

The "token" is the webhook URL (`.../webhooks/<id>/<token>`, from the `webhook.incoming` OAuth
flow or pasted). Only its id and token are used: the request always goes to
`{api_base}/webhooks/<id>/<token>?wait=true`, so a stored URL can't point Truss elsewhere.
The body is multipart with `payload_json` (content up to 2,000 characters, the attachment)
and `files[0]`, streamed from disk. The message exists once the call returns (`wait=true`):
there is nothing to start and nothing to poll.

A file over the webhook limit (a setting: Discord lowered it to 10 MiB in 2025) is refused
before sending, or by Discord with 413 / code 40005: both are `content` errors naming the
limit. Re-encoding smaller once is the job's decision: `smaller_copy` makes the copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests

from truss.ffmpeg import input_args, threads
from truss.media import probe, run_ffmpeg
from truss.publishing.adapters.base import (
    Clock,
    MultipartBody,
    Post,
    Progress,
    PublishError,
    Session,
    Status,
    json_body,
    provider_words,
    send,
    server_error,
    utc_now,
)

PLATFORM = "Discord"
MIB = 1024 * 1024
MESSAGE_MAX = 2000
OVERSIZE_CODE = "40005"
WEBHOOK_PATH = re.compile(r"/webhooks/(\d+)/([A-Za-z0-9_.-]+)/?$")
MESSAGE_URL = "https://discord.com/channels/{guild}/{channel}/{id}"
AUDIO_BPS = 96_000
MIN_VIDEO_BPS = 150_000  # below this a re-encode is not worth watching
SIZE_MARGIN = 0.92  # container overhead and rate-control overshoot


@dataclass(frozen=True)
class DiscordSettings:
    api_base: str = "https://discord.com/api"
    upload_limit_bytes: int = 10 * MIB  # 0: let Discord decide
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0


def parse_webhook_url(url: str) -> tuple[str, str]:
    """(webhook id, webhook token) from a webhook URL; ValueError when it isn't one."""
    match = WEBHOOK_PATH.search(url.split("?", 1)[0].split("#", 1)[0])
    if not match:
        raise ValueError("That isn't a Discord webhook URL (…/api/webhooks/<id>/<token>).")
    return match.group(1), match.group(2)


def size_in_words(size: int) -> str:
    """10485760 -> '10 MB' (Discord's own wording for MiB)."""
    return f"{size / MIB:.0f} MB" if size % MIB == 0 else f"{size / MIB:.1f} MB"


class DiscordAdapter:
    platform = "discord"

    def __init__(
        self, settings: DiscordSettings, http: requests.Session | None = None, now: Clock = utc_now
    ) -> None:
        self.settings, self.now = settings, now
        self.http = http or requests.Session()
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)

    def start(self, token: str, post: Post) -> Session:
        """Nothing to open on Discord; the checks that need no request."""
        self._check_postable(post)
        return {}

    def upload(self, token: str, post: Post, session: Session, on_progress: Progress) -> Session:
        """Post the message with the clip; the session gets "message_id" and "url"."""
        if session.get("message_id"):
            return dict(session)  # already posted: never twice
        self._check_postable(post)
        try:
            webhook_id, webhook_token = parse_webhook_url(token)
        except ValueError:
            raise PublishError(
                "reconnect",
                "The saved Discord webhook isn't valid. Connect Discord again on the "
                "Connections page.",
                "bad-webhook",
            ) from None
        filename = _filename(post.path)
        payload = {"content": post.text, "attachments": [{"id": 0, "filename": filename}]}
        body = MultipartBody({"payload_json": payload}, "files[0]", filename, post)
        url = f"{self.settings.api_base.rstrip('/')}/webhooks/{webhook_id}/{webhook_token}"
        response = send(self.http, PLATFORM, "posting the clip", "POST", url,
                        params={"wait": "true"}, data=body,
                        headers={"Content-Type": body.content_type},
                        timeout=self.timeout)  # fmt: skip
        if response.status_code not in (200, 204):
            raise self._error(response, post)
        on_progress(post.size, post.size)
        message = json_body(response)
        return {**session, "message_id": str(message.get("id", "")), "url": _message_url(message)}

    def check(self, token: str, session: Session) -> Status:
        """A webhook message is published when the call returns."""
        return Status("published", str(session.get("message_id", "")), str(session.get("url", "")))

    def _check_postable(self, post: Post) -> None:
        if len(post.text) > MESSAGE_MAX:
            raise PublishError(
                "content",
                f"The Discord message is {len(post.text):,} characters; Discord allows up to "
                f"{MESSAGE_MAX:,}. Shorten it and publish again.",
                "content_too_long",
            )
        limit = self.settings.upload_limit_bytes
        if limit and post.size > limit:
            raise self._oversize(post)

    def _oversize(self, post: Post, refused_by_discord: bool = False) -> PublishError:
        """The clip is over the webhook limit: the configured limit in words, or what Discord
        said when it refused a clip under it (its limit went down again)."""
        limit = self.settings.upload_limit_bytes
        if refused_by_discord:
            upto = f" (its limit is under {size_in_words(limit)})" if limit else ""
            said = f"Discord refused it as too large for a webhook{upto}"
        else:
            said = f"Discord webhooks accept files up to {size_in_words(limit)}"
        return PublishError(
            "content",
            f"The clip is {size_in_words(post.size)}; {said}. Publish a shorter clip, or a "
            "smaller copy.",
            OVERSIZE_CODE,
        )

    def _error(self, response: requests.Response, post: Post) -> PublishError:
        body = json_body(response)
        code = str(body.get("code", "") or response.status_code)
        status = response.status_code
        if status == 413 or code == OVERSIZE_CODE:
            return self._oversize(post, refused_by_discord=True)
        if status in (401, 403, 404):
            return PublishError(
                "reconnect",
                "Discord no longer accepts this webhook (it was deleted or its channel is "
                "gone). Connect Discord again on the Connections page.",
                code,
            )
        if status == 429:
            wait = _seconds(body.get("retry_after") or response.headers.get("Retry-After"))
            return PublishError(
                "quota",
                "Discord asked Truss to slow down.",
                code,
                self.now() + timedelta(seconds=wait),
            )
        if status >= 500:
            return server_error(PLATFORM, response)
        said = provider_words(body.get("message")) or f"HTTP {status}"
        return PublishError("content", f"Discord refused the post: {said}.", code)


def _seconds(value: object, default: float = 60.0) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return default


def _filename(path: Path) -> str:
    """A plain attachment name (Discord shows it)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-") or "clip"
    return f"{stem[:60]}{path.suffix.lower() or '.mp4'}"


def _message_url(message: dict[str, object]) -> str:
    """A link to the posted message (or its attachment when the server isn't known)."""
    guild, channel, message_id = (message.get(k) for k in ("guild_id", "channel_id", "id"))
    if guild and channel and message_id:
        return MESSAGE_URL.format(guild=guild, channel=channel, id=message_id)
    attachments = message.get("attachments")
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        return str(attachments[0].get("url", ""))
    return ""


def smaller_copy(path: Path, limit_bytes: int, duration_s: float | None = None) -> Path:
    """Re-encode the clip next to it (`<name>.smaller.mp4`) to fit under `limit_bytes`:
    the video bitrate is what the limit allows for the clip's duration, less the audio.
    A `content` PublishError when the clip is too long to fit, or the copy still doesn't."""
    duration = duration_s if duration_s else probe(path).duration
    video_bps = int(limit_bytes * 8 * SIZE_MARGIN / max(duration, 0.1)) - AUDIO_BPS
    too_big = PublishError(
        "content",
        f"The clip can't be made smaller than {size_in_words(limit_bytes)} and still be "
        "watchable; publish a shorter clip.",
        OVERSIZE_CODE,
    )
    if video_bps < MIN_VIDEO_BPS:
        raise too_big
    dest = path.with_name(f"{path.stem}.smaller.mp4")
    args = ["-y", "-v", "error", *input_args(path), "-map", "0:v:0", "-map", "0:a:0?"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-b:v", str(video_bps)]
    args += ["-maxrate", str(video_bps), "-bufsize", str(2 * video_bps), "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", str(AUDIO_BPS), "-ac", "2", *threads()]
    args += ["-movflags", "+faststart", str(dest)]
    run_ffmpeg(args, timeout=120 + 20 * duration, what="Making a smaller copy of the clip")
    if dest.stat().st_size > limit_bytes:
        dest.unlink(missing_ok=True)
        raise too_big
    return dest
