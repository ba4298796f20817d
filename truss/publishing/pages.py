"""What the publish pages need besides the service: the creator's time zone (reading a typed
local time as UTC and showing a UTC time in the creator's zone), status words (their badge
colours are _macros.html's badge_class), how often the status poll runs, the helpers the
templates call, and reading the publish form into PostRequests. No Flask request handling here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import url_for

from truss.data import publications
from truss.publishing import service
from truss.publishing.adapters import CANNOT_UPLOAD
from truss.publishing.platforms import name_of as platform_name
from truss.publishing.platforms import names_of as platform_names
from truss.publishing.platforms import text_label

DEFAULT_ZONE = "UTC"
INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends

STATUS_LABELS = {
    "scheduled": "Scheduled",
    "uploading": "Uploading",
    "processing": "Processing",
    "published": "Published",
    "failed": "Failed",
    "needs_reconnect": "Needs reconnect",
    "missed": "Missed",
    "cancelled": "Cancelled",
}
TERMINAL = frozenset(publications.TERMINAL)
# The status poll: every FAST_POLL while a post is moving or due within SOON_S, else every
# SLOW_POLL (a post scheduled for next week needn't cost a query per open tab every 2 s).
FAST_POLL, SLOW_POLL = "2s", "30s"
SOON_S = 300
YOUTUBE_PRIVACY = {"private": "Private", "unlisted": "Unlisted", "public": "Public"}
TIKTOK_PRIVACY = {
    "PUBLIC_TO_EVERYONE": "Everyone",
    "MUTUAL_FOLLOW_FRIENDS": "Friends (followers you follow back)",
    "FOLLOWER_OF_CREATOR": "Followers",
    "SELF_ONLY": "Only me",
}
TIKTOK_FALLBACK = ("SELF_ONLY",)
TIKTOK_SWITCHES = {
    "disable_comment": "Turn off comments",
    "disable_duet": "Turn off duets",
    "disable_stitch": "Turn off stitches",
}


class InvalidTime(ValueError):
    """A schedule time we can't use; the message says what to fix."""


class InvalidTimeZone(ValueError):
    """Not a time zone name we know; the message says what to fix."""


@cache
def zone_names() -> tuple[str, ...]:
    """The IANA zone names the server knows, sorted (the time zone setting's choices)."""
    return tuple(sorted(available_timezones() | {DEFAULT_ZONE}))


def zone(name: str) -> ZoneInfo:
    """The creator's zone; an unknown stored name falls back to UTC rather than failing."""
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def clean_time_zone(raw: str | None) -> str:
    name = (raw or "").strip()
    if name not in zone_names():
        raise InvalidTimeZone(
            "Choose a time zone from the list (a name like Europe/Paris or America/New_York)."
        )
    return name


def parse_local(raw: str | None, zone_name: str) -> datetime:
    """A datetime-local value typed in the creator's zone, as an aware UTC datetime. A time
    the clocks skip (spring forward) is refused; one they repeat (fall back) is the first."""
    text = (raw or "").strip()
    if not text:
        raise InvalidTime("Enter the date and time to publish at, or choose “Now”.")
    try:
        naive = datetime.strptime(text[:16], INPUT_FORMAT)
    except ValueError:
        raise InvalidTime("Enter the date and time as YYYY-MM-DD and HH:MM.") from None
    tz = zone(zone_name)
    local = naive.replace(tzinfo=tz, fold=0)
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise InvalidTime(
            f"{naive:%H:%M} on {naive:%d %b %Y} doesn't exist in {zone_name}: the clocks go "
            "forward then. Choose another time."
        )
    return utc


