"""Each platform's OAuth facts (Spec, SPECS) and its client settings from the config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.requests_client import OAuth2Session

PLATFORMS = ("youtube", "tiktok", "twitch", "discord")
YOUTUBE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
YOUTUBE_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
YOUTUBE_ANALYTICS = "https://www.googleapis.com/auth/yt-analytics.readonly"  # clip statistics


@dataclass(frozen=True)
class Spec:
    """One platform's OAuth facts."""

    platform: str
    label: str
    prefix: str  # settings prefix: YOUTUBE_CLIENT_ID, YOUTUBE_AUTHORIZE_URL, ...
    id_setting: str
    secret_setting: str
    scopes: tuple[str, ...]
    scope_sep: str = " "
    id_param: str = "client_id"  # TikTok calls it client_key
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    pkce: bool = False
    note: str = ""


SPECS = {
    "youtube": Spec(
        "youtube",
        "YouTube",
        "YOUTUBE",
        "YOUTUBE_CLIENT_ID",
        "YOUTUBE_CLIENT_SECRET",
        (YOUTUBE_UPLOAD, YOUTUBE_READONLY, YOUTUBE_ANALYTICS),  # the channel; its statistics
        authorize_params={"access_type": "offline", "prompt": "consent"},  # a refresh token
        pkce=True,
    ),
    "tiktok": Spec(
        "tiktok",
        "TikTok",
        "TIKTOK",
        "TIKTOK_CLIENT_KEY",
        "TIKTOK_CLIENT_SECRET",
        ("user.info.basic", "video.publish", "video.upload", "video.list"),  # list: statistics
        scope_sep=",",
        id_param="client_key",
    ),
    "twitch": Spec(
        "twitch",
        "Twitch",
        "TWITCH",
        "TWITCH_CLIENT_ID",
        "TWITCH_CLIENT_SECRET",
        ("clips:edit", "chat:read"),
        note="Twitch has no API to upload videos: connect it for live chat and to make clips "
        "of a live stream. Clips can't be uploaded to Twitch.",
    ),
    "discord": Spec(
        "discord",
        "Discord",
        "DISCORD",
        "DISCORD_CLIENT_ID",
        "DISCORD_CLIENT_SECRET",
        ("webhook.incoming", "identify"),
    ),
}


@dataclass(frozen=True)
class Client:
    """A platform's OAuth client and endpoints, from the settings."""

    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    revoke_url: str
    profile_url: str


def spec(platform: str) -> Spec:
    try:
        return SPECS[platform]
    except KeyError:
        raise ValueError(f"unknown platform {platform!r}") from None


def client_settings(platform: str, config: Mapping[str, Any]) -> Client:
    s = spec(platform)
    return Client(
        client_id=str(config.get(s.id_setting) or ""),
        client_secret=str(config.get(s.secret_setting) or ""),
        authorize_url=str(config.get(f"{s.prefix}_AUTHORIZE_URL") or ""),
        token_url=str(config.get(f"{s.prefix}_TOKEN_URL") or ""),
        revoke_url=str(config.get(f"{s.prefix}_REVOKE_URL") or ""),
        profile_url=str(config.get(f"{s.prefix}_PROFILE_URL") or ""),
    )


def configured(platform: str, config: Mapping[str, Any]) -> bool:
    """A platform is offered only when its client id and secret are set."""
    client = client_settings(platform, config)
    return bool(client.client_id and client.client_secret and client.authorize_url)


def setting_names(platform: str) -> tuple[str, str]:
    """The settings an operator sets to offer `platform` (names only, never values)."""
    s = spec(platform)
    return s.id_setting, s.secret_setting


def is_local(platform: str, config: Mapping[str, Any]) -> bool:
    """True when the platform talks to the local fakes (`truss dev`), not the real provider."""
    fake = str(config.get("FAKE_PLATFORMS_URL") or "")
    return bool(fake) and client_settings(platform, config).authorize_url.startswith(fake)


def http_timeout(config: Mapping[str, Any]) -> float:
    """Each provider call ends well within the token lock's lifetime (a refresh runs under it)."""
    lock = float(config.get("TOKEN_LOCK_TIMEOUT_S", 30.0))
    return max(0.5, min(10.0, lock / 3))


def _session(platform: str, config: Mapping[str, Any], **kwargs: Any) -> OAuth2Session:
    s = spec(platform)
    client = client_settings(platform, config)
    return OAuth2Session(
        client.client_id,
        client.client_secret,
        scope=s.scope_sep.join(s.scopes),
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256" if s.pkce else None,
        default_timeout=http_timeout(config),
        **kwargs,
    )


def _id_params(platform: str, config: Mapping[str, Any]) -> dict[str, str]:
    s = spec(platform)
    if s.id_param == "client_id":
        return {}
    return {s.id_param: client_settings(platform, config).client_id}
