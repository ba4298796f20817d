"""A fake Gemini API on 127.0.0.1 that speaks the REST protocol the google-genai client uses.

Point the real client at it with HttpOptions(base_url=fake.base_url). It serves:

- POST /upload/v1beta/files             resumable upload start (X-Goog-Upload-Command: start)
- POST /upload/v1beta/files?upload_id=  upload chunks; "upload, finalize" ends the upload
- GET/DELETE /v1beta/files/{id}
- POST /v1beta/models/{model}:generateContent

Scripting: `script(route, Reply(...))` queues replies per route (routes: upload_start, upload,
get_file, delete_file, generate); an empty queue gets the default behaviour. `answer(...)`
queues a generateContent answer; `file_states` is what successive GETs of a new upload
report (the last one repeats). Every request is recorded in `requests`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "test-key"
ROUTES = {
    "upload_start": re.compile(r"^/upload/(?P<version>[\w]+)/files$"),
    "get_file": re.compile(r"^/(?P<version>[\w]+)/files/(?P<id>[a-z0-9-]+)$"),
    "generate": re.compile(r"^/(?P<version>[\w]+)/models/(?P<model>[^/:]+):generateContent$"),
}


@dataclass
class Reply:
    """A scripted answer: a dict is sent as JSON, a str as is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    route: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def error_reply(status: int, message: str, status_name: str = "", reason: str = "") -> Reply:
    """An error body shaped like Google's (error.code/message/status/details)."""
    error: dict[str, Any] = {"code": status, "message": message, "status": status_name}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return Reply(status, {"error": error})


def answer_reply(payload: Any, prompt_tokens: int = 1000, output_tokens: int = 100) -> Reply:
    """A generateContent reply whose text is `payload` (JSON-encoded unless a str)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    body = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": text}]},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": "fake",
    }
    return Reply(200, body)


class FakeGemini:
    def __init__(self, api_key: str = API_KEY, api_versions: tuple[str, ...] = ("v1beta",)):
        self._made_with = (api_key, api_versions)
        self._lock = threading.Lock()
        self.reset()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- life cycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGemini:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Back to how it was made: nothing scripted, stored or recorded (a server shared by
        several tests is reset before each)."""
        with self._lock:
            self.api_key, self.api_versions = self._made_with
            self.requests: list[Recorded] = []
            self.files: dict[str, dict[str, Any]] = {}
            self.file_states: list[str] = ["ACTIVE"]
            self.failure_message = "Video could not be processed"
            self._pending_states: dict[str, list[str]] = {}
            self._uploads: dict[str, dict[str, Any]] = {}
            self._scripts: dict[str, deque[Reply]] = defaultdict(deque)
            self._ids = itertools.count(1)

    # --- scripting -----------------------------------------------------------------------

    def script(self, route: str, *replies: Reply) -> None:
        self._scripts[route].extend(replies)

    def answer(self, payload: Any, prompt_tokens: int = 1000, output_tokens: int = 100) -> None:
        self.script("generate", answer_reply(payload, prompt_tokens, output_tokens))

    def add_file(
        self, file_id: str, state: str = "ACTIVE", expires_in: timedelta = timedelta(hours=47)
    ) -> str:
        """Pretend a file was uploaded earlier; returns its name (files/<id>)."""
        self.files[file_id] = self._file_resource(file_id, "video/mp4", 8, state, expires_in)
        return f"files/{file_id}"

    def seen(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    # --- behaviour -----------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        route, match = self._route(method, parts.path, query)
        with self._lock:
            self.requests.append(Recorded(method, route, parts.path, query, headers, body))
            if route == "unknown" or (match and match["version"] not in self.api_versions):
                return error_reply(404, f"No route for {method} {parts.path}", "NOT_FOUND")
            if route != "upload" and headers.get("x-goog-api-key") != self.api_key:
                message = "API key not valid. Please pass a valid API key."
                return error_reply(400, message, "INVALID_ARGUMENT", "API_KEY_INVALID")
            if self._scripts[route]:
                return self._scripts[route].popleft()
            return self._default(route, match, query, headers, body)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[str, re.Match[str] | None]:
        if method == "POST" and (match := ROUTES["upload_start"].match(path)):
            return ("upload" if "upload_id" in query else "upload_start"), match
        if method in ("GET", "DELETE") and (match := ROUTES["get_file"].match(path)):
            return ("get_file" if method == "GET" else "delete_file"), match
        if method == "POST" and (match := ROUTES["generate"].match(path)):
            return "generate", match
        return "unknown", None

    def _default(
        self,
        route: str,
        match: re.Match[str] | None,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> Reply:
        if route == "upload_start":
            return self._start_upload(headers, body)
        if route == "upload":
            return self._receive_chunk(query["upload_id"][0], headers)
        file_id = match["id"] if match else ""
        if route in ("get_file", "delete_file") and file_id not in self.files:
            return error_reply(
                403,
                f"You do not have permission to access the File {file_id} or it may not exist.",
                "PERMISSION_DENIED",
            )
        if route == "get_file":
            return Reply(200, self._advance(file_id))
        if route == "delete_file":
            del self.files[file_id]
            return Reply(200, {})
        return error_reply(501, "The fake has no scripted answer for this request", "UNIMPLEMENTED")

    def _start_upload(self, headers: dict[str, str], body: bytes) -> Reply:
        upload_id = f"up{next(self._ids)}"
        meta = json.loads(body or b"{}").get("file", {})
        self._uploads[upload_id] = {
            "mime": headers.get("x-goog-upload-header-content-type", meta.get("mimeType", "")),
            "size": int(headers.get("x-goog-upload-header-content-length", "0")),
            "received": 0,
        }
        url = f"{self.base_url}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
        return Reply(200, {}, {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"})

    def _receive_chunk(self, upload_id: str, headers: dict[str, str]) -> Reply:
        upload = self._uploads[upload_id]
        upload["received"] += int(headers.get("content-length", "0"))
        if "finalize" not in headers.get("x-goog-upload-command", ""):
            return Reply(200, {}, {"X-Goog-Upload-Status": "active"})
        file_id = f"vid{next(self._ids)}"
        resource = self._file_resource(file_id, upload["mime"], upload["received"], "PROCESSING")
        self.files[file_id] = resource
        self._pending_states[file_id] = list(self.file_states)
        return Reply(200, {"file": resource}, {"X-Goog-Upload-Status": "final"})

    def _advance(self, file_id: str) -> dict[str, Any]:
        states = self._pending_states.get(file_id)
        resource = self.files[file_id]
        if states:
            resource["state"] = states.pop(0) if len(states) > 1 else states[0]
        if resource["state"] == "FAILED":
            resource["error"] = {"code": 400, "message": self.failure_message}
        return resource

    def _file_resource(
        self,
        file_id: str,
        mime: str,
        size: int,
        state: str,
        expires_in: timedelta = timedelta(hours=48),
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "name": f"files/{file_id}",
            "mimeType": mime,
            "sizeBytes": str(size),
            "createTime": _iso(now),
            "updateTime": _iso(now),
            "expirationTime": _iso(now + expires_in),
            "sha256Hash": "ZmFrZQ==",
            "uri": f"https://generativelanguage.googleapis.com/v1beta/files/{file_id}",
            "state": state,
            "source": "UPLOADED",
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake.handle(self.command, self.path, headers, body)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode() if reply.body is not None else b""
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
