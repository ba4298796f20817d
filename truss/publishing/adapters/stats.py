"""What the platforms say about a published video: the figures the statistics job stores.

YouTube answers per day (Analytics `reports`, dimensions=day); TikTok answers running totals
(`video/query` counts), which the job turns into daily differences of its snapshots. Discord
and Twitch have no statistics API for what Truss posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from truss.publishing.adapters.base import Unauthorized, json_body, provider_words

FIGURES = ("views", "likes", "comments", "shares", "watch_s")
NO_STATS = {
    "discord": "Discord has no statistics for webhook posts.",
    "twitch": "Twitch clips aren't uploaded by Truss, so there are no statistics to read.",
}


@dataclass(frozen=True)
class Figures:
    """Views, likes, comments, shares and seconds watched (a day's, or running totals)."""

    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    watch_s: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in FIGURES}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figures:
        return cls(**{name: int(data.get(name) or 0) for name in FIGURES})

    def minus(self, earlier: Figures) -> Figures:
        """The growth since `earlier` (never below zero: a platform may recount down)."""
        return Figures(
            **{name: max(getattr(self, name) - getattr(earlier, name), 0) for name in FIGURES}
        )


@dataclass(frozen=True)
class VideoDay:
    day: date
    figures: Figures


SCOPE_MISSING = {"insufficientPermissions", "scope_not_authorized"}  # Google's, TikTok's


class StatsError(Exception):
    """The platform answered the statistics call with an error; the message names the
    platform and what it said ("YouTube answered 503: Backend Error"); `code` is the
    platform's own reason, `status` the HTTP status of the answer."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def scope_missing(self) -> bool:
        """The connection wasn't granted the statistics scope: the creator must reconnect."""
        return self.code in SCOPE_MISSING


def stats_error(
    platform: str, response: requests.Response, said: str = "", code: str = ""
) -> Exception:
    """A 401 is Unauthorized (refresh the token once and ask again) unless the scope is
    missing; anything else a StatsError with the platform's own words."""
    if response.status_code == 401 and code not in SCOPE_MISSING:
        return Unauthorized(platform)
    words = f"{platform} answered {response.status_code}"
    return StatsError(f"{words}: {said}" if said else words, code, response.status_code)


def google_words(response: requests.Response) -> tuple[str, str]:
    """(message, reason) of Google's JSON error."""
    error = json_body(response).get("error")
    if not isinstance(error, dict):
        return "", ""
    reasons = [e.get("reason", "") for e in error.get("errors") or [] if isinstance(e, dict)]
    return provider_words(error.get("message")), next((r for r in reasons if r), "")


def parse_report(body: dict[str, Any]) -> list[VideoDay]:
    """A YouTube Analytics result table (columnHeaders + rows, no rows when empty) as days."""
    names = [str(h.get("name", "")) for h in body.get("columnHeaders") or []]
    days = []
    for row in body.get("rows") or []:
        cells = dict(zip(names, row, strict=False))
        try:
            day = date.fromisoformat(str(cells.get("day", "")))
        except ValueError:
            continue
        days.append(
            VideoDay(
                day,
                Figures(
                    views=int(cells.get("views") or 0),
                    likes=int(cells.get("likes") or 0),
                    comments=int(cells.get("comments") or 0),
                    shares=int(cells.get("shares") or 0),
                    watch_s=int(float(cells.get("estimatedMinutesWatched") or 0) * 60),
                ),
            )
        )
    return days


def parse_videos(body: dict[str, Any]) -> dict[str, Figures]:
    """TikTok video/query's `data.videos` as running totals by video id."""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    found = {}
    for video in (data or {}).get("videos") or []:
        if isinstance(video, dict) and video.get("id"):
            found[str(video["id"])] = Figures(
                views=int(video.get("view_count") or 0),
                likes=int(video.get("like_count") or 0),
                comments=int(video.get("comment_count") or 0),
                shares=int(video.get("share_count") or 0),
            )
    return found
