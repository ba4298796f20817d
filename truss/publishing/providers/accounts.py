"""Who a connected account is (fetch_account): each platform's profile call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from truss.data.platform_tokens import Account
from truss.publishing.providers.errors import (
    ProviderError,
    _words,
)
from truss.publishing.providers.specs import (
    Spec,
    client_settings,
    http_timeout,
    spec,
)
from truss.publishing.tokens import TokenSet


def _bearer(tokens: TokenSet, platform: str) -> str:
    if platform == "discord":
        return tokens.extras.get("oauth_access_token", "")
    return tokens.access_token


def _get_json(s: Spec, config: Mapping[str, Any], url: str, tokens: TokenSet, **kwargs: Any) -> Any:
    headers = {
        "Authorization": f"Bearer {_bearer(tokens, s.platform)}",
        **kwargs.pop("headers", {}),
    }
    try:
        answer = requests.get(url, headers=headers, timeout=http_timeout(config), **kwargs)
    except requests.RequestException:
        raise ProviderError(
            f"{s.label} didn't answer. Try again in a minute.", "unreachable", transient=True
        ) from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or body is None:
        said, code = _words(body, answer.status_code)
        raise ProviderError(
            f"{s.label} wouldn't tell us which account this is ({said}). Try connecting again.",
            code,
            transient=answer.status_code >= 500 or answer.status_code == 429,
        )
    return body


def fetch_account(platform: str, config: Mapping[str, Any], tokens: TokenSet) -> Account:
    """The connected account's id, name, picture and the scopes granted, from the provider."""
    s = spec(platform)
    client = client_settings(platform, config)
    scopes = tuple(tokens.extras.get("scope", "").split())
    if platform == "youtube":
        body = _get_json(
            s, config, client.profile_url, tokens, params={"part": "snippet", "mine": "true"}
        )
        items = body.get("items") or []
        if not items:
            raise ProviderError(
                "This Google account has no YouTube channel yet. Create one on YouTube, then "
                "connect again.",
                "no-channel",
            )
        snippet = items[0].get("snippet") or {}
        thumb = ((snippet.get("thumbnails") or {}).get("default") or {}).get("url", "")
        return Account(
            platform, str(items[0]["id"]), str(snippet.get("title") or ""), thumb, scopes
        )
    if platform == "tiktok":
        fields = {"fields": "open_id,avatar_url,display_name"}
        body = _get_json(s, config, client.profile_url, tokens, params=fields)
        user = (body.get("data") or {}).get("user") or {}
        return Account(
            platform,
            str(user.get("open_id") or tokens.extras.get("open_id", "")),
            str(user.get("display_name") or ""),
            str(user.get("avatar_url") or ""),
            scopes,
        )
    if platform == "twitch":
        body = _get_json(
            s, config, client.profile_url, tokens, headers={"Client-Id": client.client_id}
        )
        users = body.get("data") or []
        if not users:
            raise ProviderError("Twitch didn't say which account this is. Try again.", "no-user")
        user = users[0]
        name = str(user.get("display_name") or user.get("login") or "")
        return Account(
            platform, str(user["id"]), name, str(user.get("profile_image_url") or ""), scopes
        )
    if platform == "discord":
        me = _get_json(s, config, client.profile_url, tokens)
        user_id = str(me.get("id") or "")
        avatar = ""
        if me.get("avatar"):
            cdn = str(config.get("DISCORD_CDN_BASE") or "https://cdn.discordapp.com").rstrip("/")
            avatar = f"{cdn}/avatars/{user_id}/{me['avatar']}.png"
        name = str(me.get("global_name") or me.get("username") or "")
        hook = tokens.extras.get("webhook_name", "")
        shown = f"{name} (webhook “{hook}”)" if hook else name
        return Account(platform, user_id, shown, avatar, scopes)
    raise ValueError(f"unknown platform {platform!r}")
