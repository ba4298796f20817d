"""TikTok Content Posting API (direct post, FILE_UPLOAD), as TikTok does it.

creator_info/query → privacy options and limits; video/init checks the chunk rules (chunks of
5 to 64 MB, total_chunk_count = video_size // chunk_size, the last chunk takes the trailing bytes up
to 128 MB, a file under 5 MB goes whole, 1-1000 chunks) and returns publish_id + upload_url;
chunks are PUT in order with Content-Range (206 until the last, then 201); status/fetch answers
PROCESSING_UPLOAD, then PUBLISH_COMPLETE or FAILED with fail_reason. Every JSON answer uses the
{"data": ..., "error": {"code": "ok", ...}} envelope. Unaudited clients may only post SELF_ONLY.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from truss.local.fake_platforms.oauth import avatar_url, tiktok_envelope
from truss.local.fake_platforms.state import State, digits, new_token
from truss.local.fake_platforms.wire import (
    bearer,
    content_range,
    drain,
    drop_connection,
    drop_point,
    read_partly,
    write_body,
)

PRIVACY_OPTIONS = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
]
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
MAX_CHUNKS = 1000


def fault_reply(kind: str) -> Response:
    if kind == "unauthorized":
        return tiktok_envelope(
            {},
            401,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )
    if kind in ("quota", "rate_limited"):
        return tiktok_envelope({}, 429, "rate_limit_exceeded", "API rate limit exceeded")
    return tiktok_envelope(
        {}, 500, "internal_error", "Something went wrong. Please try again later."
    )


def chunk_error(settings: Any, video_size: int, chunk_size: int, count: int) -> str | None:
    """Why source_info breaks TikTok's chunk rules (None when it follows them)."""
    low, high = settings.tiktok_min_chunk, settings.tiktok_max_chunk
    if video_size <= 0:
        return "video_size must be positive"
    if video_size < low:
        if chunk_size != video_size or count != 1:
            return "a video under the minimum chunk size must be uploaded whole (one chunk)"
        return None
    if not low <= chunk_size <= high:
        return f"chunk_size must be between {low} and {high} bytes"
    if chunk_size > video_size:
        return "chunk_size exceeds video_size"
    if count != video_size // chunk_size:
        return "total_chunk_count must be video_size / chunk_size rounded down"
    if not 1 <= count <= MAX_CHUNKS:
        return f"total_chunk_count must be 1 to {MAX_CHUNKS}"
    if video_size - (count - 1) * chunk_size > 2 * high:
        return f"the final chunk may not exceed {2 * high} bytes"
    return None


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_tiktok", __name__)

    def authorized(scope: str) -> tuple[dict[str, Any] | None, Response | None]:
        grant = state.grant_for_access("tiktok", bearer(request))
        if grant is None:
            return None, fault_reply("unauthorized")
        if scope not in grant["scopes"]:
            return None, tiktok_envelope(
                {},
                401,
                "scope_not_authorized",
                f"The user did not authorize the scope required: {scope}",
            )
        return grant, None

    @bp.post("/tiktok/v2/post/publish/creator_info/query/")
    def creator_info() -> Response:
        if kind := state.faults.take("tiktok.creator_info"):
            return fault_reply(kind)
        grant, error = authorized("video.publish")
        if error:
            return error
        assert grant is not None
        user = state.user_of(grant)
        return tiktok_envelope(
            {
                "creator_avatar_url": avatar_url("tiktok", user["id"]),
                "creator_username": user["name"],
                "creator_nickname": user["name"],
                "privacy_level_options": PRIVACY_OPTIONS,
                "comment_disabled": False,
                "duet_disabled": False,
                "stitch_disabled": False,
                "max_video_post_duration_sec": state.settings.tiktok_max_duration_s,
            }
        )

    @bp.post("/tiktok/v2/post/publish/video/init/")
    def init() -> Response:
        if kind := state.faults.take("tiktok.init"):
            return fault_reply(kind)
        grant, error = authorized("video.publish")
        if error:
            return error
        assert grant is not None
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return tiktok_envelope({}, 400, "invalid_params", "The request body is not JSON")
        post, source = body.get("post_info") or {}, body.get("source_info") or {}
        privacy = post.get("privacy_level")
        if privacy not in PRIVACY_OPTIONS:
            return tiktok_envelope(
                {}, 400, "invalid_params", "privacy_level is not one of the creator's options"
            )
        if not state.settings.tiktok_audited and privacy != "SELF_ONLY":
            return tiktok_envelope(
                {},
                403,
                "unaudited_client_can_only_post_to_private_accounts",
                "Please review our integration guidelines at https://developers.tiktok.com/doc/content-sharing-guidelines/",
            )
        if len(post.get("title") or "") > 2200:
            return tiktok_envelope({}, 400, "invalid_params", "title exceeds 2200 characters")
        if source.get("source") != "FILE_UPLOAD":
            return tiktok_envelope(
                {}, 400, "invalid_params", "the fake supports source FILE_UPLOAD only"
            )
        try:
            size, chunk, count = (
                int(source[k]) for k in ("video_size", "chunk_size", "total_chunk_count")
            )
        except (KeyError, TypeError, ValueError):
            return tiktok_envelope(
                {},
                400,
                "invalid_params",
                "video_size, chunk_size and total_chunk_count are required",
            )
        if problem := chunk_error(state.settings, size, chunk, count):
            return tiktok_envelope({}, 400, "invalid_params", problem)
        publish_id = f"v_pub_file~v2-1.{digits(19)}"
        upload_id, upload_token = digits(19), new_token()
        with state.lock:
            state.db["publishes"][publish_id] = {
                "id": publish_id,
                "upload_id": upload_id,
                "upload_token": upload_token,
                "user_id": grant["user_id"],
                "title": post.get("title") or "",
                "privacy": privacy,
                "video_size": size,
                "chunk_size": chunk,
                "count": count,
                "received": 0,
                "content_type": None,
                "polls": 0,
                "done": False,
                "post_id": None,
                "fail_reason": None,
            }
            state.save()
        url = f"{request.host_url}tiktok/video/?upload_id={upload_id}&upload_token={upload_token}"
        return tiktok_envelope({"publish_id": publish_id, "upload_url": url})

    @bp.put("/tiktok/video/")
    def upload() -> Response:
        publish = next(
            (
                p
                for p in state.db["publishes"].values()
                if p["upload_id"] == request.args.get("upload_id")
            ),
            None,
        )
        if publish is None or publish["upload_token"] != request.args.get("upload_token"):
            drain(request)
            return tiktok_envelope({}, 404, "invalid_params", "upload_url not found or expired")
        if kind := state.faults.take("tiktok.upload"):
            drain(request)
            return fault_reply(kind)
        mime = (request.content_type or "").split(";")[0].strip()
        if mime not in VIDEO_TYPES:
            drain(request)
            return tiktok_envelope(
                {},
                400,
                "invalid_params",
                "Content-Type must be video/mp4, video/quicktime or video/webm",
            )
        parsed = content_range(request.headers.get("Content-Range"))
        size, chunk, count = publish["video_size"], publish["chunk_size"], publish["count"]
        length = request.content_length  # None with chunked transfer encoding
        if parsed is None or parsed[0] is None or parsed[1] is None or parsed[2] != size:
            drain(request)
            return tiktok_envelope(
                {}, 400, "invalid_params", "Content-Range must be bytes first-last/video_size"
            )
        first, last, _ = parsed
        assert first is not None and last is not None
        index = first // chunk if chunk else 0
        expected_last = size - 1 if index >= count - 1 else first + chunk - 1
        in_order = first % chunk == 0 and first <= publish["received"] and index < count
        wrong_length = length is not None and last - first + 1 != length
        if not in_order or last != expected_last or wrong_length:
            drain(request)
            return tiktok_envelope(
                {},
                400,
                "invalid_params",
                "chunks must be uploaded in order, each chunk_size bytes (the last takes the rest)",
            )
        cut = drop_point(state.faults.drop_at.get("tiktok"), first, last - first + 1, size)
        if cut is not None:
            state.faults.drop_at.pop("tiktok", None)
            read_partly(request, cut)  # a chunk is kept whole or not at all
            return drop_connection(request)
        path = state.file_path(f"tt-{publish['upload_id']}")
        if write_body(request, path, first) != last - first + 1:
            return tiktok_envelope(
                {}, 400, "invalid_params", "the body does not match Content-Range"
            )
        with state.lock:
            publish["received"] = max(publish["received"], last + 1)
            publish["content_type"] = mime
            if publish["received"] >= size and not publish["done"]:
                publish["done"] = True
                publish["fail_reason"] = state.faults.fail_processing.pop("tiktok", None)
                user = state.db["users"][f"tiktok:{publish['user_id']}"]
                state.record(
                    platform="tiktok",
                    account=user["name"],
                    title=publish["title"],
                    text=publish["title"],
                    privacy=publish["privacy"],
                    size=size,
                    content_type=mime,
                    remote_id=publish["id"],
                    remote_url=None,
                    file=path.name,
                )
            state.save()
        return Response(b"", status=201 if publish["done"] else 206)

    @bp.post("/tiktok/v2/post/publish/status/fetch/")
    def status() -> Response:
        if kind := state.faults.take("tiktok.status"):
            return fault_reply(kind)
        grant, error = authorized("video.publish")
        if error:
            return error
        assert grant is not None
        try:
            publish_id = (json.loads(request.get_data() or b"{}") or {}).get("publish_id")
        except ValueError:
            publish_id = None
        with state.lock:
            publish = state.db["publishes"].get(publish_id or "")
            if publish is None or publish["user_id"] != grant["user_id"]:
                return tiktok_envelope({}, 400, "invalid_params", "publish_id not found")
            data: dict[str, Any] = {"uploaded_bytes": publish["received"]}
            if publish["done"] and "tiktok" not in state.faults.never_complete:
                publish["polls"] += 1
            if not publish["done"] or publish["polls"] <= state.settings.processing_polls:
                data["status"] = "PROCESSING_UPLOAD"
            elif publish["fail_reason"]:
                data["status"], data["fail_reason"] = "FAILED", publish["fail_reason"]
            else:
                data["status"] = "PUBLISH_COMPLETE"
                if publish["privacy"] == "PUBLIC_TO_EVERYONE":
                    publish["post_id"] = publish["post_id"] or int(digits(19))
                data["publicaly_available_post_id"] = (
                    [publish["post_id"]] if publish["post_id"] else []
                )
                for entry in state.db["received"]:
                    if entry["remote_id"] == publish["id"] and publish["post_id"]:
                        user = state.db["users"][f"tiktok:{publish['user_id']}"]
                        entry["remote_url"] = (
                            f"https://www.tiktok.com/@{user['name']}/video/{publish['post_id']}"
                        )
            state.save()
        return tiktok_envelope(data)

    return bp
