"""YouTube live chat: `liveChatMessages.list` polling that honours pollingIntervalMillis.

Each list call costs LIST_COST quota units, counted in Redis per Pacific day across every
listener; polling stops (with a message the stream page shows) before the day's budget is
spent, and when the broadcast's `offlineAt` appears.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from truss.streams.model import ChatMessage

log = logging.getLogger(__name__)

LIST_COST = 5
VIDEOS_COST = 1
PACIFIC = ZoneInfo("America/Los_Angeles")

QUOTA_STOPPED = (
    "Chat capture stopped: this server's YouTube API budget for today ({budget} units) is used "
    "up. It resets at midnight Pacific time; the operator can raise YOUTUBE_DAILY_QUOTA if the "
    "Google project allows more."
)
OFFLINE = "The YouTube broadcast has ended, so chat capture stopped."
NOT_LIVE = (
    "YouTube says this video has no live chat right now. Check the video id, and that the "
    "stream is live with chat turned on, then start the stream again."
)
NO_KEY = (
    "YouTube chat can't be read: this server has no YOUTUBE_API_KEY. The operator sets it (a "
    "Google Cloud API key with the YouTube Data API enabled); then start the stream again."
)
API_REFUSED = (
    "YouTube refused the chat request ({reason}). The operator should check YOUTUBE_API_KEY; "
    "capture will stop until the stream is started again."
)


@dataclass(frozen=True)
class YouTubeSettings:
    api_key: str
    api_base: str = "https://www.googleapis.com/youtube/v3"
    daily_quota: int = 10000
    min_interval_s: float = 1.0  # never poll faster than this, whatever the API says
    error_backoff_s: float = 10.0


class QuotaBudget:
    """Units spent today (Pacific), shared by every listener through Redis."""

    def __init__(self, redis: Any, daily: int, now: Callable[[], float] = time.time) -> None:
        self.redis, self.daily, self.now = redis, daily, now

    def _key(self) -> str:
        day = datetime.fromtimestamp(self.now(), PACIFIC).strftime("%Y-%m-%d")
        return f"streams:ytquota:{day}"

    def spend(self, units: int) -> bool:
        """Take `units`; False (nothing taken) when that would pass the daily budget."""
        key = self._key()
        total = int(self.redis.incrby(key, units))
        self.redis.expire(key, 2 * 86400)
        if self.daily and total > self.daily:
            self.redis.decrby(key, units)
            return False
        return True

    def spent(self) -> int:
        return int(self.redis.get(self._key()) or 0)


def _offset(published: str, started_at: float) -> float:
    try:
        when = datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp()
    except ValueError:
        when = time.time()
    return round(when - started_at, 3)


def chat_message(item: dict[str, Any], started_at: float) -> ChatMessage | None:
    """One liveChatMessage resource as a ChatMessage; None for items that aren't chat text."""
    snippet, author = item.get("snippet") or {}, item.get("authorDetails") or {}
    text = snippet.get("displayMessage") or (snippet.get("textMessageDetails") or {}).get(
        "messageText"
    )
    if not item.get("id") or text is None:
        return None
    return ChatMessage(
        id=str(item["id"]),
        offset_s=_offset(str(snippet.get("publishedAt", "")), started_at),
        author_id=str(author.get("channelId") or snippet.get("authorChannelId") or ""),
        author=str(author.get("displayName") or ""),
        text=str(text),
    )


class YouTubeChatPoller:
    """Polls one video's live chat until stop(), offlineAt, or the quota budget."""

    def __init__(
        self,
        video_id: str,
        started_at: float,
        on_messages: Callable[[list[ChatMessage]], None],
        on_stopped: Callable[[str], None],
        settings: YouTubeSettings,
        budget: QuotaBudget,
        session: requests.Session | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.video_id = video_id
        self.started_at = started_at
        self.on_messages = on_messages
        self.on_stopped = on_stopped
        self.settings = settings
        self.budget = budget
        self.session = session or requests.Session()
        self._stop = threading.Event()
        self.sleep = sleep or self._stop.wait
        self.polls = 0

    def stop(self) -> None:
        self._stop.set()

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.settings.api_base.rstrip('/')}/{path}"
        response = self.session.get(
            url, params={**params, "key": self.settings.api_key}, timeout=15
        )
        if response.status_code >= 400:
            try:
                reason = response.json()["error"]["errors"][0]["reason"]
            except (ValueError, KeyError, IndexError, TypeError):
                reason = f"HTTP {response.status_code}"
            raise _ApiError(reason, response.status_code)
        try:
            body = response.json()
        except ValueError:  # a proxy's HTML page, a cut-short reply
            body = None
        if not isinstance(body, dict):
            raise requests.RequestException(f"YouTube answered {path} with no JSON object")
        return body

    def live_chat_id(self) -> str | None:
        if not self.budget.spend(VIDEOS_COST):
            return None
        body = self._get("videos", {"part": "liveStreamingDetails", "id": self.video_id})
        for item in body.get("items", []):
            chat_id = (item.get("liveStreamingDetails") or {}).get("activeLiveChatId")
            if chat_id:
                return str(chat_id)
        return ""

    def run(self) -> None:
        """Blocks until stop() or until YouTube says the stream is over (then on_stopped)."""
        try:
            self._run()
        except _ApiError as exc:
            self.on_stopped(API_REFUSED.format(reason=exc.reason))

    def _run(self) -> None:
        if not self.settings.api_key:
            self.on_stopped(NO_KEY)
            return
        chat_id = self.live_chat_id()
        if chat_id is None:
            self.on_stopped(QUOTA_STOPPED.format(budget=self.settings.daily_quota))
            return
        if not chat_id:
            self.on_stopped(NOT_LIVE)
            return
        page_token = ""
        while not self._stop.is_set():
            if not self.budget.spend(LIST_COST):
                self.on_stopped(QUOTA_STOPPED.format(budget=self.settings.daily_quota))
                return
            params = {"liveChatId": chat_id, "part": "id,snippet,authorDetails"}
            if page_token:
                params["pageToken"] = page_token
            try:
                body = self._get("liveChat/messages", params)
            except requests.RequestException:
                self.sleep(self.settings.error_backoff_s)
                continue
            self.polls += 1
            batch = self._messages(body.get("items"))
            if batch:
                self.on_messages(batch)
            if body.get("offlineAt"):
                self.on_stopped(OFFLINE)
                return
            page_token = str(body.get("nextPageToken") or page_token)
            self.sleep(max(_interval_s(body), self.settings.min_interval_s))

    def _messages(self, items: Any) -> list[ChatMessage]:
        """The chat messages among a reply's items; an item that can't be read is skipped."""
        batch = []
        for item in items if isinstance(items, list) else []:
            try:
                message = chat_message(item, self.started_at)
            except (AttributeError, TypeError, ValueError):
                log.warning("skipped a YouTube chat item that could not be read: %.200r", item)
                continue
            if message is not None:
                batch.append(message)
        return batch


def _interval_s(body: dict[str, Any]) -> float:
    """pollingIntervalMillis in seconds (5 when missing or not a sane number)."""
    try:
        seconds = float(body.get("pollingIntervalMillis") or 5000) / 1000
    except (TypeError, ValueError):
        return 5.0
    return seconds if 0 <= seconds <= 300 else 5.0


class _ApiError(Exception):
    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status
