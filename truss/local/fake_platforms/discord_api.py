"""Discord webhooks: execute (multipart payload_json + files[n], ?wait=true) and get-with-token.

Content is limited to 2,000 characters (400, code 50035); attachments over the size limit
(FakeSettings.discord_max_upload, 10 MiB by default) get 413 with code 40005; an unknown webhook
404 / 10015, a wrong token 401 / 50027. Routes exist with and without the /v10 version prefix.
"""

from __future__ import annotations

import json
import mimetypes
import shutil
from typing import Any

from flask import Blueprint, Response, request

from truss.local.fake_platforms.oauth import webhook_view
from truss.local.fake_platforms.state import State, digits
from truss.local.fake_platforms.wire import drain, json_reply

MAX_CONTENT = 2000


def discord_error(status: int, code: int, message: str, **extra: Any) -> Response:
    return json_reply({"message": message, "code": code, **extra}, status)


def fault_reply(kind: str) -> Response:
    if kind == "unauthorized":
        return discord_error(401, 50027, "Invalid Webhook Token")
    if kind in ("quota", "rate_limited"):
        return json_reply(
            {"message": "You are being rate limited.", "retry_after": 1.0, "global": False},
            429,
            {"Retry-After": "1"},
        )
    return discord_error(500, 0, "500: Internal Server Error")


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_discord", __name__)

    def find(webhook_id: str, token: str) -> tuple[dict[str, Any] | None, Response | None]:
        hook = state.db["webhooks"].get(webhook_id)
        if hook is None:
            return None, discord_error(404, 10015, "Unknown Webhook")
        if hook["token"] != token:
            return None, discord_error(401, 50027, "Invalid Webhook Token")
        return hook, None

    @bp.get("/discord/api/webhooks/<webhook_id>/<token>")
    @bp.get("/discord/api/v10/webhooks/<webhook_id>/<token>")
    def get_webhook(webhook_id: str, token: str) -> Response:
        _, error = find(webhook_id, token)
        return error or json_reply(webhook_view(state, webhook_id))

    @bp.post("/discord/api/webhooks/<webhook_id>/<token>")
    @bp.post("/discord/api/v10/webhooks/<webhook_id>/<token>")
    def execute(webhook_id: str, token: str) -> Response:
        hook, error = find(webhook_id, token)
        if error:
            drain(request)
            return error
        assert hook is not None
        if kind := state.faults.take("discord.execute"):
            drain(request)
            return fault_reply(kind)
        limit = state.settings.discord_max_upload
        if (request.content_length or 0) > limit + 1024 * 1024:
            drain(request)  # far too big: refused before the body is parsed, as Discord does
            return discord_error(413, 40005, "Request entity too large")
        if request.mimetype == "application/json":
            payload = request.get_json(silent=True) or {}
        else:
            try:
                payload = json.loads(request.form.get("payload_json") or "{}")
            except ValueError:
                return discord_error(400, 50109, "The request body contains invalid JSON.")
            payload.setdefault("content", request.form.get("content"))
        files = [
            f
            for name, f in request.files.items(multi=True)
            if name.startswith("files[") or name == "file"
        ]
        sizes = []
        for upload in files:
            upload.stream.seek(0, 2)
            sizes.append(upload.stream.tell())
            upload.stream.seek(0)
        if sum(sizes) > limit:
            return discord_error(413, 40005, "Request entity too large")
        content = payload.get("content") or ""
        if len(content) > MAX_CONTENT:
            return discord_error(
                400,
                50035,
                "Invalid Form Body",
                errors={
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": f"Must be {MAX_CONTENT} or fewer in length.",
                            }
                        ]
                    }
                },
            )
        if not content and not files and not payload.get("embeds"):
            return discord_error(400, 50006, "Cannot send an empty message")
        message_id = digits(19)
        attachments = []
        stored = None
        for i, (upload, size) in enumerate(zip(files, sizes, strict=True)):
            name = f"dc-{message_id}-{i}"
            with state.file_path(name).open("wb") as out:
                shutil.copyfileobj(upload.stream, out)
            kind = (
                upload.mimetype
                or mimetypes.guess_type(upload.filename or "")[0]
                or "application/octet-stream"
            )
            stored = stored or (name, kind, size)
            attachments.append(
                {
                    "id": digits(19),
                    "filename": upload.filename,
                    "size": size,
                    "content_type": kind,
                    "url": f"{request.host_url}_fake/files/{name}",
                    "proxy_url": f"{request.host_url}_fake/files/{name}",
                }
            )
        entry = state.record(
            platform="discord",
            account=f"#{hook['channel_name']}",
            title=None,
            text=content,
            privacy=None,
            size=stored[2] if stored else 0,
            content_type=stored[1] if stored else None,
            remote_id=message_id,
            remote_url=None,
            file=stored[0] if stored else None,
        )
        if request.args.get("wait", "").lower() != "true":
            return Response(status=204)
        return json_reply(
            {
                "id": message_id,
                "type": 0,
                "content": content,
                "channel_id": hook["channel_id"],
                "webhook_id": hook["id"],
                "timestamp": entry["received_at"],
                "author": {
                    "id": hook["id"],
                    "username": payload.get("username") or hook["name"],
                    "bot": True,
                },
                "attachments": attachments,
                "embeds": payload.get("embeds") or [],
            }
        )

    return bp
