"""OAuth 2 for the four providers as they really behave: a consent page, the token endpoint
(authorization_code and refresh_token grants), revocation, and each provider's profile endpoint.

Provider quirks kept: Google issues a refresh token only with access_type=offline&prompt=consent;
TikTok names the client `client_key`, separates scopes with commas and rotates refresh tokens
(FakeSettings.rotating_refresh); Twitch returns scopes as a list and its errors as
{"status", "message"}; Discord's token response for scope webhook.incoming carries the webhook.
PKCE (S256 or plain) is checked when the authorize request had a code_challenge.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request
from flask.typing import ResponseReturnValue
from markupsafe import escape

from truss.local.fake_platforms.state import State, new_token, stable_id
from truss.local.fake_platforms.wire import bearer, client_credentials, json_reply

CODE_TTL_S = 600


@dataclass(frozen=True)
class Provider:
    platform: str
    label: str
    authorize: str
    tokens: tuple[str, ...]
    revoke: str
    id_field: str = "client_id"
    scope_sep: str = " "
    account: str = "Local creator"


PROVIDERS = {
    "google": Provider(
        "google",
        "Google (YouTube)",
        "/google/o/oauth2/v2/auth",
        ("/google/token",),
        "/google/revoke",
        account="Local YouTuber",
    ),
    "tiktok": Provider(
        "tiktok",
        "TikTok",
        "/tiktok/v2/auth/authorize/",
        ("/tiktok/v2/oauth/token/",),
        "/tiktok/v2/oauth/revoke/",
        id_field="client_key",
        scope_sep=",",
        account="local.tiktoker",
    ),
    "twitch": Provider(
        "twitch",
        "Twitch",
        "/twitch/oauth2/authorize",
        ("/twitch/oauth2/token",),
        "/twitch/oauth2/revoke",
        account="local_streamer",
    ),
    "discord": Provider(
        "discord",
        "Discord",
        "/discord/oauth2/authorize",
        ("/discord/api/oauth2/token", "/discord/api/v10/oauth2/token"),
        "/discord/api/oauth2/token/revoke",
        account="local-discord",
    ),
}

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>{label} (local fake)</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto">
<h1>{label} <small>(local fake)</small></h1>
<p>An application wants access to your account: <code>{scopes}</code></p>
<form method="post">{hidden}
<p><label>Account name <input name="account" value="{account}"></label></p>{extra}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def avatar_png(seed: str, size: int = 32) -> bytes:
    """A small solid-colour PNG, the colour derived from `seed`."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    row = b"\x00" + bytes((r, g, b)) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def avatar_url(platform: str, user_id: str) -> str:
    return f"{request.host_url}_fake/avatar/{platform}/{user_id}.png"


def token_error(platform: str, status: int, error: str, description: str) -> Response:
    if platform == "twitch":
        phrase = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}.get(status, "Error")
        return json_reply({"error": phrase, "status": status, "message": description}, status)
    body: dict[str, Any] = {"error": error, "error_description": description}
    if platform == "tiktok":
        body["log_id"] = new_token()[:20]
    return json_reply(body, status)


def _client_ok(state: State, platform: str, client_id: str, secret: str | None = None) -> bool:
    expected_id, expected_secret = state.settings.clients[platform]
    return client_id == expected_id and (secret is None or secret == expected_secret)


