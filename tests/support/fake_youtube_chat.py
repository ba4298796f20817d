"""A fake of YouTube's live chat list endpoint over real HTTP on localhost.

Serves `GET /youtube/v3/videos?part=liveStreamingDetails&id=…` (1 unit) and
`GET /youtube/v3/liveChat/messages?liveChatId=…&part=id,snippet,authorDetails&pageToken=…`
(5 units) with the real JSON shape: items, nextPageToken, pollingIntervalMillis and, once the
broadcast is over, offlineAt. Counts quota units per key and answers 403 quotaExceeded past
its own limit, like Google does.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeYouTubeChat:
    def __init__(
        self,
        video_id: str = "vid123",
        polling_ms: int = 2000,
        quota: int = 10000,
        api_key: str = "k",
    ) -> None:
        self.video_id = video_id
        self.chat_id = f"chat-{video_id}"
        self.polling_ms = polling_ms
        self.quota = quota
        self.api_key = api_key
        self.units_used = 0
        self.list_calls = 0
        self.messages: list[dict[str, Any]] = []
        self.offline_at = ""
        self.raw_replies: list[bytes] = []  # served as they are (status 200), before anything
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with fake.lock:
                    raw = fake.raw_replies.pop(0) if fake.raw_replies else None
                status, body = fake.handle(self.path) if raw is None else (200, {})
                data = json.dumps(body).encode() if raw is None else raw
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/youtube/v3"

    def __enter__(self) -> FakeYouTubeChat:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def say(self, text: str, author: str = "Viewer", channel_id: str = "", at: float = 0) -> str:
        with self.lock:
            n = len(self.messages)
            published = datetime.fromtimestamp(at, UTC) if at else datetime.now(UTC)
            item = {
                "kind": "youtube#liveChatMessage",
                "etag": f"etag{n}",
                "id": f"LCC.msg{n}",
                "snippet": {
                    "type": "textMessageEvent",
                    "liveChatId": self.chat_id,
                    "authorChannelId": channel_id or f"UC{author}",
                    "publishedAt": published.isoformat().replace("+00:00", "Z"),
                    "hasDisplayContent": True,
                    "displayMessage": text,
                    "textMessageDetails": {"messageText": text},
                },
                "authorDetails": {
                    "channelId": channel_id or f"UC{author}",
                    "displayName": author,
                    "isChatOwner": False,
                    "isChatModerator": False,
                },
            }
            self.messages.append(item)
            return str(item["id"])

    def go_offline(self) -> None:
        self.offline_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def _spend(self, units: int) -> bool:
        with self.lock:
            if self.units_used + units > self.quota:
                return False
            self.units_used += units
            return True

    def handle(self, path: str) -> tuple[int, dict[str, Any]]:
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if query.get("key") != self.api_key:
            return 400, _error("keyInvalid", "API key not valid. Please pass a valid API key.")
        if url.path.endswith("/videos"):
            if not self._spend(1):
                return 403, _error("quotaExceeded", "quota")
            live = {"activeLiveChatId": self.chat_id} if not self.offline_at else {}
            items = [{"id": self.video_id, "liveStreamingDetails": live}]
            return 200, {"kind": "youtube#videoListResponse", "items": items}
        if url.path.endswith("/liveChat/messages"):
            if query.get("liveChatId") != self.chat_id:
                return 404, _error("liveChatNotFound", "no such chat")
            if not self._spend(5):
                return 403, _error("quotaExceeded", "quota")
            with self.lock:
                self.list_calls += 1
                start = int(query.get("pageToken") or 0)
                items = self.messages[start:]
                body: dict[str, Any] = {
                    "kind": "youtube#liveChatMessageListResponse",
                    "pollingIntervalMillis": self.polling_ms,
                    "nextPageToken": str(len(self.messages)),
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                    "items": items,
                }
            if self.offline_at:
                body["offlineAt"] = self.offline_at
            return 200, body
        return 404, _error("notFound", "not found")


def _error(reason: str, message: str) -> dict[str, Any]:
    return {"error": {"code": 403, "message": message, "errors": [{"reason": reason}]}}
