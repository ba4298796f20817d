"""Trim and re-render, the render status poll, and a clip of one's own from the asset page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_htmx.responses import HTMXResponseClientRedirect, HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss.clips import bp
from truss.clips.helpers import collaborators, enqueue_render, own_clip, trim_limits
from truss.clips.routes import detail_context
from truss.cost_controls import counts, own_clip_limit, render_room, trim_limit
from truss.data import assets
from truss.data.table import NotFound
from truss.extensions import htmx
from truss.polling import CLIP, was_shown
from truss.services import clips as service


@bp.post("/clips/<clid>/trim")
@trim_limit
def trim(clid: str) -> BaseResponse | str | tuple[str, int]:
    """Validate, go back to pending, enqueue; the form comes back with the status poll."""
    table, _, clip = own_clip(clid)
    start, end = request.form.get("start", ""), request.form.get("end", "")
    context = detail_context(clip)
    asset = context["asset"]
    try:
        if asset is None:
            raise service.TrimError({"start": "The source video was deleted: it can't be trimmed."})
        render_room()
        clip = service.trim(table, clip, asset, start, end, enqueue_render(), trim_limits())
        counts()  # a refused trim doesn't use up the allowance
    except service.TrimError as exc:
        form = {"errors": exc.errors, "start": start, "end": end}
        if htmx:
            return render_template("clips/_trim_form.html", **context, form=form)
        return render_template("clips/detail.html", **context, form=form), 400
    if not htmx:
        return redirect(url_for("clips.detail", clid=clid))
    return render_template("clips/_trim_response.html", **{**context, "clip": clip})


@bp.get("/clips/<clid>/status")
def status(clid: str) -> BaseResponse | str:
    """Polled every 2 s while rendering; at ready/failed, stop and swap in the player."""
    _, _, cid = collaborators()
    try:
        _, _, clip = own_clip(clid)
    except NotFound:
        if not (htmx and was_shown(request.args.get("t", ""), cid, CLIP, clid)):
            raise  # never this creator's: 404 like every other route
        # Deleted in another tab: stop polling, say so.
        return HTMXResponseStopPolling(render_template("clips/_status_gone.html"))
    html = render_template("clips/_status.html", clip=clip, swap_player=not clip.working)
    return html if clip.working else HTMXResponseStopPolling(html)


@bp.post("/assets/<aid>/clips")
@own_clip_limit
def create(aid: str) -> BaseResponse | str:
    """A clip the creator picked on the asset page; errors come back in the form."""
    table, _, cid = collaborators()
    asset = assets.get(table, cid, aid)
    start, end = request.form.get("start", ""), request.form.get("end", "")
    title = request.form.get("title", "")
    try:
        render_room()
        clip = service.add_own_clip(
            table, asset, start, end, title, enqueue_render(), trim_limits()
        )
        counts()  # a refused clip doesn't use up the allowance
    except service.TrimError as exc:
        form = {"errors": exc.errors, "start": start, "end": end, "title": title}
        if htmx:
            return render_template("clips/_new_clip_form.html", asset=asset, form=form)
        for message in exc.errors.values():
            flash(message, "error")
        return redirect(url_for("assets.detail", aid=aid))
    target = url_for("clips.detail", clid=clip.id)
    return HTMXResponseClientRedirect(target) if htmx else redirect(target)
