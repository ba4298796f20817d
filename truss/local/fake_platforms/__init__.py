"""Fake YouTube, TikTok, Discord and Twitch on one local server (tests, `truss fake-platforms`).

Each provider speaks its real protocol (see /work/shared/PLATFORMS.md) under a path prefix, so an
adapter's base URL is the fake's base URL plus the prefix, in place of the real host:

  /google       accounts.google.com, oauth2.googleapis.com, openidconnect.googleapis.com:
                /o/oauth2/v2/auth, /token, /revoke, /v1/userinfo,
                /.well-known/openid-configuration
  /youtube      www.googleapis.com: /upload/youtube/v3/videos, /youtube/v3/videos,
                /youtube/v3/channels
  /tiktok       www.tiktok.com and open.tiktokapis.com: /v2/auth/authorize/, /v2/oauth/token/,
                /v2/oauth/revoke/, /v2/user/info/, /v2/post/publish/creator_info/query/,
                /v2/post/publish/video/init/, /v2/post/publish/status/fetch/
                (the upload_url it hands out: /tiktok/video/?upload_id=...&upload_token=...)
  /twitch       id.twitch.tv and api.twitch.tv: /oauth2/authorize, /oauth2/token,
                /oauth2/revoke, /oauth2/validate, /helix/users, /helix/clips
  /discord      discord.com: /oauth2/authorize, /api/oauth2/token, /api/oauth2/token/revoke,
                /api/users/@me, /api/webhooks/<id>/<token> (also under /api/v10/)
  /discord/cdn  cdn.discordapp.com: /avatars/<user id>/<avatar hash>.png
  /youtube-analytics  youtubeanalytics.googleapis.com: /v2/reports (and /tiktok/v2/video/query/):
                the received videos' statistics, growing day by day (stats.py)
  /_fake        the fake's own controls: GET received, GET received/<id>/video, GET/POST faults,
                POST discord/webhooks, GET endpoints

OAuth clients: FakeSettings.clients (default client id `fake-<platform>-client`, secret
`fake-<platform>-secret`, platform one of google, tiktok, twitch, discord). The consent page has an
"Allow" button (a real form post) and an account name field: the same name is the same account.

Faults, from Python (the methods below) or over HTTP, POST /_fake/faults with JSON:
  {"fault": "fail_next", "route": "youtube.upload", "kind": "server_error", "times": 1}
  {"fault": "drop_upload", "platform": "youtube", "at": 0.4}
  {"fault": "never_complete", "platform": "tiktok", "on": true}
  {"fault": "fail_processing", "platform": "tiktok", "reason": "file_format_check_failed"}
  {"fault": "revoke_refresh_tokens", "platform": "tiktok"}
  {"fault": "expire_access_tokens", "platform": "google"}     (platform optional: all)
  {"fault": "discord_size_limit", "bytes": 1048576}
  {"fault": "twitch_live", "on": false}
  {"fault": "clear"}
Routes for fail_next are in state.ROUTES plus "<platform>.token"; kinds: unauthorized, quota,
server_error, rate_limited, each answered in that provider's error shape.
"""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, Response, abort, request, send_file
from werkzeug.serving import WSGIRequestHandler, make_server

from truss.local.fake_platforms import discord_api, oauth, stats, tiktok, twitch, youtube
from truss.local.fake_platforms.state import (
    FAULT_KINDS,
    PLATFORMS,
    ROUTES,
    FakeSettings,
    State,
)
from truss.local.fake_platforms.wire import json_reply

__all__ = ["FAULT_KINDS", "PREFIXES", "ROUTES", "FakePlatforms", "FakeSettings"]

log = logging.getLogger("truss.fake_platforms")

PREFIXES = {
    "google": "/google",
    "youtube": "/youtube",
    "tiktok": "/tiktok",
    "twitch": "/twitch",
    "discord": "/discord",
    "discord_cdn": "/discord/cdn",
    "youtube_analytics": "/youtube-analytics",
}
UPLOAD_PLATFORMS = ("youtube", "tiktok")


