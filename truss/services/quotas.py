"""Per-creator quotas: storage, minutes analysed per month, analyses at once, video length.

A limit of 0 means unlimited. Usage is counted whatever the limits (the account page shows
it). Every refusal says which limit was hit, the usage now, and what to do. Collaborators are
arguments; `truss.cost_controls` builds the settings from the app's config.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from truss.data import assets, usage
from truss.data.assets import Asset
from truss.data.table import Table
from truss.storage import Storage
from truss.units import human_size

GIB = 1024**3
ANALYSING = (assets.QUEUED, assets.ANALYZING)


class QuotaExceeded(Exception):
    """A quota refused the action; the message is for the creator."""


@dataclass(frozen=True)
class Quotas:
    storage_bytes: int = 0
    monthly_minutes: int = 0
    concurrent_analyses: int = 0
    max_video_minutes: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Quotas:
        return cls(
            storage_bytes=int(config.get("QUOTA_STORAGE_BYTES", 0)),
            monthly_minutes=int(config.get("QUOTA_MINUTES_PER_MONTH", 0)),
            concurrent_analyses=int(config.get("QUOTA_CONCURRENT_ANALYSES", 0)),
            max_video_minutes=int(config.get("MAX_VIDEO_MINUTES", 0)),
        )


NO_QUOTAS = Quotas()


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def next_month(now: datetime) -> datetime:
    """Midnight UTC on the first day of the next month: when the minutes start again."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def size(nbytes: float) -> str:
    return human_size(int(nbytes))


