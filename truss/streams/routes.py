"""The streams area: the list, the new-stream form, the stream page and its live fragment."""

from __future__ import annotations

import re
import time
from contextlib import suppress
from datetime import datetime
from types import ModuleType
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_htmx.responses import HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss.auth.session import current_creator
from truss.data import assets, keys, lexicon
from truss.data import streams as data
from truss.data.table import Conflict, NotFound, Table
from truss.extensions import get_redis, get_storage, get_table, htmx
from truss.polling import poll_token, was_shown
from truss.streams import chart, service
from truss.streams.jobs import enqueue_import
from truss.streams.service import MAX_IMPORT_BYTES

bp = Blueprint("streams", __name__)
PAGE_SIZE = 25
LINKABLE_ASSETS = 100  # the newest videos offered in the "link a video" select
POLL = "stream"
IMPORT_TYPES = {"application/json", "application/x-ndjson", "text/plain", ""}
MAX_LAG_S = 120.0
MAX_ARCHIVE_FILES = 1000
ARCHIVE_URL_EXPIRES_S = 900
TWITCH_CHANNEL = re.compile(r"[A-Za-z0-9_]{3,25}")
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
YOUTUBE_URL_ID = re.compile(r"(?:v=|youtu\.be/|/live/)([A-Za-z0-9_-]{11})")


def live_store() -> ModuleType:
    """S3's Redis side of live chat, imported when used (the area works without it)."""
    from truss.streams import live_store as module

    return module


def own_stream(sid: str) -> data.Stream:
    """The signed-in creator's stream (NotFound → 404 for anyone else's or a missing one)."""
    return data.get(get_table(), current_creator().id, sid)


@bp.get("/streams")
def index() -> str:
    cursor = request.args.get("cursor") or None
    items, next_cursor = data.page(get_table(), current_creator().id, cursor, PAGE_SIZE)
    if htmx and cursor:
        return render_template("streams/_rows.html", streams=items, next_cursor=next_cursor)
    return render_template("streams/index.html", streams=items, next_cursor=next_cursor)


@bp.get("/streams/lexicon")
def lexicon_page() -> str:
    table, cid = get_table(), current_creator().id
    return render_lexicon(lexicon.as_text(lexicon.get(table, cid)), lexicon.is_custom(table, cid))


def render_lexicon(text: str, custom: bool, problems: list[str] | None = None) -> str:
    return render_template(
        "streams/lexicon.html",
        text=text,
        custom=custom,
        problems=problems or [],
        max_terms=lexicon.MAX_TERMS,
        max_chars=lexicon.MAX_TERM_CHARS,
        max_weight=lexicon.MAX_WEIGHT,
    )


@bp.post("/streams/lexicon")
def save_lexicon() -> BaseResponse | tuple[str, int]:
    table, cid = get_table(), current_creator().id
    text = request.form.get("terms", "")[:50_000]
    try:
        terms = lexicon.parse(text)
    except lexicon.LexiconError as exc:
        return render_lexicon(text, lexicon.is_custom(table, cid), exc.problems), 400
    lexicon.save(table, cid, terms)
    flash(
        f"Your chat lexicon is saved ({len(terms)} terms). "
        "Streams you start and chat you import from now on use it.",
        "success",
    )
    return redirect(url_for("streams.lexicon_page"))


@bp.post("/streams/lexicon/reset")
def reset_lexicon() -> BaseResponse:
    lexicon.reset(get_table(), current_creator().id)
    flash("Your chat lexicon is back to the default one.", "success")
    return redirect(url_for("streams.lexicon_page"))


@bp.get("/streams/new")
def new() -> str:
    return render_template("streams/new.html", max_import=MAX_IMPORT_BYTES // 1024**2)


def channel_from(source: str, raw: str) -> str:
    """The Twitch channel or the YouTube video id, or ValueError saying what to type."""
    text = raw.strip()
    if source == "twitch":
        name = text.rstrip("/").rsplit("/", 1)[-1].lstrip("#@")
        if TWITCH_CHANNEL.fullmatch(name):
            return name.lower()
        raise ValueError(
            "Type the Twitch channel's name (3 to 25 letters, digits or _), e.g. yourchannel."
        )
    found = YOUTUBE_URL_ID.search(text)
    video_id = found.group(1) if found else text
    if YOUTUBE_ID.fullmatch(video_id):
        return video_id
    raise ValueError("Paste the YouTube live video's link or its 11-character video id.")


@bp.post("/streams")
def create() -> BaseResponse | tuple[str, int]:
    source = request.form.get("source", "")
    if source not in {"twitch", "youtube"}:
        abort(400)
    try:
        channel = channel_from(source, request.form.get("channel", ""))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("streams.new"))
    title = request.form.get("title", "")
    stream = data.create(get_table(), current_creator().id, source, channel, title)
    return redirect(url_for("streams.detail", sid=stream.id))


