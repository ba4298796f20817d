"""The platforms' names as a creator reads them, and what each calls a post's main text: the
one copy the service, the runner and the publish pages share."""

from __future__ import annotations

NAMES = {"youtube": "YouTube", "tiktok": "TikTok", "discord": "Discord", "twitch": "Twitch"}
# What the main text of a post is called on each platform ("YouTube title").
TEXT_LABELS = {"youtube": "title", "tiktok": "caption", "discord": "message"}


def name_of(platform: str) -> str:
    """ "YouTube" for "youtube"; an unknown platform's id capitalised."""
    return NAMES.get(platform, platform.title())


def names_of(platforms: list[str] | tuple[str, ...]) -> str:
    """ "YouTube, Discord" """
    return ", ".join(name_of(platform) for platform in platforms)


def text_label(platform: str) -> str:
    """ "title" for YouTube, "caption" for TikTok, "message" for Discord."""
    return TEXT_LABELS.get(platform, "text")
