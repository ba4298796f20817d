"""The owner's side of share links: create one, stop sharing (both htmx fragments)."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from truss.clips import bp
from truss.clips.helpers import own_clip
from truss.data import clips
from truss.data.clips import Clip
from truss.data.table import NotFound
from truss.extensions import htmx
from truss.services import clips as service


def share_fragment(clip: Clip) -> BaseResponse | str:
    if htmx:
        return render_template("clips/_share.html", clip=clip)
    return redirect(url_for("clips.detail", clid=clip.id))


@bp.post("/clips/<clid>/share")
def share(clid: str) -> BaseResponse | str:
    table, _, clip = own_clip(clid)
    try:
        service.start_sharing(table, clip)
    except NotFound:  # deleted meanwhile (in another tab)
        abort(404)
    return share_fragment(clips.get(table, clip.creator_id, clip.id))


@bp.post("/clips/<clid>/share/revoke")
def revoke_share(clid: str) -> BaseResponse | str:
    table, _, clip = own_clip(clid)
    service.stop_sharing(table, clip)
    return share_fragment(clips.get(table, clip.creator_id, clip.id))