@bp.post("/streams/import")
def start_import() -> tuple[Response, int] | Response:
    """JSON for static/js/direct_upload.js: a stream `importing` and a presigned POST for its
    file."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="The import request wasn't understood: reload the page."), 400
    title = body.get("title") or ""
    if not isinstance(title, str):
        return jsonify(error="The stream's title must be text."), 400
    name = str(body.get("file_name", ""))[:200] or "chat.json"
    size = body.get("size")
    content_type = str(body.get("content_type", ""))
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_IMPORT_BYTES:
        limit = MAX_IMPORT_BYTES // 1024**2
        return jsonify(error=f"Choose a chat file between 1 byte and {limit} MB."), 400
    if content_type not in IMPORT_TYPES:
        return jsonify(error="Choose the .json chat file your exporter wrote."), 400
    cid = current_creator().id
    stream = data.create(get_table(), cid, "import", name, title or name)
    key = service.import_key(cid, stream.id)
    post = get_storage().presigned_post(key, size, content_type or "application/json")
    return jsonify(
        post=post,
        content_type=content_type or "application/json",
        confirm=url_for("streams.confirm_import", sid=stream.id),
        page=url_for("streams.detail", sid=stream.id),
    )


@bp.post("/streams/<sid>/imported")
def confirm_import(sid: str) -> tuple[Response, int] | Response:
    """The browser says the file is in S3: the service checks it there, this queues the
    import it decided on."""
    confirmed = service.confirm_import(get_table(), get_storage(), own_stream(sid))
    enqueue_import(confirmed.to_queue)
    page = url_for("streams.detail", sid=sid)
    if confirmed.error:
        return jsonify(error=confirmed.error, page=page), 400
    return jsonify(page=page)


@bp.get("/streams/<sid>")
def detail(sid: str) -> str:
    table, stream = get_table(), own_stream(sid)
    cid = stream.creator_id
    linked = linked_asset(table, cid, stream)
    videos, _ = assets.page(table, cid, limit=LINKABLE_ASSETS)
    return render_template(
        "streams/detail.html",
        stream=stream,
        spikes=data.spikes(table, cid, sid),
        linked=linked,
        videos=[video for video in videos if not video.deleting],
        poll=poll_token(cid, POLL, sid),
        live=live_view(cid, sid) if stream.is_live else None,
        max_lag=MAX_LAG_S,
    )


@bp.get("/streams/<sid>/status")
def status(sid: str) -> Response | str:
    """The import's progress, polled every 2 s (one GetItem); the page reloads once it ends."""
    stream = own_stream(sid)
    html = render_template("streams/_import_status.html", stream=stream)
    if stream.status == data.IMPORTING:
        return html
    response = HTMXResponseStopPolling(html)
    response.headers["HX-Refresh"] = "true"  # show the spikes that just arrived
    return response


def linked_asset(table: Table, cid: str, stream: data.Stream) -> assets.Asset | None:
    if not stream.asset_id:
        return None
    try:
        return assets.get(table, cid, stream.asset_id)
    except NotFound:
        return None  # the video was deleted: the page says so


def live_view(cid: str, sid: str) -> dict[str, Any]:
    """What the live fragment shows, from Redis only: the last 10 minutes of chat and the
    spikes the stream's listener has found (the same spikes it stores; nothing recomputed)."""
    store, redis = live_store(), get_redis()
    bins = store.recent_bins(redis, cid, sid)
    found = store.live_spikes(redis, cid, sid)
    return {"chart": chart.draw(bins, found), "spikes": found}


@bp.get("/streams/<sid>/live")
def live(sid: str) -> Response | str:
    """The live fragment, polled every 2 s: Redis only (the signed token proves ownership)."""
    cid = current_creator().id
    if not keys.is_id(sid) or not was_shown(request.args.get("t", ""), cid, POLL, sid):
        abort(404)
    if not live_store().is_live(get_redis(), cid, sid):
        own_stream(sid)  # the last poll only: one GetItem, so a stranger's id stays a 404
        ended = render_template("streams/_ended.html", sid=sid)
        return HTMXResponseStopPolling(ended)
    return render_template(
        "streams/_live.html", sid=sid, poll=request.args["t"], **live_view(cid, sid)
    )


