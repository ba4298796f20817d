"""Editable fields of a clip (title, hook, hashtags, transcript): one fragment each."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from truss.clips import bp
from truss.clips.helpers import FIELD_LABELS, own_clip
from truss.data.clips import Clip
from truss.extensions import htmx
from truss.services import clips as service


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
    _, _, clip = own_clip(clid)
    return render_field(clip, field_name(name), editing=bool(request.args.get("edit")))


@bp.post("/clips/<clid>/fields/<name>")
def save_field(clid: str, name: str) -> BaseResponse | str:
    table, _, clip = own_clip(clid)
    name = field_name(name)
    text = request.form.get("value", "")
    try:
        clip = service.edit_field(table, clip.creator_id, clip.id, name, text)
    except service.FieldError as exc:
        return render_field(clip, name, editing=True, error=str(exc), value=text)
    if htmx:
        return render_field(clip, name, editing=False, oob=True)
    return redirect(url_for("clips.detail", clid=clid))
