"""Statistics of the videos the fakes received: YouTube Analytics `reports` and TikTok
`video/query`, with plausible numbers that grow day by day.

- GET /youtube-analytics/v2/reports?ids=channel==MINE&startDate&endDate&metrics=...&
  dimensions=day&filters=video==<id> (youtubeanalytics.googleapis.com): `columnHeaders` and
  `rows` (no `rows` when there is nothing), one row per day from the day the video arrived to
  the fake's today; today's figures are still growing (a part of the day), as YouTube's settle
  late. Scope youtube.readonly or yt-analytics.readonly.
- POST /tiktok/v2/video/query/?fields=id,view_count,... with {"filters": {"video_ids": [...]}}
  (open.tiktokapis.com, scope video.list, at most 20 ids): cumulative counts, in TikTok's
  {"data": {"videos": [...]}, "error": {...}} envelope. Only public posts have an id to ask for.

The figures are a function of the video id and the day (the same question gets the same
answer), so a test can compute what Truss should have stored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, request

from truss.local.fake_platforms import youtube
from truss.local.fake_platforms.oauth import tiktok_envelope
from truss.local.fake_platforms.state import State
from truss.local.fake_platforms.tiktok import fault_reply as tiktok_fault
from truss.local.fake_platforms.wire import bearer, json_reply

ANALYTICS_SCOPES = {  # reports.query: the Analytics scope, or YouTube's read-only one
    "https://www.googleapis.com/auth/yt-analytics.readonly",
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/youtube",
}
YOUTUBE_METRICS = {
    "views",
    "likes",
    "comments",
    "shares",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "subscribersGained",
}
TIKTOK_COUNTS = ("view_count", "like_count", "comment_count", "share_count")
MAX_TIKTOK_IDS = 20


def _seed(video_id: str, day: date) -> int:
    return int(hashlib.sha256(f"{video_id}/{day.isoformat()}".encode()).hexdigest()[:8], 16)


def day_figures(video_id: str, first: date, day: date, fraction: float = 1.0) -> dict[str, int]:
    """One day's figures of a video that arrived on `first`: views grow with its age, with
    some noise; `fraction` of the day has passed (today's figures are not final)."""
    age = (day - first).days
    seed = _seed(video_id, day)
    views = int((40 + 25 * age + seed % 60) * fraction)
    return {
        "views": views,
        "likes": views // 12,
        "comments": views // 40,
        "shares": views // 60,
        "estimatedMinutesWatched": views // 3,
    }


def _arrived(state: State, remote_id: str) -> date | None:
    for entry in state.db["received"]:
        if entry.get("remote_id") == remote_id or entry.get("post_id") == remote_id:
            return datetime.fromisoformat(entry["received_at"].replace("Z", "+00:00")).date()
    return None


def _today(state: State) -> tuple[date, float]:
    now = datetime.fromtimestamp(state.now(), UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    return now.date(), max((now - midnight).total_seconds() / 86400, 0.01)


def figures_until(state: State, video_id: str, first: date, last: date) -> dict[date, dict]:
    """Per day, the figures of days first..last that the video has (none before it arrived,
    none after the fake's today)."""
    today, fraction = _today(state)
    out = {}
    day = first
    while day <= min(last, today):
        out[day] = day_figures(video_id, first, day, fraction if day == today else 1.0)
        day += timedelta(days=1)
    return out


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_stats", __name__)

    @bp.get("/youtube-analytics/v2/reports")
    def reports() -> Response:
        if kind := state.faults.take("youtube.analytics"):
            return youtube.fault_reply(kind)
        grant = state.grant_for_access("google", bearer(request))
        if grant is None:
            return youtube.google_error(401, "authError", "Invalid Credentials")
        if not ANALYTICS_SCOPES & set(grant["scopes"]):
            return youtube.google_error(403, "insufficientPermissions", "Insufficient Permission")
        args = request.args
        metrics = [m for m in args.get("metrics", "").split(",") if m]
        unknown = [m for m in metrics if m not in YOUTUBE_METRICS]
        if args.get("ids") != "channel==MINE" or not metrics or unknown:
            return youtube.google_error(400, "badRequest", f"Unknown metrics {unknown}")
        if args.get("dimensions") != "day":
            return youtube.google_error(400, "badRequest", "The fake supports dimensions=day")
        try:
            start = date.fromisoformat(args["startDate"])
            end = date.fromisoformat(args["endDate"])
        except (KeyError, ValueError):
            return youtube.google_error(400, "badRequest", "startDate and endDate: YYYY-MM-DD")
        video_id = args.get("filters", "").removeprefix("video==")
        video = state.db["videos"].get(video_id)
        if video is None or video["user_id"] != grant["user_id"]:
            return youtube.google_error(403, "forbidden", "Forbidden")
        arrived = _arrived(state, video_id) or start
        rows = []
        for day, figures in sorted(figures_until(state, video_id, arrived, end).items()):
            if day >= start:
                rows.append([day.isoformat(), *(_metric(figures, m) for m in metrics)])
        headers = [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}]
        headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
        body: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers}
        if rows:
            body["rows"] = rows
        return json_reply(body)

    @bp.post("/tiktok/v2/video/query/")
    def video_query() -> Response:
        if kind := state.faults.take("tiktok.video_query"):
            return tiktok_fault(kind)
        grant = state.grant_for_access("tiktok", bearer(request))
        if grant is None:
            return tiktok_fault("unauthorized")
        if "video.list" not in grant["scopes"]:
            return tiktok_envelope(
                {}, 401, "scope_not_authorized", "The user did not authorize the scope required"
            )
        try:
            body = json.loads(request.get_data() or b"{}") or {}
            ids = [str(i) for i in (body.get("filters") or {}).get("video_ids") or []]
        except (ValueError, AttributeError):
            return tiktok_envelope({}, 400, "invalid_params", "The request body is not JSON")
        if not ids or len(ids) > MAX_TIKTOK_IDS:
            return tiktok_envelope({}, 400, "invalid_params", "video_ids: 1 to 20 ids")
        fields = [f for f in request.args.get("fields", "id").split(",") if f]
        videos = [_tiktok_video(state, grant, vid, fields) for vid in ids]
        found = [v for v in videos if v is not None]
        return tiktok_envelope({"videos": found, "cursor": 0, "has_more": False})

    return bp


def _metric(figures: dict[str, int], metric: str) -> int:
    if metric == "averageViewDuration":
        views = figures["views"]
        return figures["estimatedMinutesWatched"] * 60 // views if views else 0
    return figures.get(metric, 0)


def _tiktok_video(
    state: State, grant: dict[str, Any], post_id: str, fields: list[str]
) -> dict[str, Any] | None:
    publish = next(
        (p for p in state.db["publishes"].values() if str(p.get("post_id")) == post_id), None
    )
    if publish is None or publish["user_id"] != grant["user_id"]:
        return None
    arrived = _arrived(state, publish["id"]) or _today(state)[0]
    totals = {name: 0 for name in TIKTOK_COUNTS}
    for figures in figures_until(state, post_id, arrived, _today(state)[0]).values():
        for name in TIKTOK_COUNTS:
            totals[name] += figures[name.removesuffix("_count") + "s"]
    video: dict[str, Any] = {"id": post_id}
    video.update({name: value for name, value in totals.items() if name in fields})
    return video
