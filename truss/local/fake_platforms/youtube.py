"""YouTube Data API v3 `videos.insert` (resumable upload) and `videos.list`, as Google does them.

POST /youtube/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status → 200 with the
session URI in Location; PUT chunks there with Content-Range; an unfinished upload answers 308
with `Range: bytes=0-N` (no Range when nothing arrived; a non-final chunk is kept in whole
multiples of 256 KiB, as Google's upload servers may do); `Content-Range: bytes */total` asks
where it stands; the last chunk gets 200 and the video resource. Errors use Google's shape.
"""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from flask import Blueprint, Response, request

from truss.local.fake_platforms.state import State, new_token
from truss.local.fake_platforms.wire import (
    bearer,
    content_range,
    drain,
    drop_connection,
    drop_point,
    json_reply,
    write_body,
)

UPLOAD_SCOPES = {
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.force-ssl",
}
READ_SCOPES = UPLOAD_SCOPES | {"https://www.googleapis.com/auth/youtube.readonly"}
PRIVACY = ("public", "private", "unlisted")
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def google_error(status: int, reason: str, message: str, domain: str = "global") -> Response:
    """Google's JSON error: {"error": {code, message, errors: [{reason, domain}], status}}."""
    names = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": names.get(status, "UNKNOWN"),
        }
    }
    headers = (
        {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'} if status == 401 else {}
    )
    return json_reply(body, status, headers)


def fault_reply(kind: str) -> Response:
    if kind == "unauthorized":
        return google_error(401, "authError", "Invalid Credentials")
    if kind == "quota":
        return quota_exceeded()
    if kind == "rate_limited":
        return google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
    return google_error(503, "backendError", "Backend Error")


def quota_exceeded() -> Response:
    return google_error(
        403,
        "quotaExceeded",
        'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
        'getting-started#quota">quota</a>.',
        "youtube.quota",
    )


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_youtube", __name__)

    def authorized(scopes: set[str]) -> tuple[dict[str, Any] | None, Response | None]:
        grant = state.grant_for_access("google", bearer(request))
        if grant is None:
            return None, google_error(401, "authError", "Invalid Credentials")
        if not scopes & set(grant["scopes"]):
            return None, google_error(403, "insufficientPermissions", "Insufficient Permission")
        return grant, None

    @bp.post("/youtube/upload/youtube/v3/videos")
    def insert() -> Response:
        if kind := state.faults.take("youtube.insert"):
            return fault_reply(kind)
        grant, error = authorized(UPLOAD_SCOPES)
        if error:
            return error
        assert grant is not None
        if request.args.get("uploadType") != "resumable":
            return google_error(400, "badRequest", "The fake supports uploadType=resumable only")
        if not request.args.get("part"):
            return google_error(400, "required", "Required parameter: part")
        try:
            metadata = json.loads(request.get_data() or b"{}")
        except ValueError:
            return google_error(400, "parseError", "Parse Error")
        snippet, status = metadata.get("snippet") or {}, metadata.get("status") or {}
        title = snippet.get("title") or ""
        if not title.strip():
            return google_error(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid or empty video title.",
            )
        if len(title) > 100 or "<" in title or ">" in title:
            return google_error(
                400, "invalidTitle", "The request metadata specifies an invalid video title."
            )
        if len((snippet.get("description") or "").encode()) > 5000:
            return google_error(
                400,
                "invalidDescription",
                "The request metadata specifies an invalid video description.",
            )
        if status.get("privacyStatus", "public") not in PRIVACY:
            return google_error(400, "invalidVideoMetadata", "Invalid privacyStatus")
        total = request.headers.get("X-Upload-Content-Length")
        if not state.youtube_quota_take(grant["user_id"], state.settings.youtube_upload_cost):
            return quota_exceeded()
        session_id = new_token()
        with state.lock:
            state.db["sessions"][session_id] = {
                "id": session_id,
                "grant_id": grant["id"],
                "user_id": grant["user_id"],
                "snippet": snippet,
                "status": status,
                "total": int(total) if total and total.isdigit() else None,
                "content_type": request.headers.get("X-Upload-Content-Type", "video/*"),
                "received": 0,
                "video_id": None,
            }
            state.save()
        location = (
            f"{request.host_url}youtube/upload/youtube/v3/videos?uploadType=resumable"
            f"&upload_id={session_id}"
        )
        return Response(b"", status=200, headers={"Location": location})

    @bp.put("/youtube/upload/youtube/v3/videos")
    def upload() -> Response:
        session = state.db["sessions"].get(request.args.get("upload_id", ""))
        if session is None:
            drain(request)
            return google_error(404, "notFound", "Upload session not found")
        if kind := state.faults.take("youtube.upload"):
            drain(request)
            return fault_reply(kind)
        if session["video_id"]:
            drain(request)
            return json_reply(video_resource(state, state.db["videos"][session["video_id"]]))
        header = request.headers.get("Content-Range")
        length = request.content_length  # None with chunked transfer encoding
        parsed = content_range(header) if header else (0, None, None)
        if parsed is None:
            drain(request)
            return google_error(400, "badContent", "Invalid Content-Range")
        first, last, total = parsed
        if total is not None:
            if session["total"] not in (None, total):
                drain(request)
                return google_error(400, "badContent", "Content-Range total does not match")
            session["total"] = total
        if first is None:  # `bytes */total`: where does it stand?
            drain(request)
            return _progress(session)
        expected = None if last is None else last - first + 1  # None: the whole file, one PUT
        if expected is not None and length is not None and expected != length:
            drain(request)
            return google_error(400, "badContent", "Content-Range does not match Content-Length")
        if first > session["received"]:
            drain(request)  # a gap: keep nothing, say what we have
            return _progress(session)
        path = state.file_path(f"yt-{session['id']}")
        size = expected if expected is not None else (length or 0)
        cut = drop_point(
            state.faults.drop_at.get("youtube"), first, size, session["total"] or first + size
        )
        if cut is not None:
            state.faults.drop_at.pop("youtube", None)
            written = write_body(request, path, first, limit=cut)
            with state.lock:
                session["received"] = max(session["received"], first + written)
                state.save()
            return drop_connection(request)
        written = write_body(request, path, first)
        if expected is not None and written != expected:
            return google_error(400, "badContent", "The body does not match Content-Range")
        if header is None:
            if session["total"] not in (None, written):
                return google_error(400, "badContent", "The body is not X-Upload-Content-Length")
            session["total"] = written
        end = first + written
        final = session["total"] is not None and end >= session["total"]
        if not final:
            granularity = state.settings.youtube_chunk_granularity
            end = first + (written // granularity) * granularity if granularity else end
        with state.lock:
            session["received"] = max(session["received"], end)
            if final:
                _finish(session, path)
            state.save()
        if final:
            return json_reply(video_resource(state, state.db["videos"][session["video_id"]]))
        return _progress(session)

    def _progress(session: dict[str, Any]) -> Response:
        if session["video_id"]:
            return json_reply(video_resource(state, state.db["videos"][session["video_id"]]))
        headers = {"Content-Length": "0"}
        if session["received"] > 0:
            headers["Range"] = f"bytes=0-{session['received'] - 1}"
        return Response(b"", status=308, headers=headers)

    def _finish(session: dict[str, Any], path: Any) -> None:
        video_id = "".join(secrets.choice(_ID_CHARS) for _ in range(11))
        privacy = session["status"].get("privacyStatus", "public")
        if not state.settings.youtube_audited:
            privacy = "private"  # unverified API projects' uploads are locked private
        user = state.db["users"][f"google:{session['user_id']}"]
        video = {
            "id": video_id,
            "user_id": session["user_id"],
            "title": session["snippet"].get("title", ""),
            "description": session["snippet"].get("description", ""),
            "tags": session["snippet"].get("tags", []),
            "privacy": privacy,
            "polls": 0,
            "fail_reason": state.faults.fail_processing.pop("youtube", None),
            "channel": user["name"],
        }
        state.db["videos"][video_id] = video
        session["video_id"] = video_id
        state.record(
            platform="youtube",
            account=user["name"],
            title=video["title"],
            text=video["description"],
            privacy=privacy,
            size=session["total"],
            content_type=session["content_type"],
            remote_id=video_id,
            remote_url=f"https://www.youtube.com/watch?v={video_id}",
            file=path.name,
        )

    @bp.get("/youtube/youtube/v3/videos")
    def videos_list() -> Response:
        if kind := state.faults.take("youtube.status"):
            return fault_reply(kind)
        grant, error = authorized(READ_SCOPES)
        if error:
            return error
        assert grant is not None
        if not state.youtube_quota_take(grant["user_id"], 1):
            return quota_exceeded()
        parts = set(request.args.get("part", "").split(","))
        items = []
        with state.lock:
            for video_id in request.args.get("id", "").split(","):
                video = state.db["videos"].get(video_id)
                if video is None or video["user_id"] != grant["user_id"]:
                    continue
                if (
                    parts & {"status", "processingDetails"}
                    and "youtube" not in state.faults.never_complete
                ):
                    video["polls"] += 1
                items.append(video_resource(state, video, parts))
            state.save()
        return json_reply(
            {
                "kind": "youtube#videoListResponse",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    @bp.get("/youtube/youtube/v3/channels")
    def channels() -> Response:
        grant, error = authorized(READ_SCOPES)
        if error:
            return error
        assert grant is not None
        user = state.user_of(grant)
        thumb = {"url": f"{request.host_url}_fake/avatar/google/{user['id']}.png"}
        return json_reply(
            {
                "kind": "youtube#channelListResponse",
                "items": [
                    {
                        "kind": "youtube#channel",
                        "id": f"UC{user['id']}",
                        "snippet": {"title": user["name"], "thumbnails": {"default": thumb}},
                    }
                ],
            }
        )

    return bp


def video_resource(state: State, video: dict[str, Any], parts: set[str] | None = None) -> dict:
    """The video as videos.insert/videos.list return it (processing state from the poll count)."""
    parts = parts or {"snippet", "status", "processingDetails"}
    done = video["polls"] > state.settings.processing_polls
    if video["fail_reason"] and done:
        upload_status, processing = "failed", "failed"
    elif done:
        upload_status, processing = "processed", "succeeded"
    else:
        upload_status, processing = "uploaded", "processing"
    resource: dict[str, Any] = {"kind": "youtube#video", "id": video["id"]}
    if "snippet" in parts:
        resource["snippet"] = {
            "title": video["title"],
            "description": video["description"],
            "tags": video["tags"],
            "channelTitle": video["channel"],
        }
    if "status" in parts:
        resource["status"] = {"uploadStatus": upload_status, "privacyStatus": video["privacy"]}
        if upload_status == "failed":
            resource["status"]["failureReason"] = video["fail_reason"]
    if "processingDetails" in parts:
        details: dict[str, Any] = {"processingStatus": processing}
        if processing == "processing":
            details["processingProgress"] = {
                "partsTotal": 100,
                "partsProcessed": 50,
                "timeLeftMs": 5000,
            }
        if processing == "failed":
            details["processingFailureReason"] = video["fail_reason"]
        resource["processingDetails"] = details
    return resource