class _QuietHandler(WSGIRequestHandler):
    """Logs method, path and status only: query strings can carry tokens."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("%s %s %s", self.command, self.path.split("?", 1)[0], code)


class FakePlatforms:
    """The fake providers on one local server. `with FakePlatforms() as fake: fake.base_url`."""

    def __init__(
        self,
        settings: FakeSettings | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | str | None = None,
    ) -> None:
        self.settings = settings or FakeSettings()
        self._own_dir = data_dir is None
        directory = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="truss-fakes-"))
        self.state = State(self.settings, directory)
        self.app = create_app(self.state)
        self._server = make_server(
            host, port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- life cycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def url(self, prefix: str) -> str:
        """The base URL for one provider: url("youtube") == base_url + "/youtube"."""
        return self.base_url + PREFIXES[prefix]

    def start(self) -> FakePlatforms:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._own_dir:
            shutil.rmtree(self.state.data_dir, ignore_errors=True)

    def __enter__(self) -> FakePlatforms:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- faults --------------------------------------------------------------------------

    def fail_next(self, route: str, kind: str = "server_error", times: int = 1) -> None:
        """The next `times` calls of `route` (ROUTES or "<platform>.token") fail with `kind`."""
        token_routes = {f"{p}.token" for p in PLATFORMS}
        if route not in ROUTES and route not in token_routes:
            raise ValueError(f"unknown route {route!r}")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.state.faults.next.setdefault(route, deque()).extend([kind] * times)

    def drop_upload(self, platform: str, at: float = 0.4) -> None:
        """Cut the connection of the next upload chunk that crosses `at` of the file (once)."""
        if platform not in UPLOAD_PLATFORMS or not 0 <= at < 1:
            raise ValueError("drop_upload: platform youtube or tiktok, 0 <= at < 1")
        self.state.faults.drop_at[platform] = at

    def never_complete(self, platform: str, on: bool = True) -> None:
        """Processing (YouTube, TikTok) or clip creation (Twitch) stays pending while on."""
        (self.state.faults.never_complete.add if on else self.state.faults.never_complete.discard)(
            platform
        )

    def fail_processing(self, platform: str, reason: str) -> None:
        """The next upload to youtube/tiktok ends FAILED / failed with `reason`."""
        self.state.faults.fail_processing[platform] = reason

    def revoke_refresh_tokens(self, platform: str) -> None:
        """Every refresh token of `platform` stops working (invalid_grant), as if revoked."""
        with self.state.lock:
            for grant in self.state.db["grants"].values():
                if grant["platform"] == platform and grant["refresh_token"]:
                    self.state.db["refresh"].pop(grant["refresh_token"], None)
                    grant["refresh_token"] = None
            self.state.save()

    def expire_access_tokens(self, platform: str | None = None) -> None:
        """Every access token (of `platform`) has expired: calls get 401 until refreshed."""
        self.state.expire_access(platform)

    def refreshes(self, platform: str) -> int:
        """How many refresh_token grants `platform`'s token endpoint has honoured."""
        return sum(
            g.get("refreshes", 0)
            for g in self.state.db["grants"].values()
            if g["platform"] == platform
        )

    def advance_clock(self, seconds: float) -> None:
        """Move the fakes' clock (token expiry, quota day) forward without sleeping."""
        self.state.clock_offset += seconds

    def clear_faults(self) -> None:
        self.state.faults.__init__()  # type: ignore[misc]

    # --- what the fakes hold -------------------------------------------------------------

    def endpoints(self) -> dict[str, dict[str, str]]:
        """Per platform: the OAuth endpoints, API base URL and client credentials to configure
        an adapter with (also at GET /_fake/endpoints)."""
        return endpoints(self.base_url, self.settings)

    def webhook_url(self) -> str:
        """A Discord webhook URL to paste: the first one the fakes know, else a new one."""
        hooks = list(self.state.db["webhooks"].values())
        if not hooks:
            return self.add_webhook()
        return f"{self.url('discord')}/api/webhooks/{hooks[0]['id']}/{hooks[0]['token']}"

    def add_webhook(self, channel: str = "clips") -> str:
        """A new Discord incoming webhook; its URL (to paste into the connections page)."""
        hook = oauth.add_webhook(self.state, channel)
        return f"{self.url('discord')}/api/webhooks/{hook['id']}/{hook['token']}"

    def received(self, platform: str | None = None) -> list[dict[str, Any]]:
        """What was posted, oldest first (see GET /_fake/received)."""
        return [
            _public_entry(entry, self.base_url)
            for entry in list(self.state.db["received"])
            if platform in (None, entry["platform"])
        ]

    def received_bytes(self, entry_id: str) -> bytes:
        entry = next(e for e in self.state.db["received"] if e["id"] == entry_id)
        return self.state.file_path(entry["file"]).read_bytes()


API_BASES = {"google": "/youtube", "tiktok": "/tiktok", "twitch": "/twitch", "discord": "/discord"}
PROFILE_PATHS = {
    "google": "/google/v1/userinfo",
    "tiktok": "/tiktok/v2/user/info/",
    "twitch": "/twitch/helix/users",
    "discord": "/discord/api/users/@me",
}


def endpoints(base_url: str, settings: FakeSettings) -> dict[str, dict[str, str]]:
    result = {}
    for platform, provider in oauth.PROVIDERS.items():
        client_id, secret = settings.clients[platform]
        result[platform] = {
            "authorize_url": base_url + provider.authorize,
            "token_url": base_url + provider.tokens[0],
            "revoke_url": base_url + provider.revoke,
            "profile_url": base_url + PROFILE_PATHS[platform],
            "api_base_url": base_url + API_BASES[platform],
            "client_id": client_id,
            "client_secret": secret,
        }
    return result


