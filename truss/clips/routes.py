"""The clips page (filters, search, sort, "Load more"), the clip page, download, delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_htmx.responses import HTMXResponseClientRedirect
from werkzeug.wrappers import Response as BaseResponse

from truss.clips import bp
from truss.clips.helpers import (
    DOWNLOAD_URL_EXPIRES_S,
    asset_titles,
    collaborators,
    media_url,
    own_clip,
    source_asset,
    template_helpers,
)
from truss.data import assets, keys
from truss.data.clip_queries import (
    SORTS,
    SOURCE_FILTERS,
    STATUS_FILTERS,
    ClipFilters,
    fill_page,
    search_words,
)
from truss.data.clips import Clip
from truss.data.table import NotFound
from truss.errors import render_error
from truss.extensions import htmx
from truss.services import clips as service

PAGE_SIZE = 24
VIDEO_CHOICES = 100


@bp.errorhandler(NotFound)
def not_found(exc: NotFound) -> tuple[str, int]:
    return render_error(404, "That clip or video doesn't exist any more, or it isn't yours.")


@bp.context_processor
def helpers() -> dict[str, Any]:
    return template_helpers()


def filters_from_request() -> ClipFilters:
    """The filter form's values; a hand-made URL with nonsense in it gets a 400."""
    args = request.args
    sort, status = args.get("sort") or "newest", args.get("status", "")
    source = args.get("source", "")
    if sort not in SORTS or (status and status not in STATUS_FILTERS):
        abort(400)
    if source and source not in SOURCE_FILTERS:
        abort(400)
    min_score = None
    if args.get("min_score"):
        try:
            min_score = int(args["min_score"])
        except ValueError:
            abort(400)
        if not 0 <= min_score <= 100:
            abort(400)
    words = search_words(args.get("q", "")[:200])
    video = args.get("video", "")
    if video and not keys.is_id(video):
        abort(400)  # not a video id (and never a key part)
    return ClipFilters(video, min_score, status, words, sort, source)


def filter_args(filters: ClipFilters) -> dict[str, Any]:
    """The filters as URL parameters, for "Load more"."""
    return {
        "video": filters.asset_id or None,
        "min_score": filters.min_score,
        "status": filters.status or None,
        "q": " ".join(filters.words) or None,
        "sort": filters.sort,
        "source": filters.source or None,
    }


@bp.get("/clips")
def index() -> str:
    table, _, cid = collaborators()
    filters = filters_from_request()
    cursor = request.args.get("cursor") or None
    page = fill_page(table, cid, filters, cursor, PAGE_SIZE)
    context = {
        "clips": page.clips,
        "next_cursor": page.cursor,
        "filters": filters,
        "more_args": filter_args(filters),
        "titles": asset_titles(table, cid, (clip.asset_id for clip in page.clips)),
    }
    if htmx and cursor:
        return render_template("clips/_cards.html", **context)
    videos, _ = assets.page(table, cid, limit=VIDEO_CHOICES)
    return render_template(
        "clips/index.html", videos=videos, sorts=SORTS, statuses=STATUS_FILTERS,
        sources=SOURCE_FILTERS, **context,
    )  # fmt: skip


def detail_context(clip: Clip) -> dict[str, Any]:
    """Everything the clip page shows (used again when a form comes back with errors)."""
    table, storage, _ = collaborators()
    asset = source_asset(table, clip)
    return {
        "clip": clip,
        "asset": asset,
        "source_url": media_url(storage, asset.source_key) if asset else "",
    }


@bp.get("/clips/<clid>")
def detail(clid: str) -> str:
    _, _, clip = own_clip(clid)
    return render_template("clips/detail.html", **detail_context(clip))


@bp.get("/clips/<clid>/download")
def download(clid: str) -> BaseResponse:
    """A short-lived presigned GET that saves the file under a name made from the title."""
    _, storage, clip = own_clip(clid)
    if not clip.video_key:
        flash("This clip has no file yet. Wait until it has rendered, then download it.", "error")
        return redirect(url_for("clips.detail", clid=clid))
    name = service.download_name(clip)
    return redirect(storage.presigned_get(clip.video_key, DOWNLOAD_URL_EXPIRES_S, name))


@bp.post("/clips/<clid>/delete")
def delete(clid: str) -> BaseResponse:
    table, storage, clip = own_clip(clid)
    service.delete_clip(table, storage, clip)
    flash(f"Deleted the clip “{clip.title}”.", "info")
    target = url_for("clips.index")
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)
