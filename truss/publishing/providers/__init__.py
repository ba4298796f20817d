"""OAuth for publishing: connect YouTube, TikTok, Twitch and Discord, refresh and revoke tokens.

No Flask here: every function takes the settings (`config`, a mapping like the Flask config,
see truss/config.py's PLATFORM_OAUTH) and does the HTTP with authlib's requests client. Sign-in
(truss/auth/oauth.py) has its own clients and settings; nothing is shared with it.

    url, state, verifier = authorize_url("youtube", config, redirect_uri)
    tokens = exchange("youtube", config, code, redirect_uri, verifier)
    account = fetch_account("youtube", config, tokens)
    TokenService(...).connect(cid, account, tokens)

Discord is different: what publishing needs is the incoming webhook. Its `TokenSet.access_token`
IS the webhook URL (what the Discord adapter takes; it never expires), the OAuth tokens sit in
`extras` (`oauth_access_token`) and `refresh_token`, only to revoke them. A pasted webhook URL
(`validate_webhook`, `webhook_tokens`) has no OAuth tokens at all.

Nothing here logs, or puts in an exception message, a token, a code or a secret.

The package: specs (each platform's OAuth facts and client settings), oauth (authorize,
exchange, refresh, revoke), accounts (who the account is), webhooks (Discord webhooks pasted by
hand), errors (ProviderError and the provider's words). Import from here.
"""

from __future__ import annotations

from truss.publishing.providers.accounts import fetch_account
from truss.publishing.providers.errors import ProviderError
from truss.publishing.providers.oauth import authorize_url, exchange, refresher, revoke
from truss.publishing.providers.specs import (
    PLATFORMS,
    SPECS,
    YOUTUBE_READONLY,
    YOUTUBE_UPLOAD,
    Client,
    Spec,
    client_settings,
    configured,
    http_timeout,
    is_local,
    setting_names,
    spec,
)
from truss.publishing.providers.webhooks import canonical_webhook, validate_webhook, webhook_tokens

__all__ = [
    "PLATFORMS",
    "SPECS",
    "YOUTUBE_READONLY",
    "YOUTUBE_UPLOAD",
    "Client",
    "ProviderError",
    "Spec",
    "authorize_url",
    "canonical_webhook",
    "client_settings",
    "configured",
    "exchange",
    "fetch_account",
    "http_timeout",
    "is_local",
    "refresher",
    "revoke",
    "setting_names",
    "spec",
    "validate_webhook",
    "webhook_tokens",
]