@bp.get("/streams/<sid>/archive")
def archive(sid: str) -> str:
    """The stream's chat as stored: the imported file, or the live capture's chunks."""
    stream = own_stream(sid)
    storage = get_storage()
    files = []
    for key, size in storage.list_prefix(stream.archive_prefix, MAX_ARCHIVE_FILES):
        name = f"{stream.id}-{key.removeprefix(stream.archive_prefix).replace('/', '-')}"
        if not name.endswith((".gz", ".json", ".jsonl")):
            name += ".json"
        url = storage.presigned_get(key, ARCHIVE_URL_EXPIRES_S, filename=name)
        files.append({"name": name, "size": size, "url": url})
    return render_template("streams/archive.html", stream=stream, files=files)


@bp.post("/streams/<sid>/start")
def start(sid: str) -> BaseResponse:
    stream = own_stream(sid)
    cid = stream.creator_id
    try:
        started = data.set_status(get_table(), cid, sid, data.LIVE, data.WAITING)
    except (Conflict, data.InvalidTransition):
        flash("This stream has already started or ended.", "error")
        return redirect(url_for("streams.detail", sid=sid))
    live_store().add_live(
        get_redis(), cid, sid, stream.source, stream.channel, started_epoch(started)
    )
    flash("Listening to the chat now. The chart fills in as messages arrive.", "success")
    return redirect(url_for("streams.detail", sid=sid))


def started_epoch(stream: data.Stream) -> float:
    if not stream.started_at:
        return time.time()
    return datetime.fromisoformat(stream.started_at).timestamp()


@bp.post("/streams/<sid>/end")
def end(sid: str) -> BaseResponse:
    stream = own_stream(sid)
    live_store().remove_live(get_redis(), stream.creator_id, sid)
    if stream.status in {data.WAITING, data.LIVE}:
        with suppress(Conflict):  # ended meanwhile (the listener, another tab)
            data.set_status(get_table(), stream.creator_id, sid, data.ENDED, stream.status)
        flash("The stream has ended. Link its video to turn the spikes into clips.", "success")
    return redirect(url_for("streams.detail", sid=sid))


@bp.post("/streams/<sid>/mark")
def mark(sid: str) -> BaseResponse:
    stream = own_stream(sid)
    if not stream.is_live:
        flash("Only a live stream can be marked. Start it first.", "error")
    else:
        offset = max(time.time() - started_epoch(stream), 0.0)
        data.mark_moment(get_table(), stream.creator_id, sid, offset)
        flash(f"Marked the moment at {clock(offset)}.", "success")
    return redirect(url_for("streams.detail", sid=sid))


@bp.post("/streams/<sid>/lag")
def lag(sid: str) -> BaseResponse:
    table, cid = get_table(), own_stream(sid).creator_id
    raw = request.form.get("lag", "").strip()
    if not raw:
        data.set_lag_override(table, cid, sid, None)
        flash("The reaction lag is Truss's again.", "success")
        return redirect(url_for("streams.detail", sid=sid))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_LAG_S:
        flash(f"Type the lag in seconds, from 0 to {MAX_LAG_S:g}.", "error")
    else:
        data.set_lag_override(table, cid, sid, value)
        flash(f"Reaction lag set to {value:g} s. Analyse the video again to use it.", "success")
    return redirect(url_for("streams.detail", sid=sid))


@bp.post("/streams/<sid>/link")
def link(sid: str) -> BaseResponse:
    cid = own_stream(sid).creator_id
    aid = request.form.get("asset", "")
    if not keys.is_id(aid):
        flash("Choose one of your videos to link.", "error")
        return redirect(url_for("streams.detail", sid=sid))
    data.link_asset(get_table(), cid, sid, aid)  # NotFound: not this creator's video → 404
    flash("Video linked. Its next analysis takes the chat's spikes into account.", "success")
    return redirect(url_for("streams.detail", sid=sid))


@bp.post("/streams/<sid>/unlink")
def unlink(sid: str) -> BaseResponse:
    data.unlink_asset(get_table(), own_stream(sid).creator_id, sid)
    flash("The video is no longer linked to this stream.", "success")
    return redirect(url_for("streams.detail", sid=sid))


@bp.post("/streams/<sid>/delete")
def delete(sid: str) -> BaseResponse:
    stream = own_stream(sid)
    live_store().remove_live(get_redis(), stream.creator_id, sid)
    get_storage().delete_prefix(stream.archive_prefix)
    data.delete(get_table(), stream.creator_id, sid)
    flash(f"Deleted the stream “{stream.title}”, its spikes and its chat archive.", "success")
    return redirect(url_for("streams.index"))


def clock(seconds: float) -> str:
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@bp.app_template_filter("stream_clock")
def stream_clock(seconds: float) -> str:
    return clock(seconds)
