"""Discord webhooks pasted by hand: validated with Discord, stored as the token set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from truss.data.platform_tokens import Account
from truss.publishing.adapters.discord import parse_webhook_url
from truss.publishing.providers.errors import (
    ProviderError,
    _json_or_none,
    _words,
)
from truss.publishing.providers.specs import (
    http_timeout,
)
from truss.publishing.tokens import TokenSet


def canonical_webhook(config: Mapping[str, Any], webhook_id: str, webhook_token: str) -> str:
    """The webhook URL on the configured Discord API (a pasted URL's host is never used)."""
    base = str(config.get("DISCORD_API_BASE") or "https://discord.com/api").rstrip("/")
    return f"{base}/webhooks/{webhook_id}/{webhook_token}"


def validate_webhook(config: Mapping[str, Any], url: str) -> Account:
    """Ask Discord about a pasted webhook URL; its account (the webhook's name and channel).
    ProviderError with words for a malformed, unknown or deleted webhook."""
    try:
        webhook_id, webhook_token = parse_webhook_url(url.strip())
    except ValueError:
        raise ProviderError(
            "That isn't a Discord webhook URL. In Discord, open the channel's settings → "
            "Integrations → Webhooks, and use “Copy Webhook URL” "
            "(it looks like https://discord.com/api/webhooks/<id>/<token>).",
            "malformed",
        ) from None
    try:
        answer = requests.get(
            canonical_webhook(config, webhook_id, webhook_token), timeout=http_timeout(config)
        )
    except requests.RequestException:
        raise ProviderError(
            "Discord didn't answer. Try again in a minute.", "unreachable", transient=True
        ) from None
    body = _json_or_none(answer)
    if answer.status_code in (401, 403, 404):
        said, code = _words(body, answer.status_code)
        raise ProviderError(
            f"Discord doesn't know this webhook ({said}): it was deleted, or the URL is "
            "incomplete. Copy the webhook URL from Discord again.",
            code,
        )
    if answer.status_code != 200 or not isinstance(body, Mapping):
        said, code = _words(body, answer.status_code)
        raise ProviderError(
            f"Discord couldn't check the webhook ({said}). Try again in a minute.",
            code,
            transient=True,
        )
    name = str(body.get("name") or "webhook")
    avatar = ""
    if body.get("avatar"):
        cdn = str(config.get("DISCORD_CDN_BASE") or "https://cdn.discordapp.com").rstrip("/")
        avatar = f"{cdn}/avatars/{webhook_id}/{body['avatar']}.png"
    return Account("discord", webhook_id, f"Webhook “{name}”", avatar, ("webhook.incoming",))


def webhook_tokens(config: Mapping[str, Any], url: str) -> TokenSet:
    """The token set of a pasted webhook (after validate_webhook): the URL, nothing to refresh."""
    webhook_id, webhook_token = parse_webhook_url(url.strip())
    canonical = canonical_webhook(config, webhook_id, webhook_token)
    return TokenSet(
        access_token=canonical,
        token_type="Webhook",
        extras={"webhook_url": canonical, "webhook_id": webhook_id, "pasted": "1"},
    )
