"""The clip page's preview of a layout: one still of the clip in the chosen layout, made
from the source video before anything is re-rendered (an htmx fragment holding the image,
and the JPEG itself). The web process runs one short ffmpeg pass for it: only a couple of
seconds of the clip are analysed, and the route is rate-limited per creator."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Response, abort, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from truss import media
from truss.clips import bp
from truss.clips.helpers import own_clip, source_asset
from truss.cost_controls import creator_key, refusal
from truss.extensions import get_storage, get_table, limiter
from truss.ffmpeg import MediaError
from truss.range_source import SourceUnavailable, serve_object
from truss.reframe import layouts
from truss.reframe.render import preview_still
from truss.services.clips import parse_time

PREVIEW_LIMIT = "30 per minute"
PREVIEW_SIZE = (360, 640)
STORAGE_DOWN = "Storage didn't answer while the preview was being made. Try again in a minute."
preview_limit = limiter.limit(
    PREVIEW_LIMIT, key_func=creator_key, scope="layout-previews",
    error_message=refusal("asked for layout previews"),
)  # fmt: skip


def preview_time(start_text: str | None, clip_start: float, clip_end: float) -> float:
    """A second into the clip (or into the start typed in the form, if it is a time)."""
    start = parse_time(start_text or "")
    start = clip_start if start is None else start
    return round(min(start + 1.0, (start + clip_end) / 2 if clip_end > start else start), 3)


@bp.get("/clips/<clid>/preview")
def preview(clid: str) -> str:
    """The preview fragment: the still's <img>, or why there is none."""
    clip = own_clip(clid)
    layout = request.args.get("layout", clip.layout)
    if not layouts.is_layout(layout):
        return render_template("clips/_preview.html", clip=clip, error="Pick a layout first.")
    at = preview_time(request.args.get("start"), clip.start, clip.end)
    return render_template("clips/_preview.html", clip=clip, layout=layout, at=at)


@bp.get("/clips/<clid>/preview.jpg")
@preview_limit
def preview_image(clid: str) -> BaseResponse:
    clip = own_clip(clid)
    asset = source_asset(get_table(), clip)
    layout = request.args.get("layout", "")
    at = parse_time(request.args.get("at", ""))
    if asset is None or not asset.source_key:
        abort(404)
    if not layouts.is_layout(layout) or at is None:
        abort(400)
    with tempfile.TemporaryDirectory(prefix="truss-preview-") as tmp:
        try:
            with serve_object(get_storage(), asset.source_key) as served:
                probe = media.probe(served.source, duration=asset.duration_s)
                still = Path(tmp) / "preview.jpg"
                preview_still(
                    layout, served.source, probe, at, (clip.start, clip.end), still, Path(tmp),
                    PREVIEW_SIZE,
                )  # fmt: skip
                body = still.read_bytes()
        except MediaError as exc:  # the source is gone or unreadable there: say why
            return Response(str(exc), status=422, mimetype="text/plain")
        except SourceUnavailable:
            return Response(STORAGE_DOWN, status=503, mimetype="text/plain")
    response = Response(body, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
