"""The upload endpoints: sign, resume, complete, confirm, cancel (JSON in, JSON out)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from truss import jobs
from truss.analytics import recording
from truss.api import bp
from truss.assets.helpers import limits
from truss.auth.session import current_creator
from truss.cost_controls import quotas
from truss.data.assets import Asset
from truss.extensions import get_storage, get_table, limiter
from truss.services import uploads


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise uploads.UploadError("Send the request as a JSON object.")
    return data


def whole_number(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise uploads.UploadError(f"{what} must be a whole number.")
    return value


def announced_duration(value: Any) -> float | None:
    """The video's length in seconds if the browser read it (checked again after upload)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 < value < 10**7 else None


def asset_json(asset: Asset) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "title": asset.title,
        "status": asset.display_status,
        "error": asset.error,
        "size": asset.size,
        "url": url_for("assets.detail", aid=asset.id),
    }


@bp.post("/assets/uploads")
@limiter.limit("120 per minute")
def start_upload() -> tuple[Response, int]:
    data = body()
    plan = uploads.start_upload(
        get_table(),
        get_storage(),
        current_creator().id,
        str(data.get("name", ""))[:500],
        whole_number(data.get("size"), "size"),
        str(data.get("type", "")),
        limits(),
        quota=quotas(),
        duration_s=announced_duration(data.get("duration")),
    )
    plan["url"] = url_for("assets.detail", aid=plan["asset_id"])
    return jsonify(plan), 201


@bp.get("/assets/<aid>/upload")
def upload_state(aid: str) -> Response:
    upload_id = request.args.get("upload_id", "")
    cid = current_creator().id
    return jsonify(uploads.uploaded_parts(get_table(), get_storage(), cid, aid, upload_id))


@bp.post("/assets/<aid>/parts")
@limiter.limit("600 per minute")
def part_urls(aid: str) -> Response:
    data = body()
    numbers = data.get("parts")
    if not isinstance(numbers, list):
        raise uploads.UploadError("parts must be a list of part numbers.")
    urls = uploads.part_urls(
        get_table(),
        get_storage(),
        current_creator().id,
        aid,
        str(data.get("upload_id", "")),
        [whole_number(n, "A part number") for n in numbers],
        limits(),
    )
    return jsonify(urls={str(n): url for n, url in urls.items()})


@bp.post("/assets/<aid>/complete")
def complete_upload(aid: str) -> Response:
    """Join the parts; a right file is queued for analysis (jobs.queue_analysis)."""
    upload_id = str(body().get("upload_id", ""))
    follow_up = uploads.complete_multipart(
        get_table(), get_storage(), current_creator().id, aid, upload_id, limits(),
        quota=quotas(),
    )  # fmt: skip
    recording.count_upload(follow_up.asset)
    return jsonify(asset_json(jobs.queue_analysis(follow_up)))


@bp.post("/assets/<aid>/confirm")
def confirm_upload(aid: str) -> Response:
    """Check the file S3 holds; a right one is queued for analysis (jobs.queue_analysis)."""
    follow_up = uploads.confirm(
        get_table(), get_storage(), current_creator().id, aid, limits(), quota=quotas()
    )
    recording.count_upload(follow_up.asset)
    return jsonify(asset_json(jobs.queue_analysis(follow_up)))


@bp.post("/assets/<aid>/cancel")
def cancel_upload(aid: str) -> Response:
    uploads.cancel(get_table(), get_storage(), current_creator().id, aid)
    return jsonify(cancelled=True)
