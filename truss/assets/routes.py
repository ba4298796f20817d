"""Pages: the upload page, the library (with htmx "Load more"), the asset page."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_htmx.responses import HTMXResponseClientRedirect, HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss import jobs
from truss.analysis.factory import gemini_file_deleter
from truss.assets import bp
from truss.assets.helpers import (
    PLAYBACK_URL_EXPIRES_S,
    is_stuck,
    limits,
    own_asset,
    template_helpers,
    thumbnail_url,
)
from truss.auth.session import current_creator
from truss.cost_controls import counts, quotas, reanalysis_limit
from truss.data import assets, clips
from truss.data.table import Throttled
from truss.extensions import get_storage, get_table, htmx
from truss.polling import ASSET, own_or_gone, poll_ref, poll_token, read_refs
from truss.services import analysis, uploads
from truss.services.chapters import load_chapters
from truss.services.quotas import QuotaExceeded

PAGE_SIZE = 25
MAX_POLLED = 250  # working rows one library poll reads (ten pages; a BatchGetItem per 100)
TERMINAL = {assets.READY, assets.FAILED, "abandoned"}


@bp.context_processor
def helpers() -> dict[str, Any]:
    return {
        **template_helpers(),
        "thumbnail_url": lambda asset: thumbnail_url(get_storage(), asset),
        "terminal_statuses": TERMINAL,
        "poll_token": lambda asset: poll_token(asset.creator_id, ASSET, asset.id),
        "poll_ref": lambda asset: poll_ref(asset.creator_id, ASSET, asset.id),
        "link_title": request.args.get("link") != "0",
    }


@bp.get("/upload")
def upload() -> str:
    config = limits()
    return render_template(
        "assets/upload.html",
        limits=config,
        max_size=uploads.human_size(config.max_bytes),
        video_types=uploads.VIDEO_TYPES,
    )


def status_filter() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in assets.STATUSES:
        abort(400)
    return status


@bp.get("/assets")
def library() -> str:
    table, cid = get_table(), current_creator().id
    status = status_filter()
    cursor = request.args.get("cursor") or None
    items, next_cursor = assets.page(table, cid, cursor, PAGE_SIZE, status)
    working = any(asset.display_status not in TERMINAL for asset in items)
    context = {"assets": items, "next_cursor": next_cursor, "status": status, "polling": working}
    if htmx and cursor:
        return render_template("assets/_rows.html", more=True, **context)
    return render_template("assets/library.html", statuses=assets.STATUSES, **context)


@bp.get("/assets/<aid>")
def detail(aid: str) -> str:
    table, storage, asset = get_table(), get_storage(), own_asset(aid)
    # a failed analysis keeps its source: only a failed upload has nothing to play
    playable = asset.status != assets.UPLOADING and asset.failed_from != assets.UPLOADING
    video_url = storage.presigned_get(asset.source_key, PLAYBACK_URL_EXPIRES_S) if playable else ""
    return render_template(
        "assets/detail.html",
        asset=asset,
        video_url=video_url,
        chapters=load_chapters(table, storage, asset.creator_id, aid),
        clips=clips.for_asset(table, asset.creator_id, aid),
    )


@bp.post("/assets/working")
def working() -> Response | str:
    """The library's one poll (a POST: a GET's URL can't carry hundreds of rows past gunicorn's
    4 KiB request line): the statuses of the rows it lists as working (`id`, a signed ref), read
    by BatchGetItem and swapped out of band, a "deleted" note for rows deleted meanwhile; 286
    once none of them is working."""
    cid = current_creator().id
    ids, shown = read_refs(request.form.getlist("id")[:MAX_POLLED], cid, ASSET)
    try:
        found = assets.get_many(get_table(), cid, ids)
    except Throttled:
        return ""  # DynamoDB is busy: nothing changes on the page, the next poll asks again
    deleted = [aid for aid in dict.fromkeys(ids) if aid in shown and aid not in found]
    html = render_template("assets/_working.html", assets=list(found.values()), deleted=deleted)
    if any(asset.display_status not in TERMINAL for asset in found.values()):
        return html
    return HTMXResponseStopPolling(html)


@bp.get("/assets/<aid>/status")
def status(aid: str) -> Response | str:
    asset = own_or_gone(own_asset, ASSET, aid, "assets/_status_gone.html")
    on_detail = request.args.get("page") == "detail"
    html = render_template("assets/_status.html", asset=asset, status_page=request.args.get("page"))
    if asset.display_status not in TERMINAL:
        return html
    response = HTMXResponseStopPolling(html)
    if on_detail and asset.status == assets.READY:
        response.headers["HX-Refresh"] = "true"  # show the chapters and clips that just arrived
    return response


@bp.post("/assets/<aid>/retry")
@reanalysis_limit
def retry(aid: str) -> BaseResponse:
    asset = own_asset(aid)
    try:
        follow_up = analysis.run_again(get_table(), asset, stuck=is_stuck(asset), quota=quotas())
        jobs.queue_analysis(follow_up)
    except (analysis.CannotRetry, QuotaExceeded) as exc:
        flash(str(exc), "error")
    else:
        counts()  # only an analysis queued uses up the allowance
        flash("The analysis will run again. This page shows its progress.", "info")
    target = url_for("assets.detail", aid=aid)
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)


@bp.get("/assets/<aid>/title")
def title(aid: str) -> str:
    asset = own_asset(aid)
    template = "assets/_title_form.html" if request.args.get("edit") else "assets/_title.html"
    return render_template(template, asset=asset)


@bp.post("/assets/<aid>/title")
def rename(aid: str) -> BaseResponse | str:
    try:
        asset = assets.rename(get_table(), current_creator().id, aid, request.form.get("title", ""))
    except ValueError as exc:
        asset = own_asset(aid)
        return render_template("assets/_title_form.html", asset=asset, error=str(exc))
    if htmx:
        return render_template("assets/_title.html", asset=asset)
    return redirect(url_for("assets.detail", aid=aid))


@bp.post("/assets/<aid>/delete")
def delete(aid: str) -> BaseResponse:
    asset = own_asset(aid)
    deleter = gemini_file_deleter(current_app.config) or uploads.keep_remote_file
    uploads.delete_asset(
        get_table(), get_storage(), asset.creator_id, aid, deleter, current_app.config["MAX_CLIPS"]
    )
    flash(f"Deleted “{asset.title}” and everything made from it.", "info")
    target = url_for("assets.library")
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)
