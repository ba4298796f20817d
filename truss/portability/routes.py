"""The "Your data" page: start an export and download it, upload an archive to import."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_htmx.responses import HTMXResponseClientRedirect, HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss.auth.session import current_creator
from truss.data import exports
from truss.data.table import Conflict
from truss.errors import render_error
from truss.extensions import get_storage, get_table, htmx, limiter
from truss.portability import jobs
from truss.portability.importer import fail_import

log = logging.getLogger(__name__)
bp = Blueprint("portability", __name__)
MAX_ARCHIVE_BYTES = 5 * 1024**3  # S3's limit for one browser POST; bigger: `truss import`
DOWNLOAD_EXPIRES_S = 900
ARCHIVE_TYPES = {"application/zip", "application/x-zip-compressed", ""}
NOT_ARRIVED = "The archive didn't arrive in storage. Upload it again."
NOT_QUEUED = "The import couldn't be queued. Upload the archive again in a minute."
EXPORT_NOT_READY = {
    exports.FAILED: ("This export failed", "Start a new export on the Your data page."),
}
EXPORT_WORKING = (
    "This export is not ready yet",
    "It is still being written: the Your data page shows its progress and a Download button "
    "once it is ready.",
)


def own_export(eid: str) -> exports.Export:
    """The signed-in creator's export (NotFound → 404 for anyone else's or an expired one)."""
    return exports.get_export(get_table(), current_creator().id, eid)


def own_import(iid: str) -> exports.Import:
    return exports.get_import(get_table(), current_creator().id, iid)


@bp.get("/account/data")
def page() -> str:
    table, cid = get_table(), current_creator().id
    return render_template(
        "portability/page.html",
        exports=exports.list_exports(table, cid),
        imports=exports.list_imports(table, cid),
        max_gb=MAX_ARCHIVE_BYTES // 1024**3,
    )


@bp.post("/account/data/exports")
@limiter.limit("10 per hour")
def start_export() -> BaseResponse:
    cid = current_creator().id
    export = exports.create_export(get_table(), cid, request.form.get("sources") == "on")
    try:
        jobs.enqueue_export(cid, export.id)
    except Exception:  # Redis down: say so on the page instead of a spinner forever
        exports.update_export(
            get_table(), cid, export.id, status=exports.FAILED,
            error="The export couldn't be queued. Try again in a minute.",
        )  # fmt: skip
    target = url_for("portability.page")
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)


@bp.get("/account/data/exports/<eid>/status")
def export_status(eid: str) -> Response | str:
    """One export's progress, polled every 2 s while it works (one GetItem)."""
    export = own_export(eid)
    html = render_template("portability/_export.html", export=export)
    return html if export.working else HTMXResponseStopPolling(html)


@bp.get("/account/data/exports/<eid>/download")
def download(eid: str) -> BaseResponse:
    """A presigned link made when clicked, valid DOWNLOAD_EXPIRES_S."""
    export = own_export(eid)
    if export.status != exports.READY:
        title, hint = EXPORT_NOT_READY.get(export.status, EXPORT_WORKING)
        return make_response(render_error(409, hint, title))
    name = f"truss-export-{export.created_at[:10]}.zip"
    url = get_storage().presigned_get(export.archive_key, DOWNLOAD_EXPIRES_S, filename=name)
    return redirect(url)


@bp.post("/account/data/imports")
@limiter.limit("20 per hour")
def start_import() -> tuple[Response, int] | Response:
    """JSON for static/js/direct_upload.js: an import waiting for its archive and a presigned
    POST for exactly its key, size and type."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="The import request wasn't understood: reload the page."), 400
    size = body.get("size")
    content_type = str(body.get("content_type", ""))
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_ARCHIVE_BYTES:
        limit = MAX_ARCHIVE_BYTES // 1024**3
        return jsonify(
            error=f"Choose a Truss export (.zip) up to {limit} GB; bigger ones: ask the "
            "operator to run `truss import`."
        ), 400
    if content_type not in ARCHIVE_TYPES:
        return jsonify(error="Choose the .zip file a Truss export gave you."), 400
    imp = exports.create_import(get_table(), current_creator().id, size)
    post = get_storage().presigned_post(imp.archive_key, size, "application/zip", expiring=True)
    return jsonify(
        post=post,
        content_type="application/zip",
        confirm=url_for("portability.confirm_import", iid=imp.id),
        page=url_for("portability.page"),
    )


@bp.post("/account/data/imports/<iid>/uploaded")
def confirm_import(iid: str) -> tuple[Response, int] | Response:
    """The browser says the archive is in S3: check it is there, then queue the import."""
    imp, cid = own_import(iid), current_creator().id
    page_url = url_for("portability.page")
    if imp.status != exports.UPLOADING:
        return jsonify(page=page_url)
    info = get_storage().head(imp.archive_key)
    if info is None or info.size != imp.size:
        fail_import(get_table(), get_storage(), cid, iid, NOT_ARRIVED)
        return jsonify(error=NOT_ARRIVED, page=page_url), 400
    try:
        exports.update_import(
            get_table(), cid, iid, expect=exports.UPLOADING, status=exports.QUEUED,
            archive_etag=info.etag,
        )  # fmt: skip
    except Conflict:  # a second click confirmed it first: that one queued the import
        return jsonify(page=page_url)
    try:
        jobs.enqueue_import(cid, iid)
    except Exception:  # Redis down: say so instead of a row that says "Checking…" forever
        log.exception("import %s could not be queued", iid)
        fail_import(get_table(), get_storage(), cid, iid, NOT_QUEUED)
        return jsonify(error=NOT_QUEUED, page=page_url), 503
    return jsonify(page=page_url)


@bp.get("/account/data/imports/<iid>/status")
def import_status(iid: str) -> Response | str:
    imp = own_import(iid)
    html = render_template("portability/_import.html", imp=imp)
    return html if imp.working else HTMXResponseStopPolling(html)
