"""The signed-in clip views: the clips page (filters, search, sort, "Load more"), the clip
page and its actions: edit a field, trim and re-render, the render status poll, download,
share, delete, and a clip of one's own from the asset page."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_htmx.responses import HTMXResponseClientRedirect, HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss import jobs
from truss.analytics import metrics, recording
from truss.assets.helpers import own_asset
from truss.auth.session import current_creator
from truss.clips import bp
from truss.clips.helpers import (
    DOWNLOAD_URL_EXPIRES_S,
    FIELD_LABELS,
    asset_titles,
    media_url,
    own_clip,
    source_asset,
    template_helpers,
    trim_limits,
)
from truss.cost_controls import counts, own_clip_limit, render_room, trim_limit
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
from truss.extensions import get_storage, get_table, htmx
from truss.polling import CLIP, own_or_gone
from truss.services import clips as service

PAGE_SIZE = 24
VIDEO_CHOICES = 100


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
    table, cid = get_table(), current_creator().id
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
    asset = source_asset(get_table(), clip)
    return {
        "clip": clip,
        "asset": asset,
        "source_url": media_url(get_storage(), asset.source_key) if asset else "",
    }


@bp.get("/clips/<clid>")
def detail(clid: str) -> str:
    return render_template("clips/detail.html", **detail_context(own_clip(clid)))


@bp.get("/clips/<clid>/download")
def download(clid: str) -> BaseResponse:
    """A short-lived presigned GET that saves the file under a name made from the title."""
    clip = own_clip(clid)
    if not clip.video_key:
        flash("This clip has no file yet. Wait until it has rendered, then download it.", "error")
        return redirect(url_for("clips.detail", clid=clid))
    name = service.download_name(clip)
    served = {
        metrics.DOWNLOADS: 1,
        metrics.S3_GET_REQUESTS: 1,
        metrics.S3_BYTES_OUT: clip.stored_bytes,
    }
    recording.note(clip.creator_id, served)
    return redirect(get_storage().presigned_get(clip.video_key, DOWNLOAD_URL_EXPIRES_S, name))


@bp.post("/clips/<clid>/delete")
def delete(clid: str) -> BaseResponse:
    clip = own_clip(clid)
    service.delete_clip(get_table(), get_storage(), clip)
    flash(f"Deleted the clip “{clip.title}”.", "info")
    target = url_for("clips.index")
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)


# -- editable fields (title, hook, hashtags, transcript): one fragment each ---------------


def field_name(name: str) -> str:
    if name not in FIELD_LABELS:
        abort(404)
    return name


def render_field(
    clip: Clip, name: str, editing: bool, error: str = "", value: str = "", oob: bool = False
) -> str:
    """The field's fragment; after a save, `oob` also refreshes the page heading."""
    template = "clips/_field_form.html" if editing else "clips/_field.html"
    return render_template(template, clip=clip, name=name, error=error, value=value, oob=oob)


@bp.get("/clips/<clid>/fields/<name>")
def field(clid: str, name: str) -> str:
    """The field as shown, or (with ?edit=1) its form."""
    clip = own_clip(clid)
    return render_field(clip, field_name(name), editing=bool(request.args.get("edit")))


@bp.post("/clips/<clid>/fields/<name>")
def save_field(clid: str, name: str) -> BaseResponse | str:
    clip = own_clip(clid)
    name = field_name(name)
    text = request.form.get("value", "")
    try:
        clip = service.edit_field(get_table(), clip.creator_id, clip.id, name, text)
    except service.FieldError as exc:
        return render_field(clip, name, editing=True, error=str(exc), value=text)
    if htmx:
        return render_field(clip, name, editing=False, oob=True)
    return redirect(url_for("clips.detail", clid=clid))


# -- rendering: trim and re-render, the status poll, a clip of one's own -------------------


@bp.post("/clips/<clid>/trim")
@trim_limit
def trim(clid: str) -> BaseResponse | str | tuple[str, int]:
    """Validate, go back to pending, enqueue; the form comes back with the status poll."""
    clip = own_clip(clid)
    start, end = request.form.get("start", ""), request.form.get("end", "")
    layout, captions = request.form.get("layout"), request.form.get("caption_style")
    context = detail_context(clip)
    asset = context["asset"]
    try:
        if asset is None:
            raise service.TrimError({"start": "The source video was deleted: it can't be trimmed."})
        render_room()
        clip = jobs.queue_render(
            service.trim(get_table(), clip, asset, start, end, trim_limits(), layout, captions)
        )
        counts()  # a refused trim doesn't use up the allowance
    except service.TrimError as exc:
        form: dict[str, Any] = {"errors": exc.errors, "start": start, "end": end}
        form |= {"layout": layout, "caption_style": captions}
        if htmx:
            return render_template("clips/_trim_form.html", **context, form=form)
        return render_template("clips/detail.html", **context, form=form), 400
    if not htmx:
        return redirect(url_for("clips.detail", clid=clid))
    return render_template("clips/_trim_response.html", **{**context, "clip": clip})


@bp.get("/clips/<clid>/status")
def status(clid: str) -> BaseResponse | str:
    """Polled every 2 s while rendering; at ready/failed, stop and swap in the player."""
    clip = own_or_gone(own_clip, CLIP, clid, "clips/_status_gone.html")
    html = render_template("clips/_status.html", clip=clip, swap_player=not clip.working)
    return html if clip.working else HTMXResponseStopPolling(html)


@bp.post("/assets/<aid>/clips")
@own_clip_limit
def create(aid: str) -> BaseResponse | str:
    """A clip the creator picked on the asset page; errors come back in the form."""
    asset = own_asset(aid)
    start, end = request.form.get("start", ""), request.form.get("end", "")
    title = request.form.get("title", "")
    try:
        render_room()
        pending = service.add_own_clip(get_table(), asset, start, end, title, trim_limits())
        clip = jobs.queue_render(pending)
        counts()  # a refused clip doesn't use up the allowance
        recording.note(clip.creator_id, {metrics.qualified(metrics.CLIPS_MADE, clip.source): 1})
    except service.TrimError as exc:
        form = {"errors": exc.errors, "start": start, "end": end, "title": title}
        if htmx:
            return render_template("clips/_new_clip_form.html", asset=asset, form=form)
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("assets.detail", aid=aid))
    target = url_for("clips.detail", clid=clip.id)
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)


# -- the owner's side of share links (htmx fragments) -------------------------------------


def share_fragment(clip: Clip) -> BaseResponse | str:
    if htmx:
        return render_template("clips/_share.html", clip=clip)
    return redirect(url_for("clips.detail", clid=clip.id))


@bp.post("/clips/<clid>/share")
def share(clid: str) -> BaseResponse | str:
    clip = own_clip(clid)
    service.start_sharing(get_table(), clip)  # NotFound (deleted in another tab) → 404
    return share_fragment(own_clip(clid))


@bp.post("/clips/<clid>/share/revoke")
def revoke_share(clid: str) -> BaseResponse | str:
    clip = own_clip(clid)
    service.stop_sharing(get_table(), clip)
    return share_fragment(own_clip(clid))
