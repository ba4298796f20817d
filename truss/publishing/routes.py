"""The publish pages ("publish" blueprint): the clip page's Publish section (the form and each
platform's post, polled like renders), cancel / reschedule / retry, publishing several clips
from the clips page, and the creator's time zone setting. Routes stay thin: they read the
form, call truss.publishing.service, then ask truss.jobs to enqueue what the result names."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, cast

import requests as http
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_htmx.responses import HTMXResponseStopPolling
from werkzeug.wrappers import Response as BaseResponse

from truss import jobs
from truss.assets.helpers import gone_from_the_page
from truss.auth.session import current_creator, remember_creator
from truss.clips.helpers import own_clip
from truss.data import creators, keys, platform_tokens
from truss.data.clips import Clip
from truss.data.table import NotFound
from truss.extensions import get_table, get_token_service, htmx
from truss.polling import CLIP, poll_token
from truss.publishing import pages, service
from truss.publishing.adapters import PublishError, TikTokAdapter, adapter_for
from truss.publishing.providers import ProviderError, refresher
from truss.publishing.tokens import TokenError
from truss.publishing.vault import VaultError

bp = Blueprint("publish", __name__)
log = logging.getLogger(__name__)
MAX_SELECTED = 50  # clips published at once from the clips page


@bp.app_context_processor
def publish_helpers() -> dict[str, Any]:
    """Words and times for the publish templates, app-wide: the clip pages and the dashboard
    include the publish partials without their routes knowing."""
    return {"publishing": pages.PAGE_HELPERS}


def now() -> float:
    return time.time()


def zone_name() -> str:
    return current_creator().time_zone or pages.DEFAULT_ZONE


def targets(cid: str) -> pages.Targets:
    stored = {token.platform: token for token in platform_tokens.list_for_creator(get_table(), cid)}
    uploads = [p for p in service.PLATFORMS_THAT_UPLOAD if p in stored]
    return pages.Targets(
        offered=tuple(p for p in uploads if stored[p].status == platform_tokens.CONNECTED),
        reconnect=tuple(p for p in uploads if stored[p].status == platform_tokens.NEEDS_RECONNECT),
    )


def tiktok_choices(cid: str) -> pages.TikTokChoices:
    """Ask TikTok (creator info) which privacy options the account has; on any failure say
    why in words and offer "Only me" alone."""
    config = current_app.config
    try:
        token = get_token_service().access_token(cid, "tiktok", refresh=refresher("tiktok", config))
        info = cast(TikTokAdapter, adapter_for("tiktok", config)).creator_info(token)
    except PublishError as exc:
        log.info("TikTok creator info refused for %s: %s", cid, exc.provider_code or exc.kind)
        reason = exc.message + (
            f" (TikTok's code: {exc.provider_code})" if exc.provider_code else ""
        )
        return pages.TikTokChoices(pages.TIKTOK_FALLBACK, reason)
    except (TokenError, VaultError, ProviderError) as exc:  # their words never carry a token
        log.info("TikTok token unavailable for %s: %s", cid, type(exc).__name__)
        return pages.TikTokChoices(
            pages.TIKTOK_FALLBACK, "Truss couldn't use your TikTok connection just now."
        )
    except http.RequestException as exc:
        log.info("TikTok creator info unreachable for %s: %s", cid, type(exc).__name__)
        return pages.TikTokChoices(pages.TIKTOK_FALLBACK, "TikTok didn't answer.")
    return pages.TikTokChoices(info.privacy_options or pages.TIKTOK_FALLBACK)


def tiktok_options(cid: str, form: pages.PublishForm) -> tuple[str, ...]:
    """The privacy options to check a TikTok post against (asked only when TikTok is chosen)."""
    return tiktok_choices(cid).options if "tiktok" in form.platforms else ()


def form_context(
    cid: str, drafts: dict[str, service.Draft], form: pages.PublishForm | None = None
) -> dict[str, Any]:
    """What the publish form shows: the platforms, their drafted (or submitted) words, the
    limits, TikTok's privacy options and the creator's zone."""
    to = targets(cid)
    return {
        "targets": to,
        "form": form or pages.drafted_form(to.offered, drafts),
        "limits": service.LIMITS,
        "tiktok": tiktok_choices(cid) if "tiktok" in to.offered else None,
        "youtube_privacy": pages.YOUTUBE_PRIVACY,
        "tiktok_privacy": pages.TIKTOK_PRIVACY,
        "tiktok_switches": pages.TIKTOK_SWITCHES,
        "zone": zone_name(),
    }


def posts_context(clip: Clip) -> dict[str, Any]:
    posts = list(service.statuses(get_table(), clip.creator_id, clip.id).values())
    jobs.watch_publications(posts)  # a post whose job or due-set entry was lost is found again
    return {
        "clip": clip,
        "posts": posts,
        "poll_every": pages.poll_every(posts, now()),
        "poll_token": poll_token(clip.creator_id, CLIP, clip.id),
        "zone": zone_name(),
    }


def section(clip: Clip, form: pages.PublishForm | None = None, **extra: Any) -> str:
    context = {**form_context(clip.creator_id, service.draft(clip), form), **posts_context(clip)}
    return render_template("publish/_section.html", **context, **extra)


def enqueue(pending: Iterable[service.Enqueue]) -> None:
    for publication, run_at in pending:
        jobs.enqueue_publication(publication, run_at)


# -- the clip page's section ---------------------------------------------------------------


@bp.get("/clips/<clid>/publish")
def page(clid: str) -> str:
    """The Publish section (htmx loads it into the clip page), or a page of its own."""
    clip = own_clip(clid)
    if htmx:
        return section(clip)
    return render_template("publish/page.html", clip=clip, section_html=section(clip))


@bp.post("/clips/<clid>/publish")
def publish(clid: str) -> BaseResponse | str | tuple[str, int]:
    clip = own_clip(clid)
    cid = clip.creator_id
    form, when = pages.read_submitted(request.form, targets(cid).offered, zone_name())
    if form.errors:
        html = section(clip, form)
        return (
            html
            if htmx
            else (render_template("publish/page.html", clip=clip, section_html=html), 400)
        )
    requests = pages.post_requests(form, tiktok_options=tiktok_options(cid, form))
    result = service.publish(get_table(), cid, clip, requests, when, now())
    enqueue(result.to_enqueue)
    form.errors.update(result.errors)
    form.platforms = [p for p in form.platforms if p in result.errors]  # to try again
    queued = [pub.platform for pub in result.publications]
    html = section(clip, form, queued=queued, scheduled_for=when)
    if not htmx:
        for platform in queued:
            flash(f"{pages.platform_name(platform)}: queued.", "info")
        for platform, error in result.errors.items():
            flash(f"{pages.platform_name(platform)}: {error}", "error")
        if result.errors:
            return render_template("publish/page.html", clip=clip, section_html=html), 400
        return redirect(url_for("publish.page", clid=clid))
    return html


@bp.get("/clips/<clid>/publications")
def posts(clid: str) -> BaseResponse | str:
    """Polled (pages.poll_every: 2 s while a post moves or is due soon, else 30 s); 286 (stop)
    once every post is final."""
    try:
        clip = own_clip(clid)
    except NotFound:  # deleted in another tab (or never this creator's: 404)
        return gone_from_the_page(CLIP, clid, "publish/_posts_gone.html")
    context = posts_context(clip)
    html = render_template("publish/_posts.html", **context)
    return html if context["poll_every"] else HTMXResponseStopPolling(html)


def platform_arg(platform: str) -> str:
    if platform not in service.PLATFORMS_THAT_UPLOAD:
        abort(404)
    return platform


def after_change(clip: Clip, message: str = "", error: str = "") -> BaseResponse | str:
    if htmx:
        return render_template(
            "publish/_posts.html", **posts_context(clip), message=message, error=error
        )
    flash(error or message, "error" if error else "info")
    return redirect(url_for("publish.page", clid=clip.id))


@bp.post("/clips/<clid>/publications/<platform>/cancel")
def cancel(clid: str, platform: str) -> BaseResponse | str:
    clip, platform = own_clip(clid), platform_arg(platform)
    name = pages.platform_name(platform)
    try:
        service.cancel(get_table(), clip.creator_id, clip.id, platform, now())
    except service.NotChanged:
        return after_change(clip, error=pages.not_changed(name, "cancelled"))
    return after_change(clip, f"Cancelled the {name} post. It won't be published.")


@bp.post("/clips/<clid>/publications/<platform>/reschedule")
def reschedule(clid: str, platform: str) -> BaseResponse | str:
    clip, platform = own_clip(clid), platform_arg(platform)
    name = pages.platform_name(platform)
    try:
        when = pages.parse_local(request.form.get("at"), zone_name())
        pending = service.reschedule(get_table(), clip.creator_id, clip.id, platform, when, now())
    except pages.InvalidTime as exc:
        return after_change(clip, error=f"{name}: {exc}")
    except service.NotChanged as exc:
        return after_change(clip, error=f"{name}: {exc}")
    enqueue([pending])
    return after_change(
        clip, f"The {name} post is now scheduled for {pages.local_time(when, zone_name())}."
    )


@bp.post("/clips/<clid>/publications/<platform>/retry")
def retry(clid: str, platform: str) -> BaseResponse | str:
    clip, platform = own_clip(clid), platform_arg(platform)
    name = pages.platform_name(platform)
    try:
        pending = service.retry(get_table(), clip.creator_id, clip.id, platform, now())
    except service.NotChanged as exc:
        return after_change(clip, error=f"{name}: {exc}")
    enqueue([pending])
    return after_change(clip, f"Trying the {name} post again now.")


# -- several clips from the clips page -----------------------------------------------------


def selected_clips(ids: list[str]) -> list[Clip]:
    """The chosen clips, each one the signed-in creator's (any other id: 404, nothing done)."""
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_SELECTED or any(not keys.is_id(clid) for clid in unique):
        abort(400)
    return [own_clip(clid) for clid in unique]