def _public_entry(entry: dict[str, Any], base_url: str) -> dict[str, Any]:
    public = {k: v for k, v in entry.items() if k != "file"}
    public["video_url"] = (
        f"{base_url}/_fake/received/{entry['id']}/video" if entry.get("file") else None
    )
    return public


def create_app(state: State) -> Flask:
    app = Flask("truss.local.fake_platforms")
    app.config["MAX_CONTENT_LENGTH"] = None
    for module in (oauth, youtube, tiktok, discord_api, twitch, stats):
        app.register_blueprint(module.blueprint(state))
    app.register_blueprint(_controls(state))
    return app


def _controls(state: State) -> Blueprint:
    bp = Blueprint("fake_controls", __name__, url_prefix="/_fake")

    @bp.get("/received")
    def received() -> Response:
        base = request.host_url.rstrip("/")
        return json_reply([_public_entry(e, base) for e in list(state.db["received"])])

    @bp.get("/received/<entry_id>/video")
    def received_video(entry_id: str) -> Response:
        entry = next((e for e in state.db["received"] if e["id"] == entry_id), None)
        if entry is None or not entry.get("file"):
            abort(404)
        return _serve(entry["file"], entry.get("content_type"))

    @bp.get("/files/<name>")
    def files(name: str) -> Response:
        entry = next((e for e in state.db["received"] if e.get("file") == name), None)
        if entry is None:
            abort(404)
        return _serve(name, entry.get("content_type"))

    def _serve(name: str, content_type: str | None) -> Response:
        kind = content_type if content_type and "*" not in content_type else "video/mp4"
        return send_file(state.file_path(name), mimetype=kind, conditional=True)

    @bp.get("/faults")
    def faults() -> Response:
        return json_reply(state.faults.describe())

    @bp.post("/faults")
    def set_fault() -> Response:
        fake = _facade(state)
        body = request.get_json(silent=True) or {}
        fault = body.get("fault")
        try:
            if fault == "fail_next":
                fake.fail_next(
                    body["route"], body.get("kind", "server_error"), int(body.get("times", 1))
                )
            elif fault == "drop_upload":
                fake.drop_upload(body["platform"], float(body.get("at", 0.4)))
            elif fault == "never_complete":
                fake.never_complete(body["platform"], bool(body.get("on", True)))
            elif fault == "fail_processing":
                fake.fail_processing(body["platform"], body.get("reason", "internal_error"))
            elif fault == "revoke_refresh_tokens":
                fake.revoke_refresh_tokens(body["platform"])
            elif fault == "expire_access_tokens":
                fake.expire_access_tokens(body.get("platform"))
            elif fault == "discord_size_limit":
                state.settings.discord_max_upload = int(body["bytes"])
            elif fault == "twitch_live":
                state.settings.twitch_live = bool(body.get("on", True))
            elif fault == "clear":
                fake.clear_faults()
            else:
                return json_reply({"error": f"unknown fault {fault!r}"}, 400)
        except (KeyError, ValueError, TypeError) as exc:
            return json_reply({"error": str(exc)}, 400)
        return json_reply(state.faults.describe())

    @bp.post("/discord/webhooks")
    def new_webhook() -> Response:
        hook = oauth.add_webhook(
            state, (request.get_json(silent=True) or {}).get("channel", "clips")
        )
        return json_reply(
            {"url": f"{request.host_url}discord/api/webhooks/{hook['id']}/{hook['token']}"}, 201
        )

    @bp.get("/endpoints")
    def all_endpoints() -> Response:
        return json_reply(endpoints(request.host_url.rstrip("/"), state.settings))

    return bp


def _facade(state: State) -> FakePlatforms:
    """The fault methods without a server (they only touch the state)."""
    fake = FakePlatforms.__new__(FakePlatforms)
    fake.state, fake.settings = state, state.settings
    return fake


@click.command("fake-platforms")
@click.option("--port", default=5100, show_default=True, type=int)
@click.option(
    "--data-dir",
    default=".truss/fake-platforms",
    show_default=True,
    help="Where the fakes keep uploaded videos and the tokens they issued (kept across restarts).",
)
def fake_platforms_command(port: int, data_dir: str) -> None:
    """Fake YouTube, TikTok, Discord and Twitch (OAuth, uploads, webhooks) on 127.0.0.1:PORT, for
    the local stack; what they received is at /_fake/received."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    fake = FakePlatforms(port=port, data_dir=data_dir).start()
    click.echo(f"fake platforms on {fake.base_url}")
    for name in PREFIXES:
        click.echo(f"  {name:12} {fake.url(name)}")
    click.echo(f"  a Discord webhook to paste: {fake.webhook_url()}")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    fake.stop()
