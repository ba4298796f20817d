"""The clip page's captions section (blueprint "captions"): the transcript, the form that
corrects its words, the subtitle-file upload, and the SRT/WebVTT downloads. Every route
reads the clip through `own_clip`: another creator's clip is a 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from truss.captions import exports, fonts, store, transcripts
from truss.captions.model import Transcript, TranscriptError, correct
from truss.clips.helpers import own_clip
from truss.data.clips import Clip
from truss.extensions import get_storage, get_table, htmx
from truss.services.clips import clock

bp = Blueprint("captions", __name__)


def section_context(clip: Clip, transcript: Transcript | None) -> dict[str, Any]:
    words = transcript.within(clip.start, clip.end) if transcript else ()
    text = " ".join(w.text for w in words)
    return {
        "clip": clip,
        "transcript": transcript,
        "words": exports.on_clip(words, clip.start),
        "text": text,
        "missing_scripts": fonts.missing_scripts(text),
        "clock": clock,
    }


def section(clip: Clip, error: str = "", typed: str | None = None) -> Any:
    """The section (htmx: swapped in, errors included), or back to the clip page with the
    outcome flashed."""
    transcript = store.load(get_storage(), clip)
    if htmx:
        html = render_template(
            "captions/_section.html", **section_context(clip, transcript), error=error,
            typed=typed,
        )  # fmt: skip
        return html
    if error:
        flash(error, "error")
    return redirect(url_for("clips.detail", clid=clip.id) + "#captions-heading")


@bp.get("/clips/<clid>/captions")
def show(clid: str) -> Any:
    clip = own_clip(clid)
    transcript = store.load(get_storage(), clip)
    return render_template(
        "captions/_section.html", **section_context(clip, transcript), error="", typed=None
    )


@bp.post("/clips/<clid>/captions/words")
def save_words(clid: str) -> Any:
    """Corrected words replace the recognised ones; the timings stay."""
    clip = own_clip(clid)
    typed = request.form.get("words", "")[:100_000]
    transcript = store.load(get_storage(), clip)
    try:
        if transcript is None:
            raise TranscriptError("This clip has no timed words yet. Upload a subtitle file.")
        store.save(
            get_table(), get_storage(), clip, correct(transcript, typed, clip.start, clip.end)
        )
    except TranscriptError as exc:
        return section(clip, str(exc), typed)
    if not htmx:
        flash("Saved the words. Re-render the clip to burn them in.", "info")
    return section(clip)


@bp.post("/clips/<clid>/captions/file")
def upload(clid: str) -> Any:
    """An SRT or WebVTT file replaces the transcript (refused, with the line, if broken)."""
    clip = own_clip(clid)
    sent = request.files.get("subtitles")
    try:
        if sent is None or not sent.filename:
            raise TranscriptError("Choose an SRT or WebVTT file to upload.")
        cues = transcripts.parse(sent.stream.read(transcripts.MAX_BYTES + 1), sent.filename)
        transcript = transcripts.from_cues(cues, clip.start, clip.duration)
        store.save(get_table(), get_storage(), clip, transcript)
    except TranscriptError as exc:
        return section(clip, str(exc))
    if not htmx:
        flash("Your subtitle file is now the clip's transcript. Re-render to burn it in.", "info")
    return section(clip)


@bp.get("/clips/<clid>/captions.<fmt>")
def download(clid: str, fmt: str) -> BaseResponse:
    """The clip's captions as an SRT or WebVTT file, on the clip's timeline."""
    clip = own_clip(clid)
    if fmt not in exports.FORMATS:
        return Response("Captions come as .srt or .vtt.", status=404, mimetype="text/plain")
    transcript = store.load(get_storage(), clip)
    if transcript is None:
        flash("This clip has no transcript yet, so there are no captions to download.", "error")
        return redirect(url_for("clips.detail", clid=clid))
    words = exports.on_clip(transcript.within(clip.start, clip.end), clip.start)
    body = exports.export(words, fmt)
    name = f"clip-{clip.id.lower()}.{fmt}"
    return Response(
        body,
        mimetype=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
