"""JSON endpoints for static/js/upload.js: sign, resume, complete, confirm, cancel."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, jsonify, request, url_for

from truss.assets import bp
from truss.assets.helpers import collaborators, limits, on_uploaded_hook
from truss.cost_controls import quotas
from truss.data.assets import Asset
from truss.data.table import Conflict, NotFound
from truss.extensions import limiter
from truss.services import uploads
from truss.services.quotas import QuotaExceeded

F = TypeVar("F", bound=Callable[..., Any])
NOT_FOUND = "We couldn't find that upload. Reload the page and choose the file again."
CONFLICT = "This video changed while you were working on it. Reload the page."


def json_errors(view: F) -> F:
    """Turn the service's refusals into JSON with a message the page can show."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except uploads.UploadError as exc:
            return jsonify(error=str(exc)), 400
        except QuotaExceeded as exc:
            return jsonify(error=str(exc)), 403
        except NotFound:
            return jsonify(error=NOT_FOUND), 404
        except Conflict:
            return jsonify(error=CONFLICT), 409

    return wrapper  # type: ignore[return-value]


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
@json_errors
def start_upload() -> tuple[Response, int]:
    data = body()
    table, storage, cid = collaborators()
    plan = uploads.start_upload(
        table,
        storage,
        cid,
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
@json_errors
def upload_state(aid: str) -> Response:
    table, storage, cid = collaborators()
    upload_id = request.args.get("upload_id", "")
    return jsonify(uploads.uploaded_parts(table, storage, cid, aid, upload_id))


@bp.post("/assets/<aid>/parts")
@limiter.limit("600 per minute")
@json_errors
def part_urls(aid: str) -> Response:
    data = body()
    numbers = data.get("parts")
    if not isinstance(numbers, list):
        raise uploads.UploadError("parts must be a list of part numbers.")
    table, storage, cid = collaborators()
    urls = uploads.part_urls(
        table,
        storage,
        cid,
        aid,
        str(data.get("upload_id", "")),
        [whole_number(n, "A part number") for n in numbers],
        limits(),
    )
    return jsonify(urls={str(n): url for n, url in urls.items()})


@bp.post("/assets/<aid>/complete")
@json_errors
def complete_upload(aid: str) -> Response:
    table, storage, cid = collaborators()
    upload_id = str(body().get("upload_id", ""))
    asset = uploads.complete_multipart(
        table, storage, cid, aid, upload_id, limits(), on_uploaded_hook(), quota=quotas()
    )
    return jsonify(asset_json(asset))


@bp.post("/assets/<aid>/confirm")
@json_errors
def confirm_upload(aid: str) -> Response:
    table, storage, cid = collaborators()
    asset = uploads.confirm(table, storage, cid, aid, limits(), on_uploaded_hook(), quota=quotas())
    return jsonify(asset_json(asset))


@bp.post("/assets/<aid>/cancel")
@json_errors
def cancel_upload(aid: str) -> Response:
    table, storage, cid = collaborators()
    uploads.cancel(table, storage, cid, aid)
    return jsonify(cancelled=True)