def minutes(seconds: float, round_up: bool = True) -> str:
    """A length in hours, minutes and seconds ("1 min 1 s", "20 s", "2 h 5 min"): rounded up
    to the second for what a video needs, down for what is left, so a refusal never says a
    video is as long as the limit it passes, nor that nothing is left when seconds are."""
    total = math.ceil(seconds - 1e-6) if round_up else math.floor(seconds + 1e-6)
    total = max(total, 0)
    hours, rest = divmod(total, 3600)
    mins, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (mins, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


def day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


# -- messages -----------------------------------------------------------------------------


def storage_refusal(used: int, needed: int, limit: int) -> str:
    return (
        f"Your storage is full for this file: your videos and clips use {size(used)} of your "
        f"{size(limit)}, and this file needs {size(needed)}. Delete videos you no longer need "
        "(that frees their files and clips), then upload it again."
    )


def render_refusal(used: int, limit: int) -> str:
    return (
        f"Your storage is full: your videos and clips use {size(used)} of your {size(limit)}, "
        "so no new clip can be rendered. Delete videos or clips you no longer need, then try "
        "again."
    )


def length_refusal(seconds: float, limit_minutes: int) -> str:
    return (
        f"This video is {minutes(seconds)} long; videos can be at most "
        f"{minutes(limit_minutes * 60)}. Trim it or split it into parts, then upload it again."
    )


def monthly_refusal(seconds: float, used_s: float, limit_minutes: int, now: datetime) -> str:
    left = max(limit_minutes * 60 - used_s, 0.0)
    return (
        f"This video is {minutes(seconds)} long, and only {minutes(left, round_up=False)} of your "
        f"{minutes(limit_minutes * 60)} of analysis a month are left. They start again on "
        f"{day(next_month(now))} (UTC): analyse it then, or upload a shorter part of it."
    )


def concurrent_refusal(running: int, limit: int, after_upload: bool) -> str:
    videos = "1 video" if running == 1 else f"{running} videos"
    what = "Press Retry on this video" if after_upload else "Try again"
    return (
        f"You already have {videos} waiting for or in analysis, and your limit is {limit} at "
        f"once. {what} when one of them is ready."
    )


# -- checks -------------------------------------------------------------------------------


def check_upload(
    table: Table, cid: str, nbytes: int, duration_s: float | None, quotas: Quotas,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """Before any byte is sent: the file fits the storage left, and (when the browser told
    us its length) the length limit and the minutes left this month."""
    now = _now(now)
    used = usage.read(table, cid, month_of(now))
    if quotas.storage_bytes and used.stored_bytes + nbytes > quotas.storage_bytes:
        raise QuotaExceeded(storage_refusal(used.stored_bytes, nbytes, quotas.storage_bytes))
    if duration_s is not None and duration_s > 0:
        check_length(duration_s, quotas)
        limit_s = quotas.monthly_minutes * 60
        if limit_s and used.analysed_s + duration_s > limit_s:
            refusal = monthly_refusal(duration_s, used.analysed_s, quotas.monthly_minutes, now)
            raise QuotaExceeded(refusal)


def check_render_room(table: Table, cid: str, quotas: Quotas) -> None:
    """Before a clip of one's own or a trim renders new files: storage isn't full yet (a
    render's size isn't known before it is made; clips of an analysis always render)."""
    if not quotas.storage_bytes:
        return
    used = usage.read(table, cid, month_of(_now(None))).stored_bytes
    if used >= quotas.storage_bytes:
        raise QuotaExceeded(render_refusal(used, quotas.storage_bytes))


def check_length(duration_s: float, quotas: Quotas) -> None:
    if quotas.max_video_minutes and duration_s > quotas.max_video_minutes * 60:
        raise QuotaExceeded(length_refusal(duration_s, quotas.max_video_minutes))


def take_slot(table: Table, asset: Asset, quotas: Quotas, after_upload: bool) -> None:
    """Before queueing: the video takes one of the creator's analysis slots (counted even
    without a limit, for the account page). QuotaExceeded when they are all held; a slot
    it holds already is kept. Given back by `release_slot` when the run ends."""
    cid, limit = asset.creator_id, quotas.concurrent_analyses
    try:
        usage.take_slot(table, cid, asset.id, limit)
    except usage.OverLimit as exc:
        running = usage.read(table, cid, month_of(_now(None))).analyses
        raise QuotaExceeded(concurrent_refusal(running, limit, after_upload)) from exc
    except usage.Gone:
        pass  # being deleted: the move to queued fails on its own


def release_slot(table: Table, cid: str, aid: str) -> None:
    """The video's run ended (or it is being deleted): its analysis slot is free again.
    Safe to call from anywhere: nothing happens while it is queued or analysing."""
    usage.give_back_slot(table, cid, aid, ANALYSING)


def check_reanalysis(
    table: Table, asset: Asset, quotas: Quotas, now: datetime | None = None
) -> None:
    """Before analysing a video again: its known length fits this month."""
    limit_s = quotas.monthly_minutes * 60
    if asset.duration_s and limit_s:
        now = _now(now)
        used = usage.read(table, asset.creator_id, month_of(now)).analysed_s
        if used + asset.duration_s > limit_s:
            raise QuotaExceeded(
                monthly_refusal(asset.duration_s, used, quotas.monthly_minutes, now)
            )


# -- charges ------------------------------------------------------------------------------


def admit_upload(table: Table, asset: Asset, nbytes: int, quotas: Quotas) -> str:
    """Count an uploaded file's bytes (once per asset), or say why it can't be kept: the
    storage limit, checked atomically, so uploads finishing together can't pass it."""
    cid = asset.creator_id
    try:
        usage.set_asset_stored(table, cid, asset.id, nbytes, quotas.storage_bytes)
    except usage.OverLimit:
        used = usage.read(table, cid, month_of(_now(None))).stored_bytes
        return storage_refusal(used, nbytes, quotas.storage_bytes)
    except usage.Gone:
        pass  # deleted while being confirmed: nothing to count
    return ""


def charge_analysis(
    table: Table, asset: Asset, duration_s: float, run: str, quotas: Quotas,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """After the worker measured the video, before any analysis is paid for: the length
    limit, then the month's minutes (counted once per run). QuotaExceeded says which."""
    check_length(duration_s, quotas)
    now = _now(now)
    cid, limit_s = asset.creator_id, quotas.monthly_minutes * 60
    try:
        usage.charge_analysis(table, cid, asset.id, run, month_of(now), duration_s, limit_s)
    except usage.OverLimit as exc:
        used = usage.read(table, cid, month_of(now)).analysed_s
        refusal = monthly_refusal(duration_s, used, quotas.monthly_minutes, now)
        raise QuotaExceeded(refusal) from exc
    except usage.Gone:
        return


def refund_analysis(table: Table, asset: Asset, run: str) -> None:
    """The run failed before any analysis was paid for (no model tokens spent: the service
    was unreachable, the worker couldn't read the video): its minutes are given back, once."""
    usage.refund_analysis(table, asset.creator_id, asset.id, run)


def charge_render(
    table: Table, storage: Storage, cid: str, clid: str, render_id: str, files: Iterable[str]
) -> int:
    """A finished render's files now count for its clip (replacing what an earlier render
    counted); not when the clip moved on to another render or is being deleted. Returns
    the files' bytes (0 when not charged)."""
    nbytes = stored_size(storage, files)
    try:
        usage.set_clip_stored(table, cid, clid, nbytes, render_id)
    except usage.Gone:
        return 0
    return nbytes


def stored_size(storage: Storage, files: Iterable[str]) -> int:
    return sum(info.size for info in map(storage.head, files) if info is not None)


def count_existing_storage(table: Table, storage: Storage, force: bool) -> int | None:
    """`truss init`: count videos and rendered clips stored before quotas existed (once per
    item; None when done before, unless `force`)."""
    return usage.count_existing(table, lambda files: stored_size(storage, files), force)


def release_asset(table: Table, cid: str, aid: str) -> None:
    """Before deleting a video (after fencing it): give back its source's bytes and the
    analysis slot it holds."""
    usage.release_asset_stored(table, cid, aid)
    release_slot(table, cid, aid)


def release_clip(table: Table, cid: str, clid: str) -> None:
    """Before deleting a clip: give back its render's bytes."""
    usage.release_clip_stored(table, cid, clid)


# -- the account page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Meter:
    """One line of the account page: used against the limit ("" when unlimited)."""

    label: str
    used: str
    limit: str
    percent: int | None
    note: str = ""


def meters(table: Table, cid: str, quotas: Quotas, now: datetime | None = None) -> list[Meter]:
    now = _now(now)
    used = usage.read(table, cid, month_of(now))
    running = used.analyses
    return [
        _meter("Storage", used.stored_bytes, quotas.storage_bytes, size(used.stored_bytes),
               size(quotas.storage_bytes), "Videos and rendered clips. Deleting a video frees "
               "its file and its clips."),
        _meter("Analysis this month", used.analysed_s, quotas.monthly_minutes * 60,
               minutes(used.analysed_s), minutes(quotas.monthly_minutes * 60),
               f"Minutes of video analysed; they start again on {day(next_month(now))} (UTC)."),
        _meter("Analyses at once", running, quotas.concurrent_analyses, str(running),
               str(quotas.concurrent_analyses), "Videos waiting for or in analysis."),
        Meter("Longest video", "", minutes(quotas.max_video_minutes * 60)
              if quotas.max_video_minutes else "", None, "The length one video can have."),
    ]  # fmt: skip


def _meter(label: str, used: float, limit: float, shown: str, cap: str, note: str) -> Meter:
    if not limit:
        return Meter(label, shown, "", None, note)
    return Meter(label, shown, cap, min(100, round(100 * used / limit)), note)