def bulk_page(chosen: list[Clip], form: pages.PublishForm | None = None, **extra: Any) -> str:
    cid = current_creator().id
    context = form_context(cid, {}, form)
    return render_template("publish/bulk.html", clips=chosen, **context, **extra)


@bp.get("/clips/publish")
def bulk_form() -> BaseResponse | str:
    chosen = selected_clips(request.args.getlist("clid"))
    if not chosen:
        flash("Select one or more clips first, then press “Publish selected”.", "error")
        return redirect(url_for("clips.index"))
    return bulk_page(chosen)


@bp.post("/clips/publish")
def bulk_publish() -> str | tuple[str, int]:
    chosen = selected_clips(request.form.getlist("clid"))
    if not chosen:
        abort(400)
    cid = current_creator().id
    form, when = pages.read_submitted(request.form, targets(cid).offered, zone_name())
    if form.errors:
        return bulk_page(chosen, form), 400
    outcomes = []
    options = tiktok_options(cid, form)
    for clip in chosen:
        requests = pages.post_requests(form, service.draft(clip), options)
        result = service.publish(get_table(), cid, clip, requests, when, now())
        enqueue(result.to_enqueue)
        outcomes.append((clip, [pub.platform for pub in result.publications], result.errors))
    return render_template(
        "publish/bulk_result.html", outcomes=outcomes, when=when, zone=zone_name()
    )


# -- the creator's time zone (on the dashboard) --------------------------------------------


@bp.post("/dashboard/time-zone")
def time_zone() -> BaseResponse | str | tuple[str, int]:
    creator = current_creator()
    submitted = request.form.get("time_zone", "")
    try:
        name = pages.clean_time_zone(submitted)
    except pages.InvalidTimeZone as exc:
        context = {"creator": creator, "tz_error": str(exc), "tz_value": submitted}
        if htmx:
            return render_template("publish/_time_zone_form.html", **context)
        return render_template("auth/dashboard.html", **context), 400
    changed = creators.set_time_zone(get_table(), creator.id, name)
    remember_creator(changed)
    if htmx:
        return render_template("publish/_time_zone_form.html", creator=changed, tz_saved=True)
    flash(f"Saved. Times are now shown in {name}.", "info")
    return redirect(url_for("auth.dashboard"), code=303)
