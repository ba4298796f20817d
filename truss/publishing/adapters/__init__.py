"""Publishing adapters: one per platform behind one interface (see base.py).

    adapter = adapter_for("youtube", current_app.config)   # or a test's settings
    session = adapter.start(token, post); ...upload(...); ...check(...)

Twitch can't take uploads (`TwitchAdapter.create_clip` makes clips of a live stream instead);
`adapter_for("twitch", ...)` raises `PublishError("content", CANNOT_UPLOAD)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from truss.publishing.adapters.base import (
    Adapter,
    Post,
    Progress,
    PublishError,
    Session,
    Status,
    Unauthorized,
    next_pacific_midnight,
    no_progress,
)
from truss.publishing.adapters.discord import (
    DiscordAdapter,
    DiscordSettings,
    parse_webhook_url,
    smaller_copy,
)
from truss.publishing.adapters.tiktok import CreatorInfo, TikTokAdapter, TikTokSettings
from truss.publishing.adapters.twitch import (
    CANNOT_UPLOAD,
    TwitchAdapter,
    TwitchClip,
    TwitchSettings,
)
from truss.publishing.adapters.youtube import YouTubeAdapter, YouTubeSettings

UPLOAD_PLATFORMS = ("youtube", "tiktok", "discord")

__all__ = [
    "CANNOT_UPLOAD",
    "UPLOAD_PLATFORMS",
    "Adapter",
    "CreatorInfo",
    "DiscordAdapter",
    "Post",
    "Progress",
    "PublishError",
    "Session",
    "Status",
    "TikTokAdapter",
    "TwitchAdapter",
    "TwitchClip",
    "Unauthorized",
    "YouTubeAdapter",
    "adapter_for",
    "next_pacific_midnight",
    "no_progress",
    "parse_webhook_url",
    "smaller_copy",
    "twitch_adapter",
]


def adapter_for(platform: str, config: Mapping[str, Any]) -> Adapter:
    """The upload adapter for `platform`, its base URLs from the settings (truss.config)."""
    if platform == "youtube":
        return YouTubeAdapter(
            YouTubeSettings(
                api_base=config["YOUTUBE_API_BASE"],
                upload_base=config["YOUTUBE_UPLOAD_BASE"],
                analytics_base=config.get(
                    "YOUTUBE_ANALYTICS_BASE", "https://youtubeanalytics.googleapis.com"
                ),
            )
        )
    if platform == "tiktok":
        return TikTokAdapter(TikTokSettings(api_base=config["TIKTOK_API_BASE"]))
    if platform == "discord":
        return DiscordAdapter(
            DiscordSettings(
                api_base=config["DISCORD_API_BASE"],
                upload_limit_bytes=config["DISCORD_UPLOAD_LIMIT_BYTES"],
            )
        )
    if platform == "twitch":
        raise PublishError("content", CANNOT_UPLOAD, "no-upload-api")
    raise ValueError(f"unknown platform {platform!r}")


def twitch_adapter(config: Mapping[str, Any]) -> TwitchAdapter:
    """Twitch's clip maker; its Client-Id is the app's TWITCH_CLIENT_ID."""
    settings = TwitchSettings(
        api_base=config["TWITCH_API_BASE"], client_id=config.get("TWITCH_CLIENT_ID", "")
    )
    return TwitchAdapter(settings)
