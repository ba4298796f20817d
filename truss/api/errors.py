"""The API's refusals as JSON with a message the page can show (the app's other errors are
pages; see truss/errors.py)."""

from __future__ import annotations

from flask import Response, jsonify

from truss.api import bp
from truss.data.table import Conflict, NotFound
from truss.services.quotas import QuotaExceeded
from truss.services.uploads import UploadError

NOT_FOUND = "We couldn't find that upload. Reload the page and choose the file again."
CONFLICT = "This video changed while you were working on it. Reload the page."


def error_response(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


@bp.errorhandler(UploadError)
def bad_request(exc: UploadError) -> tuple[Response, int]:
    return error_response(str(exc), 400)


@bp.errorhandler(QuotaExceeded)
def over_quota(exc: QuotaExceeded) -> tuple[Response, int]:
    return error_response(str(exc), 403)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> tuple[Response, int]:
    return error_response(NOT_FOUND, 404)


@bp.errorhandler(Conflict)
def conflict(exc: Conflict) -> tuple[Response, int]:
    return error_response(CONFLICT, 409)
