"""The public share page `/s/<token>`: one clip, its title and hook, nothing else.

The token is the only input; the page, its poster and its video answer 404 for a token that
never existed and 410 ("no longer shared") once revoked or the clip is gone. The page's
media (and its Open Graph URLs) are this blueprint's redirects to short-lived presigned GETs,
so a page left open or a link preview fetched later still works, and the page itself names
no object key.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from truss.analytics import metrics, recording
from truss.auth.session import public
from truss.clips import share_bp
from truss.clips.helpers import media_url
from truss.data.clips import Clip
from truss.data.table import NotFound
from truss.extensions import get_storage, get_table, limiter
from truss.services.shares import ShareGone, open_share
from truss.urls import external_url

PUBLIC_LIMIT = "120 per minute"  # per client address; TRUSS_SHARE_RATE_LIMIT overrides


def public_limit() -> str:
    return str(current_app.config.get("SHARE_RATE_LIMIT") or PUBLIC_LIMIT)


@share_bp.errorhandler(NotFound)
def unknown_link(exc: NotFound) -> tuple[str, int]:
    return render_template("share/gone.html", never_existed=True), 404


@share_bp.errorhandler(ShareGone)
def gone(exc: ShareGone) -> tuple[str, int]:
    return render_template("share/gone.html", never_existed=False), 410


@share_bp.after_request
def never_cached(response: Response) -> Response:
    """A revoked link must stop working at once: no shared or browser caches. The URL holds
    the token, so like the sign-in token pages only the origin is ever sent as Referer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "strict-origin"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def presigned(key: str) -> str:
    return media_url(get_storage(), key)


@share_bp.get("/s/<token>")
@limiter.limit(public_limit)
@public
def page(token: str) -> str:
    clip = open_share(get_table(), token)
    recording.note(clip.creator_id, {metrics.SHARE_VIEWS: 1}, hot=True)
    return render_template(
        "share/page.html",
        clip=shown(clip),
        video_url=url_for("share.video", token=token) if clip.video_key else "",
        poster_url=url_for("share.poster", token=token) if clip.poster_key else "",
        og_video=external_url("share.video", token=token),
        og_image=external_url("share.poster", token=token),
        og_url=external_url("share.page", token=token),
        video_size=current_app.config.get("RENDER_SIZE", "720x1280").split("x"),
    )


@share_bp.get("/s/<token>/poster.jpg")
@limiter.limit(public_limit)
@public
def poster(token: str) -> BaseResponse:
    clip = open_share(get_table(), token)
    if not clip.poster_key:
        raise ShareGone(token)
    recording.note(clip.creator_id, {metrics.S3_GET_REQUESTS: 1}, hot=True)
    return redirect(presigned(clip.poster_key))


@share_bp.get("/s/<token>/clip.mp4")
@limiter.limit(public_limit)
@public
def video(token: str) -> BaseResponse:
    clip = open_share(get_table(), token)
    if not clip.video_key:
        raise ShareGone(token)
    served = {metrics.S3_GET_REQUESTS: 1, metrics.S3_BYTES_OUT: clip.stored_bytes}
    recording.note(clip.creator_id, served, hot=True)
    return redirect(presigned(clip.video_key))


def shown(clip: Clip) -> dict[str, object]:
    """Only what the public page prints: no ids, no source video, no creator."""
    return {
        "title": clip.title,
        "hook": clip.hook,
        "hashtags": clip.hashtags,
        "duration": clip.duration,
        "playable": bool(clip.video_key),
    }