def as_utc(epoch_s: float | int | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(float(epoch_s), UTC)


def local_time(when: datetime | float | int | None, zone_name: str) -> str:
    """A UTC time as the creator reads it: "Tue 1 Dec 2026, 18:30 CET"."""
    moment = as_utc(when) if not isinstance(when, datetime) else when
    if moment is None:
        return ""
    local = moment.astimezone(zone(zone_name))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def input_value(when: datetime | float | int | None, zone_name: str) -> str:
    """A UTC time as a datetime-local value in the creator's zone (to prefill a form)."""
    moment = as_utc(when) if not isinstance(when, datetime) else when
    return "" if moment is None else moment.astimezone(zone(zone_name)).strftime(INPUT_FORMAT)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def is_terminal(status: str) -> bool:
    return status in TERMINAL


def poll_every(posts: Iterable[publications.Publication], now: float) -> str:
    """How often the posts' status is polled: "" once every post is final (no poll); FAST_POLL
    while one is uploading or processing or is due within SOON_S; SLOW_POLL while every
    unfinished post is scheduled further ahead."""
    waiting = [post for post in posts if not is_terminal(post.status)]
    if not waiting:
        return ""
    soon = any(
        post.status != publications.SCHEDULED or post.scheduled_at - now <= SOON_S
        for post in waiting
    )
    return FAST_POLL if soon else SLOW_POLL


def text_field_label(platform: str) -> str:
    """ "YouTube title", "TikTok caption", "Discord message" """
    return f"{platform_name(platform)} {text_label(platform)}"


PAGE_HELPERS = {
    "status_label": status_label,
    "platform_name": platform_name,
    "platform_names": platform_names,
    "text_label": text_label,
    "text_field_label": text_field_label,
    "local_time": local_time,
    "input_value": input_value,
    "zone_names": zone_names,
    "connections_url": lambda: url_for("connections.index"),
    "cannot_upload_twitch": CANNOT_UPLOAD,
}


@dataclass(frozen=True)
class TikTokChoices:
    """The privacy options TikTok offers this account (SELF_ONLY alone if it couldn't say)."""

    options: tuple[str, ...]
    error: str = ""


@dataclass(frozen=True)
class Targets:
    """The creator's platforms as the form sees them."""

    offered: tuple[str, ...]  # connected, working and able to take an upload
    reconnect: tuple[str, ...]  # connected but the platform stopped accepting the token


def not_changed(name: str, change: str) -> str:
    return (
        f"The {name} post can't be {change} any more: it has started, or it isn't scheduled. "
        "Its status is below."
    )


@dataclass
class PublishForm:
    """The publish form as submitted: which platforms, their words and privacy, and when.
    `errors` maps a field ("when", "platforms" or a platform) to what to fix."""

    platforms: list[str] = field(default_factory=list)
    text: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    privacy: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, bool]] = field(default_factory=dict)
    when: str = "now"
    at: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def read_form(
    form: Mapping[str, str], chosen: Sequence[str], offered: Sequence[str]
) -> PublishForm:
    """The submitted values for the platforms this creator may publish to (others ignored)."""
    result = PublishForm(when="later" if form.get("when") == "later" else "now")
    result.at = form.get("at", "")
    for platform in offered:
        result.text[platform] = form.get(f"text-{platform}", "")
        result.description[platform] = form.get(f"description-{platform}", "")
        result.privacy[platform] = form.get(f"privacy-{platform}", "")
        result.options[platform] = {
            name: form.get(f"{name}-{platform}") == "on" for name in TIKTOK_SWITCHES
        } if platform == "tiktok" else {}  # fmt: skip
        if platform in chosen:
            result.platforms.append(platform)
    return result


def when_utc(form: PublishForm, zone_name: str) -> datetime | None:
    """None for "Now"; else the typed time in UTC (InvalidTime says what's wrong)."""
    return None if form.when == "now" else parse_local(form.at, zone_name)


def drafted_form(offered: Sequence[str], drafts: Mapping[str, service.Draft]) -> PublishForm:
    """A fresh form with each offered platform's drafted words filled in."""
    form = PublishForm()
    for platform in offered:
        drafted = drafts.get(platform)
        form.text[platform] = drafted.text if drafted else ""
        form.description[platform] = drafted.description if drafted else ""
    return form


def read_submitted(
    submitted: Any, offered: Sequence[str], zone_name: str
) -> tuple[PublishForm, datetime | None]:
    """The submitted form (a MultiDict) with its errors, and when to publish (None: now)."""
    form = read_form(submitted, submitted.getlist("platform"), offered)
    if not form.platforms:
        form.errors["platforms"] = (
            "Choose at least one platform to publish to."
            if offered
            else "Connect a platform first: nothing can be published yet."
        )
    when = None
    try:
        when = when_utc(form, zone_name)
    except InvalidTime as exc:
        form.errors["when"] = str(exc)
    return form, when


def post_requests(
    form: PublishForm,
    drafts: Mapping[str, service.Draft] | None = None,
    tiktok_options: tuple[str, ...] = (),
) -> list[service.PostRequest]:
    """One PostRequest per chosen platform; with `drafts`, the clip's own drafted words;
    TikTok's with the privacy options its creator info offers this account."""
    chosen = []
    for platform in form.platforms:
        text, description = form.text[platform], form.description[platform]
        if drafts is not None and platform in drafts:
            text, description = drafts[platform].text, drafts[platform].description
        chosen.append(
            service.PostRequest(
                platform=platform,
                text=text,
                description=description,
                privacy=form.privacy[platform],
                options=form.options[platform],
                privacy_options=tiktok_options if platform == "tiktok" else (),
            )
        )
    return chosen