def _pkce_ok(pending: dict[str, Any], verifier: str) -> bool:
    challenge, method = pending.get("code_challenge"), pending.get("code_challenge_method", "plain")
    if not challenge:
        return True
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    return verifier == challenge


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_oauth", __name__)

    def authorize(provider: Provider) -> ResponseReturnValue:
        params = request.values
        client_id = params.get(provider.id_field) or params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if not _client_ok(state, provider.platform, client_id):
            return Response(f"{provider.label}: unknown client", status=400)
        if params.get("response_type") != "code" or not redirect_uri:
            return Response("response_type=code and redirect_uri are required", status=400)
        scopes = [s for s in params.get("scope", "").replace(",", " ").split() if s]
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                for k, v in request.args.items(multi=True)
            )
            extra = ""
            if "webhook.incoming" in scopes:
                extra = '<p><label>Channel <input name="channel" value="clips"></label></p>'
            return _PAGE.format(
                label=escape(provider.label),
                scopes=escape(" ".join(scopes)),
                hidden=hidden,
                account=escape(provider.account),
                extra=extra,
            )
        back: dict[str, str] = {"state": params.get("state", "")}
        if params.get("decision") != "allow":
            back["error"] = "access_denied"
        else:
            user = state.user(provider.platform, params.get("account") or provider.account)
            code = new_token()
            prompt = params.get("prompt", "").split()
            with state.lock:
                state.db["codes"][code] = {
                    "platform": provider.platform,
                    "client_id": client_id,
                    "redirect_uri": redirect_uri,
                    "scopes": scopes,
                    "user_id": user["id"],
                    "offline": params.get("access_type") == "offline" and "consent" in prompt,
                    "code_challenge": params.get("code_challenge"),
                    "code_challenge_method": params.get("code_challenge_method", "plain"),
                    "channel": params.get("channel", "clips"),
                    "expires": state.now() + CODE_TTL_S,
                }
                state.save()
            back["code"] = code
            if provider.platform == "google":
                back["scope"] = " ".join(scopes)
        separator = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + separator + urlencode(back), code=302)

    def token(provider: Provider) -> Response:
        platform = provider.platform
        client_id, secret = client_credentials(request, provider.id_field)
        if not _client_ok(state, platform, client_id, secret):
            return token_error(platform, 401, "invalid_client", "Unauthorized client")
        if kind := state.faults.take(f"{platform}.token"):
            if kind == "unauthorized":
                return token_error(platform, 401, "invalid_client", "Unauthorized client")
            if kind in ("quota", "rate_limited"):
                return token_error(platform, 429, "rate_limit_exceeded", "Too many requests")
            return token_error(platform, 503, "temporarily_unavailable", "Try again later")
        grant_type = request.form.get("grant_type")
        with state.lock:
            if grant_type == "authorization_code":
                grant = _redeem(provider, client_id)
                if isinstance(grant, Response):
                    return grant
            elif grant_type == "refresh_token":
                gid = state.db["refresh"].get(request.form.get("refresh_token", ""))
                grant = state.db["grants"].get(gid or "")
                if (
                    grant is None
                    or grant["platform"] != platform
                    or grant["client_id"] != client_id
                ):
                    return token_error(
                        platform, 400, "invalid_grant", "Token has been expired or revoked."
                    )
                state.issue_access(grant)
                grant["refreshes"] = grant.get("refreshes", 0) + 1
                if platform in state.settings.rotating_refresh:
                    state.db["refresh"].pop(grant["refresh_token"], None)
                    grant["refresh_token"] = new_token(f"fake-{platform}-rt-")
                    state.db["refresh"][grant["refresh_token"]] = grant["id"]
            else:
                return token_error(platform, 400, "unsupported_grant_type", "Invalid grant_type")
            state.save()
            return json_reply(_token_body(provider, grant, grant_type == "refresh_token"))

    def _redeem(provider: Provider, client_id: str) -> dict[str, Any] | Response:
        platform = provider.platform
        pending = state.db["codes"].pop(request.form.get("code", ""), None)
        bad = (
            pending is None
            or pending["platform"] != platform
            or pending["client_id"] != client_id
            or pending["redirect_uri"] != request.form.get("redirect_uri", "")
            or pending["expires"] <= state.now()
        )
        if bad or not _pkce_ok(pending or {}, request.form.get("code_verifier", "")):
            return token_error(platform, 400, "invalid_grant", "Invalid authorization code")
        assert pending is not None
        grant: dict[str, Any] = {
            "id": new_token(),
            "platform": platform,
            "client_id": client_id,
            "user_id": pending["user_id"],
            "scopes": pending["scopes"],
            "refresh_token": None,
            "webhook_id": None,
        }
        if platform != "google" or pending["offline"]:
            grant["refresh_token"] = new_token(f"fake-{platform}-rt-")
            state.db["refresh"][grant["refresh_token"]] = grant["id"]
        if platform == "discord" and "webhook.incoming" in pending["scopes"]:
            grant["webhook_id"] = add_webhook(state, pending["channel"], client_id)["id"]
        state.db["grants"][grant["id"]] = grant
        state.issue_access(grant)
        return grant

    def _token_body(provider: Provider, grant: dict[str, Any], refresh: bool) -> dict[str, Any]:
        platform = provider.platform
        body: dict[str, Any] = {
            "access_token": grant["access_token"],
            "expires_in": state.settings.ttl(platform),
            "token_type": "bearer" if platform == "twitch" else "Bearer",
            "scope": grant["scopes"]
            if platform == "twitch"
            else provider.scope_sep.join(grant["scopes"]),
        }
        if grant["refresh_token"] and not (refresh and platform == "google"):
            body["refresh_token"] = grant["refresh_token"]  # Google's refresh answer has none
        if platform == "tiktok":
            body["open_id"] = grant["user_id"]
            body["refresh_expires_in"] = 31_536_000
        if grant.get("webhook_id"):
            body["webhook"] = webhook_view(state, grant["webhook_id"], with_url=True)
        return body

    def revoke(provider: Provider) -> Response:
        platform = provider.platform
        given = request.values.get(provider.id_field) or request.values.get("client_id")
        basic_id, _ = client_credentials(request, provider.id_field)
        client_id = given or basic_id
        if client_id and not _client_ok(state, platform, client_id):
            return token_error(platform, 401, "invalid_client", "Unauthorized client")
        gid = state.grant_id_for_token(platform, request.values.get("token", ""))
        if gid is None:
            if platform in ("google", "twitch"):
                return token_error(platform, 400, "invalid_token", "Invalid token")
            return json_reply({})
        state.revoke_grant(gid)
        return json_reply({})

    for provider in PROVIDERS.values():
        bp.add_url_rule(
            provider.authorize,
            f"authorize_{provider.platform}",
            lambda p=provider: authorize(p),
            methods=["GET", "POST"],
        )
        for i, path in enumerate(provider.tokens):
            bp.add_url_rule(
                path,
                f"token_{provider.platform}_{i}",
                lambda p=provider: token(p),
                methods=["POST"],
            )
        bp.add_url_rule(
            provider.revoke,
            f"revoke_{provider.platform}",
            lambda p=provider: revoke(p),
            methods=["POST"],
        )

    @bp.get("/google/.well-known/openid-configuration")
    def google_discovery() -> Response:
        root = request.host_url + "google"
        return json_reply(
            {
                "issuer": root,
                "authorization_endpoint": root + "/o/oauth2/v2/auth",
                "token_endpoint": root + "/token",
                "userinfo_endpoint": root + "/v1/userinfo",
                "revocation_endpoint": root + "/revoke",
                "jwks_uri": root + "/oauth2/v3/certs",
                "response_types_supported": ["code"],
                "scopes_supported": ["openid", "email", "profile"],
            }
        )

    @bp.get("/google/oauth2/v3/certs")
    def google_certs() -> Response:
        return json_reply({"keys": []})

    @bp.get("/google/v1/userinfo")
    @bp.get("/google/oauth2/v3/userinfo")
    def google_userinfo() -> Response:
        grant = state.grant_for_access("google", bearer(request))
        if grant is None:
            return json_reply(
                {"error": "invalid_request", "error_description": "Invalid Credentials"},
                401,
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        user = state.user_of(grant)
        return json_reply(
            {
                "sub": user["id"],
                "name": user["name"],
                "given_name": user["name"].split()[0],
                "picture": avatar_url("google", user["id"]),
                "email": f"{stable_id('email', user['name'], n=8)}@example.com",
                "email_verified": True,
            }
        )

    @bp.get("/tiktok/v2/user/info/")
    def tiktok_user() -> Response:
        grant = state.grant_for_access("tiktok", bearer(request))
        if grant is None:
            return tiktok_envelope({}, 401, "access_token_invalid", "The access token is invalid.")
        if "user.info.basic" not in grant["scopes"]:
            return tiktok_envelope({}, 401, "scope_not_authorized", "user.info.basic not granted")
        user = state.user_of(grant)
        every = {
            "open_id": user["id"],
            "union_id": stable_id("union", user["id"]),
            "avatar_url": avatar_url("tiktok", user["id"]),
            "display_name": user["name"],
        }
        fields = [f for f in request.args.get("fields", "").split(",") if f in every]
        return tiktok_envelope({"user": {f: every[f] for f in fields}})

    @bp.get("/discord/api/users/@me")
    @bp.get("/discord/api/v10/users/@me")
    def discord_me() -> Response:
        grant = state.grant_for_access("discord", bearer(request))
        if grant is None or "identify" not in grant["scopes"]:
            return json_reply({"message": "401: Unauthorized", "code": 0}, 401)
        user = state.user_of(grant)
        return json_reply(
            {
                "id": user["id"],
                "username": user["name"],
                "global_name": user["name"],
                "discriminator": "0",
                "avatar": discord_avatar_hash(user["id"]),
            }
        )

    @bp.get("/discord/cdn/avatars/<user_id>/<name>.png")
    def discord_avatar(user_id: str, name: str) -> Response:
        return Response(avatar_png(f"discord/{user_id}"), mimetype="image/png")

    @bp.get("/twitch/oauth2/validate")
    def twitch_validate() -> Response:
        header = request.headers.get("Authorization", "")
        token = header.split(" ", 1)[1].strip() if " " in header else ""
        grant = state.grant_for_access("twitch", token)
        if grant is None:
            return token_error("twitch", 401, "invalid_token", "invalid access token")
        user = state.user_of(grant)
        return json_reply(
            {
                "client_id": grant["client_id"],
                "login": user["name"].lower(),
                "scopes": grant["scopes"],
                "user_id": user["id"],
                "expires_in": int(state.db["access"][token]["expires"] - state.now()),
            }
        )

    @bp.get("/_fake/avatar/<platform>/<user_id>.png")
    def avatar(platform: str, user_id: str) -> Response:
        return Response(avatar_png(f"{platform}/{user_id}"), mimetype="image/png")

    return bp


def discord_avatar_hash(user_id: str) -> str:
    return hashlib.md5(user_id.encode(), usedforsecurity=False).hexdigest()


def tiktok_envelope(
    data: dict[str, Any], status: int = 200, code: str = "ok", message: str = ""
) -> Response:
    """TikTok's {"data": ..., "error": {"code", "message", "log_id"}} envelope."""
    error = {"code": code, "message": message, "log_id": new_token()[:20]}
    return json_reply({"data": data, "error": error}, status)


def add_webhook(state: State, channel: str = "clips", application_id: str | None = None) -> dict:
    """A Discord incoming webhook (made by the OAuth flow or a test); its stored record."""
    hook = {
        "id": stable_id("webhook", new_token()),
        "token": new_token(),
        "type": 1,
        "name": "Truss",
        "avatar": None,
        "channel_id": stable_id("channel", channel),
        "channel_name": channel,
        "guild_id": stable_id("guild", "local"),
        "application_id": application_id,
    }
    with state.lock:
        state.db["webhooks"][hook["id"]] = hook
        state.save()
    return hook


def webhook_view(state: State, webhook_id: str, with_url: bool = False) -> dict[str, Any]:
    hook = dict(state.db["webhooks"][webhook_id])
    hook.pop("channel_name", None)
    if with_url:
        hook["url"] = f"{request.host_url}discord/api/webhooks/{hook['id']}/{hook['token']}"
    return hook
