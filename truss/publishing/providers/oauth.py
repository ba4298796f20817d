"""The authorization-code flow (authorize_url, exchange), refreshing and revoking tokens."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token

from truss.publishing.providers.errors import (
    REFUSED_ERRORS,
    ProviderError,
    _json_or_none,
    _noting,
    _provider_error,
    _words,
)
from truss.publishing.providers.specs import (
    _id_params,
    _session,
    client_settings,
    configured,
    http_timeout,
    spec,
)
from truss.publishing.providers.webhooks import canonical_webhook
from truss.publishing.tokens import Refresher, RefreshRefused, TokenSet


def authorize_url(
    platform: str, config: Mapping[str, Any], redirect_uri: str
) -> tuple[str, str, str]:
    """Where to send the browser: (url, state, code_verifier); the caller keeps state and the
    verifier ("" when the platform takes no PKCE) in the session until the callback."""
    s = spec(platform)
    client = client_settings(platform, config)
    if not configured(platform, config):
        raise ProviderError(f"{s.label} isn't set up on this server.", "not-configured")
    verifier = generate_token(64) if s.pkce else ""
    session = _session(platform, config, redirect_uri=redirect_uri)
    url, state = session.create_authorization_url(
        client.authorize_url,
        code_verifier=verifier or None,
        **_id_params(platform, config),
        **s.authorize_params,
    )
    return str(url), str(state), verifier


def exchange(
    platform: str,
    config: Mapping[str, Any],
    code: str,
    redirect_uri: str,
    code_verifier: str = "",
) -> TokenSet:
    """Trade the callback's code for tokens. Discord: the webhook the creator chose becomes the
    TokenSet's access token (see the module's docstring)."""
    s = spec(platform)
    client = client_settings(platform, config)
    session = _session(platform, config, redirect_uri=redirect_uri)
    statuses: list[int] = []
    session.register_compliance_hook("access_token_response", _noting(statuses))
    extra = {"code_verifier": code_verifier} if code_verifier else {}
    try:
        token = session.fetch_token(
            client.token_url,
            grant_type="authorization_code",
            code=code,
            **extra,
            **_id_params(platform, config),
        )
    except Exception as exc:
        status = statuses[-1] if statuses else 0
        raise _provider_error(s, "didn't accept the sign-in", exc, status) from None
    if not token.get("access_token"):
        raise ProviderError(
            f"{s.label} answered without an access token. Try connecting again.", "no-token"
        )
    return _token_set(platform, config, dict(token))


def _granted(platform: str, token: Mapping[str, Any]) -> str:
    """The scopes the creator granted, space-separated (providers send a string or a list)."""
    scope = token.get("scope")
    if isinstance(scope, list | tuple):
        return " ".join(str(x) for x in scope)
    return " ".join(str(scope or "").replace(",", " ").split())


def _token_set(platform: str, config: Mapping[str, Any], token: Mapping[str, Any]) -> TokenSet:
    expires = token.get("expires_at")
    if expires is None and token.get("expires_in") is not None:
        expires = time.time() + float(token["expires_in"])
    extras = {"scope": _granted(platform, token)}
    if platform == "tiktok" and token.get("open_id"):
        extras["open_id"] = str(token["open_id"])
    if platform != "discord":
        return TokenSet(
            access_token=str(token["access_token"]),
            refresh_token=str(token.get("refresh_token") or ""),
            expires_at=int(expires) if expires is not None else None,
            token_type=str(token.get("token_type") or "Bearer"),
            extras=extras,
        )
    hook = token.get("webhook")
    if not isinstance(hook, Mapping) or not hook.get("id") or not hook.get("token"):
        raise ProviderError(
            "Discord didn't create a webhook. Connect again and pick the channel to post to.",
            "no-webhook",
        )
    url = canonical_webhook(config, str(hook["id"]), str(hook["token"]))
    extras.update(
        webhook_url=url,
        webhook_id=str(hook["id"]),
        webhook_name=str(hook.get("name") or ""),
        channel_id=str(hook.get("channel_id") or ""),
        guild_id=str(hook.get("guild_id") or ""),
        oauth_access_token=str(token["access_token"]),
    )
    if expires is not None:
        extras["oauth_expires_at"] = str(int(expires))
    return TokenSet(
        access_token=url,
        refresh_token=str(token.get("refresh_token") or ""),
        expires_at=None,  # a webhook doesn't expire
        token_type="Webhook",
        extras=extras,
    )


# --- refresh and revoke --------------------------------------------------------------------


def refresher(platform: str, config: Mapping[str, Any]) -> Refresher:
    """What TokenService.access_token calls to renew `platform`'s tokens: RefreshRefused when
    the provider refuses the refresh token (revoked, expired: reconnect), ProviderError
    (transient) when it can't be reached or fails on its side."""
    s = spec(platform)
    client = client_settings(platform, config)

    def refresh(tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise RefreshRefused(f"{s.label} gave no refresh token")
        session = _session(platform, config)
        statuses: list[int] = []
        session.register_compliance_hook("refresh_token_response", _noting(statuses))
        try:
            token = session.refresh_token(
                client.token_url,
                refresh_token=tokens.refresh_token,
                **_id_params(platform, config),
            )
        except AuthlibBaseError as exc:
            status = statuses[-1] if statuses else 0
            refused = str(getattr(exc, "error", "")).lower() in REFUSED_ERRORS
            if refused and status in (0, 400, 401):
                raise RefreshRefused(f"{s.label} refused to renew the token") from None
            raise _provider_error(s, "couldn't renew the token", exc, status) from None
        except Exception as exc:
            raise _provider_error(s, "couldn't renew the token", exc) from None
        if not token.get("access_token"):  # an error body without "error" (e.g. {"status": 400})
            if statuses and statuses[-1] in (400, 401):
                raise RefreshRefused(f"{s.label} refused to renew the token")
            raise ProviderError(
                f"{s.label} answered the renewal without a token. Try again later.",
                "no-token",
                transient=True,
            )
        return _renewed(platform, config, tokens, dict(token))

    return refresh


def _renewed(
    platform: str, config: Mapping[str, Any], old: TokenSet, token: Mapping[str, Any]
) -> TokenSet:
    if platform != "discord":
        new = _token_set(platform, config, token)
        if not token.get("scope"):  # some refresh answers leave the scopes out
            new = TokenSet(
                new.access_token, new.refresh_token, new.expires_at, new.token_type, old.extras
            )
        return new
    expires = token.get("expires_at")
    extras = {**old.extras, "oauth_access_token": str(token["access_token"])}
    if expires is not None:
        extras["oauth_expires_at"] = str(int(expires))
    return TokenSet(
        access_token=old.access_token,
        refresh_token=str(token.get("refresh_token") or ""),
        expires_at=None,
        token_type=old.token_type,
        extras=extras,
    )


def _revocable(platform: str, tokens: TokenSet) -> str:
    """The token whose revocation ends the grant: Google and Discord take the refresh token;
    TikTok and Twitch the access token."""
    if platform == "discord":
        return tokens.refresh_token or tokens.extras.get("oauth_access_token", "")
    if platform == "youtube":
        return tokens.refresh_token or tokens.access_token
    return tokens.access_token


def revoke(platform: str, config: Mapping[str, Any], tokens: TokenSet) -> bool:
    """Revoke the grant at the provider. True when it is gone (revoked now, or the provider no
    longer knows the token); False when the provider couldn't be asked or said no. A pasted
    Discord webhook has nothing to revoke: True."""
    client = client_settings(platform, config)
    token = _revocable(platform, tokens)
    if not token or not client.revoke_url:
        return True
    form = {"token": token}
    if platform != "youtube":  # Google's revoke endpoint takes the token alone
        form.update(
            {spec(platform).id_param: client.client_id, "client_secret": client.client_secret}
        )
    try:
        answer = requests.post(client.revoke_url, data=form, timeout=http_timeout(config))
    except requests.RequestException:
        return False
    if answer.status_code == 200:
        return True
    if answer.status_code == 400:  # Google/Twitch: the token is unknown (already revoked)
        said, _ = _words(_json_or_none(answer), 400)
        return "invalid" in said.lower()
    return False
