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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from truss.data.platform_tokens import Account
from truss.publishing.adapters.discord import parse_webhook_url
from truss.publishing.tokens import Refresher, RefreshRefused, TokenSet

PLATFORMS = ("youtube", "tiktok", "twitch", "discord")
YOUTUBE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
YOUTUBE_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
# What a refresh answer means for the connection: refused (reconnect) vs. try again later.
REFUSED_ERRORS = {"invalid_grant", "bad request", "invalid_token", "invalid_request"}
TRANSIENT_ERRORS = {"temporarily_unavailable", "server_error", "rate_limit_exceeded"}
MAX_PROVIDER_WORDS = 200


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
        (YOUTUBE_UPLOAD, YOUTUBE_READONLY),  # readonly: the channel's name and picture
        authorize_params={"access_type": "offline", "prompt": "consent"},  # a refresh token
        pkce=True,
    ),
    "tiktok": Spec(
        "tiktok",
        "TikTok",
        "TIKTOK",
        "TIKTOK_CLIENT_KEY",
        "TIKTOK_CLIENT_SECRET",
        ("user.info.basic", "video.publish", "video.upload"),
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


class ProviderError(Exception):
    """A provider call failed. The message is for the creator (what happened, what to do, the
    provider's own words and code); `transient` says trying again later may work."""

    def __init__(self, message: str, code: str = "", transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


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


# --- the authorization-code flow -----------------------------------------------------------


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


# --- who the account is --------------------------------------------------------------------


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


# --- Discord webhooks pasted by hand -------------------------------------------------------


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


# --- errors in words -----------------------------------------------------------------------


def _json_or_none(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _words(body: Any, status: int) -> tuple[str, str]:
    """The provider's own words and code from its error body (each provider's shape)."""
    code, words = "", ""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):  # Google {"error": {...}}, TikTok {"error": {code, message}}
            code = str(error.get("code") or error.get("status") or "")
            words = str(error.get("message") or "")
        elif error:
            code = str(error)
            words = str(body.get("error_description") or body.get("message") or "")
        else:  # Discord {"message", "code"}, Twitch {"status", "message"}
            code = str(body.get("code") or body.get("status") or "")
            words = str(body.get("message") or "")
    said = "; ".join(x for x in (words[:MAX_PROVIDER_WORDS], code and f"code {code}") if x)
    return said or f"HTTP {status}", code or str(status)


def _noting(statuses: list[int]) -> Callable[[requests.Response], requests.Response]:
    """An authlib compliance hook that notes the token endpoint's HTTP status."""

    def hook(response: requests.Response) -> requests.Response:
        statuses.append(response.status_code)
        return response

    return hook


def _provider_error(s: Spec, what: str, exc: BaseException, status: int = 0) -> ProviderError:
    """A ProviderError in words from whatever authlib/requests raised (never its text: it can
    hold URLs). `status`: the HTTP status, when known (429 and 5xx are worth retrying)."""
    if isinstance(exc, AuthlibBaseError):
        code = str(getattr(exc, "error", "") or "error")
        words = str(getattr(exc, "description", "") or "")[:MAX_PROVIDER_WORDS]
        said = f"{words}; code {code}" if words else f"code {code}"
        transient = status == 429 or status >= 500 or code in TRANSIENT_ERRORS
        return ProviderError(
            f"{s.label} {what} ({said}). Try connecting again.", code, transient=transient
        )
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        said, code = _words(_json_or_none(exc.response), status)
        return ProviderError(
            f"{s.label} {what} ({said}). Try again in a minute.", code, transient=True
        )
    if isinstance(exc, requests.RequestException):
        return ProviderError(
            f"{s.label} {what}: it didn't answer. Try again in a minute.",
            "unreachable",
            transient=True,
        )
    return ProviderError(
        f"{s.label} {what}: its answer wasn't what we expected. Try connecting again.",
        "bad-answer",
    )


__all__ = [
    "PLATFORMS",
    "SPECS",
    "ProviderError",
    "authorize_url",
    "canonical_webhook",
    "configured",
    "exchange",
    "fetch_account",
    "is_local",
    "refresher",
    "revoke",
    "setting_names",
    "validate_webhook",
    "webhook_tokens",
]
