"""The connections page against the fake platforms: connect each platform through the real
pages (the consent page pressed like a browser), tokens sealed at rest, disconnect revokes and
deletes, a pasted Discord webhook, reconnect, other creators, and no token anywhere."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.fake_platforms import fake_platforms, press  # noqa: F401  (fixture)
from truss.config import TEST_ENVIRON, from_environ
from truss.data import keys
from truss.data import platform_tokens as store
from truss.extensions import get_table, get_token_service
from truss.local.dev import fake_platforms_env
from truss.local.fake_platforms import FakePlatforms
from truss.publishing import providers
from truss.publishing.tokens import RefreshRefused

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OAUTH_PLATFORMS = ("youtube", "tiktok", "twitch", "discord")
LABELS = {"youtube": "YouTube", "tiktok": "TikTok", "twitch": "Twitch", "discord": "Discord"}


def wired_config(fake: FakePlatforms, tmp_path: Path, **extra: str) -> dict[str, Any]:
    """The settings `truss dev` gives the app, pointed at this test's fakes."""
    env = {**TEST_ENVIRON, **fake_platforms_env(fake.base_url, {}), **extra}
    return {**from_environ(env), "TOKEN_KEY_FILE": str(tmp_path / "token-keys")}


@pytest.fixture
def app(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> Flask:
    return make_app(redis, **wired_config(fake_platforms, tmp_path))


def text(answer: Any) -> str:
    """What the page says (entities like &#39; read as the characters they are)."""
    return html.unescape(answer.get_data(as_text=True))


def truss_log(caplog: Any) -> str:
    """Every line logged (but the fake providers' own request log: they stand in for Discord
    & co., whose servers see the tokens anyway)."""
    return "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("truss.fake_platforms")
    )


def signed_in(redis: fakeredis.FakeRedis, **config: Any) -> tuple[Flask, FlaskClient]:
    """An app of its own (other settings than the fixture's) and a client signed in to it."""
    app = make_app(redis, **config)
    client = app.test_client()
    AuthActions(app, client).login()
    return app, client


def csrf(client: FlaskClient, path: str = "/connections") -> str:
    found = CSRF.search(text(client.get(path)))
    assert found, "no CSRF token on the page"
    return found.group(1)


def connect_through_pages(
    client: FlaskClient, platform: str, account: str = "", decision: str = "allow"
) -> Any:
    """Press Connect, let the fake's consent page answer, follow the callback."""
    answer = client.post(f"/connections/{platform}/connect", data={"csrf_token": csrf(client)})
    assert answer.status_code == 303, text(answer)
    back = press(answer.headers["Location"], account=account, decision=decision)
    path = back.split("://", 1)[1].split("/", 1)[1]
    return client.get("/" + path, follow_redirects=True)


def raw_item(app: Flask, cid: str, platform: str) -> dict[str, Any] | None:
    with app.app_context():
        return get_table().find(keys.platform_token(cid, platform))


def creator_id(app: Flask, email: str = "creator@example.com") -> str:
    from truss.data.creators import get_or_create_by_email

    with app.test_request_context():
        return get_or_create_by_email(get_table(), email).id


@pytest.mark.parametrize("platform", OAUTH_PLATFORMS)
def test_connect_each_platform_through_the_pages_and_the_token_is_sealed(
    app: Flask, client: FlaskClient, auth: AuthActions, platform: str, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)  # what a server logs, and every line Truss could
    caplog.set_level(logging.DEBUG, logger="truss")
    auth.login()
    page = connect_through_pages(client, platform, account="Ada Creator")
    shown = text(page)
    assert f"Connected {LABELS[platform]} (local)" in shown
    assert "Ada Creator" in shown
    assert f"Disconnect {LABELS[platform]} (local)" in shown

    cid = creator_id(app)
    item = raw_item(app, cid, platform)
    assert item is not None and item["status"] == "connected"
    with app.test_request_context():
        tokens = get_token_service().tokens(cid, platform)
    assert tokens.access_token
    flat = json.dumps(item, default=str)
    for secret in (tokens.access_token, tokens.refresh_token, *tokens.extras.values()):
        if len(secret) > 12:  # ids and scopes are not secrets; tokens and urls are long
            if secret in (item.get("account_id"), item.get("avatar_url")):
                continue
            assert secret not in flat  # sealed: the raw item holds no token
            assert secret not in shown  # and no page shows one
            assert secret not in truss_log(caplog)  # nor any log line
    assert item["scopes"]  # the scopes granted are shown
    assert item["scopes"][0].rsplit("/", 1)[-1] in shown  # youtube.upload, not its URL


def test_youtube_gets_a_refresh_token_and_the_channel_name(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    connect_through_pages(client, "youtube", account="Grace Videos")
    cid = creator_id(app)
    with app.test_request_context():
        tokens = get_token_service().tokens(cid, "youtube")
        record = store.get(get_table(), cid, "youtube")
    assert tokens.refresh_token  # access_type=offline&prompt=consent
    assert record is not None and record.account_name == "Grace Videos"
    assert record.avatar_url.startswith("http://127.0.0.1:")
    assert providers.YOUTUBE_UPLOAD in record.scopes


def test_discord_oauth_stores_the_webhook_as_the_token(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    connect_through_pages(client, "discord", account="Linus")
    with app.test_request_context():
        tokens = get_token_service().tokens(creator_id(app), "discord")
    assert tokens.access_token == tokens.extras["webhook_url"]
    assert tokens.access_token.startswith(fake_platforms.url("discord") + "/api/webhooks/")
    assert tokens.expires_at is None  # a webhook doesn't expire: never refreshed


def test_denied_consent_says_so_and_connects_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    page = connect_through_pages(client, "tiktok", decision="deny")
    assert "You didn't allow Truss access on the TikTok (local) page" in text(page)
    assert raw_item(app, creator_id(app), "tiktok") is None


def test_provider_error_on_the_token_endpoint_is_shown_in_words(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    fake_platforms.fail_next("twitch.token", "server_error")
    page = connect_through_pages(client, "twitch")
    shown = text(page)
    assert "Twitch didn't accept the sign-in" in shown
    assert "Try" in shown
    assert raw_item(app, creator_id(app), "twitch") is None


def test_a_callback_with_a_state_that_did_not_start_here_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    answer = client.get("/connections/callback?code=abc&state=forged")
    assert answer.status_code == 400
    assert "didn't start on this page" in text(answer)
    assert store.list_for_creator  # nothing stored:
    with app.app_context():
        assert store.list_for_creator(get_table(), creator_id(app)) == []


def test_disconnect_revokes_at_the_fake_and_deletes(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    connect_through_pages(client, "tiktok")
    cid = creator_id(app)
    with app.test_request_context():
        tokens = get_token_service().tokens(cid, "tiktok")
    profile = fake_platforms.endpoints()["tiktok"]["profile_url"]
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    assert requests.get(profile, params={"fields": "open_id"}, headers=bearer, timeout=5).ok

    page = client.post(
        "/connections/tiktok/disconnect", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    assert "Truss's access was revoked" in text(page)
    assert raw_item(app, cid, "tiktok") is None
    gone = requests.get(profile, params={"fields": "open_id"}, headers=bearer, timeout=5)
    assert gone.status_code == 401  # revoked at the provider


def test_disconnect_says_when_the_provider_did_not_revoke(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    connect_through_pages(client, "twitch")
    fake_platforms.stop()  # the provider can't be reached
    page = client.post(
        "/connections/twitch/disconnect", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    shown = text(page)
    assert "didn't confirm it revoked" in shown
    assert raw_item(app, creator_id(app), "twitch") is None  # deleted all the same
    fake_platforms.stop = lambda: None  # type: ignore[method-assign]  (the fixture stops it again)


def test_a_pasted_discord_webhook_connects(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)  # what a server logs, and every line Truss could
    caplog.set_level(logging.DEBUG, logger="truss")
    auth.login()
    url = fake_platforms.add_webhook("highlights")
    page = client.post(
        "/connections/discord/webhook",
        data={"csrf_token": csrf(client), "webhook_url": url},
        follow_redirects=True,
    )
    shown = text(page)
    assert "Connected Discord (local): Webhook" in shown
    cid = creator_id(app)
    with app.test_request_context():
        tokens = get_token_service().tokens(cid, "discord")
    assert tokens.access_token.endswith(url.rsplit("/webhooks/", 1)[1])
    webhook_token = url.rsplit("/", 1)[1]
    assert webhook_token not in shown
    assert webhook_token not in json.dumps(raw_item(app, cid, "discord"), default=str)
    assert webhook_token not in truss_log(caplog)

    gone = client.post(
        "/connections/discord/disconnect", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    assert "The webhook itself still exists in Discord" in text(gone)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://example.com/not-a-webhook", "That isn't a Discord webhook URL"),
        ("https://discord.com/api/webhooks/123456/unknown-token", "Discord doesn't know"),
        ("", "Paste the webhook URL"),
    ],
)
def test_a_bad_webhook_says_why(
    app: Flask, client: FlaskClient, auth: AuthActions, url: str, words: str
) -> None:
    auth.login()
    answer = client.post(
        "/connections/discord/webhook", data={"csrf_token": csrf(client), "webhook_url": url}
    )
    assert answer.status_code == 400
    shown = text(answer)
    assert words in shown
    assert 'id="webhook-error"' in shown and 'aria-invalid="true"' in shown
    assert "unknown-token" not in shown  # a pasted URL is never echoed back
    assert raw_item(app, creator_id(app), "discord") is None


def test_a_deleted_webhook_says_it_is_unknown(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    url = fake_platforms.add_webhook()
    fake_platforms.state.db["webhooks"].clear()  # deleted in Discord
    answer = client.post(
        "/connections/discord/webhook", data={"csrf_token": csrf(client), "webhook_url": url}
    )
    assert answer.status_code == 400
    assert "it was deleted" in text(answer)


def test_needs_reconnect_shows_the_reconnect_button(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    connect_through_pages(client, "youtube")
    cid = creator_id(app)
    fake_platforms.revoke_refresh_tokens("google")
    with app.test_request_context():
        tokens = get_token_service().tokens(cid, "youtube")
        record = store.get(get_table(), cid, "youtube")
        with pytest.raises(RefreshRefused):  # what TokenService turns into needs_reconnect
            providers.refresher("youtube", app.config)(tokens)
        assert record is not None
        assert store.mark_needs_reconnect(
            get_table(), cid, "youtube", record.version, "the platform refused to renew the token"
        )
    shown = text(client.get("/connections"))
    assert "Needs reconnecting" in shown
    assert "Reconnect YouTube (local)" in shown
    page = connect_through_pages(client, "youtube")  # the same button, the same flow
    assert "Connected YouTube (local)" in text(page)
    assert raw_item(app, cid, "youtube")["status"] == "connected"  # type: ignore[index]


def test_every_connection_route_as_another_creator_is_404_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login("owner@example.com")
    for platform in OAUTH_PLATFORMS:
        connect_through_pages(client, platform)
    owner = creator_id(app, "owner@example.com")
    with app.app_context():
        before = {r.platform: r.version for r in store.list_for_creator(get_table(), owner)}
    assert set(before) == set(OAUTH_PLATFORMS)

    other = app.test_client()
    auth.login("other@example.com", client=other)
    token = csrf(other)
    for platform in OAUTH_PLATFORMS:
        answer = other.post(f"/connections/{platform}/disconnect", data={"csrf_token": token})
        assert answer.status_code == 404
    assert other.post("/connections/nope/connect", data={"csrf_token": token}).status_code == 404
    assert other.get("/connections/callback?code=x&state=y").status_code == 400
    shown = text(other.get("/connections"))
    assert "Connect YouTube (local)" in shown and "Disconnect" not in shown
    assert 'href="/dev/platforms"' in shown  # locally, where the fakes' posts are seen
    with app.app_context():
        after = {r.platform: r.version for r in store.list_for_creator(get_table(), owner)}
    assert after == before


def test_unconfigured_platforms_name_their_settings_and_no_secret(
    aws: None, redis: fakeredis.FakeRedis, client: FlaskClient
) -> None:
    _, other = signed_in(redis, YOUTUBE_CLIENT_ID="id-only", DISCORD_CLIENT_SECRET="s3cret-value")
    shown = text(other.get("/connections"))
    assert "Not set up on this server" in shown
    assert (
        "<code>TIKTOK_CLIENT_KEY</code>" in shown and "<code>TIKTOK_CLIENT_SECRET</code>" in shown
    )
    assert "/connections/callback" in shown  # the redirect URI to register
    assert "Connect YouTube" not in shown  # an id without its secret isn't offered
    assert "s3cret-value" not in shown and "id-only" not in shown
    assert "Connect this Discord webhook" in shown  # a pasted webhook always is
    assert "Clips can't be uploaded to Twitch" in shown
    assert "(local)" not in shown and "/dev/platforms" not in shown


def test_without_a_vault_publishing_is_unavailable(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    _, client = signed_in(redis, **{**wired_config(fake_platforms, tmp_path), "TOKEN_KEY_FILE": ""})
    shown = text(client.get("/connections"))
    assert "Publishing is unavailable on this server" in shown
    assert "TRUSS_TOKEN_KMS_KEY_ID" in shown
    assert "Connect YouTube" not in shown
    answer = client.post("/connections/youtube/connect", data={"csrf_token": csrf(client)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/connections")


def test_nav_links_to_connections_and_the_csp_allows_the_consent_pages(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    answer = client.get("/connections")
    assert 'href="/connections" aria-current="page">Connections</a>' in text(answer)
    csp = answer.headers["Content-Security-Policy"]
    form_action = next(p for p in csp.split("; ") if p.startswith("form-action"))
    assert fake_platforms.base_url in form_action  # the Connect form redirects there
    media = next(p for p in csp.split("; ") if p.startswith("media-src"))
    assert fake_platforms.base_url in media  # local only: /dev/platforms plays received videos


def test_production_csp_has_no_fake_origin(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    config = {**wired_config(fake_platforms, tmp_path), "TRUSS_ENV": "production"}
    app = make_app(redis, **config)
    with app.test_request_context():
        from truss.security import content_security_policy

        csp = content_security_policy()
    media = next(p for p in csp.split("; ") if p.startswith("media-src"))
    assert fake_platforms.base_url not in media
    # Avatars: the hosts the providers' pictures come from, no wildcard over Google's content.
    img = next(p for p in csp.split("; ") if p.startswith("img-src")).split()
    assert "https://yt3.ggpht.com" in img and "https://cdn.discordapp.com" in img
    assert not any("googleusercontent" in source and "*" in source for source in img)


def test_dev_platforms_lists_a_received_post_with_a_playable_video(
    app: Flask, client: FlaskClient, auth: AuthActions, fake_platforms: FakePlatforms
) -> None:
    auth.login()
    url = fake_platforms.add_webhook()
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2048
    sent = requests.post(
        url + "?wait=true",
        data={"payload_json": json.dumps({"content": "Best moment of the stream"})},
        files={"files[0]": ("clip.mp4", video, "video/mp4")},
        timeout=5,
    )
    assert sent.ok, sent.text
    shown = text(client.get("/dev/platforms"))
    assert "Best moment of the stream" in shown
    found = re.search(r'<video controls preload="metadata" src="([^"]+)"', shown)
    assert found
    played = requests.get(found.group(1), timeout=5)
    assert played.status_code == 200 and played.content == video
    assert played.headers["Content-Type"].startswith("video/")


def test_dev_platforms_is_404_outside_local(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    config = {**wired_config(fake_platforms, tmp_path), "TRUSS_ENV": "production"}
    _, client = signed_in(redis, **config)
    assert client.get("/dev/platforms").status_code == 404


def test_truss_dev_wires_each_platform_to_the_fakes_unless_its_client_id_is_set(
    tmp_path: Path,
) -> None:
    from truss.local.dev import StackSettings

    settings = StackSettings(tmp_path, fake_platforms_port=5299)
    env = fake_platforms_env(settings.fake_platforms_url, {"TIKTOK_CLIENT_KEY": "real-key"})
    assert env["TRUSS_FAKE_PLATFORMS_URL"] == "http://127.0.0.1:5299"
    assert env["YOUTUBE_CLIENT_ID"] == "fake-google-client"
    assert env["YOUTUBE_UPLOAD_BASE"] == "http://127.0.0.1:5299/youtube/upload"
    assert env["DISCORD_API_BASE"] == "http://127.0.0.1:5299/discord/api"
    assert env["TWITCH_API_BASE"] == "http://127.0.0.1:5299/twitch"
    assert "TIKTOK_CLIENT_KEY" not in env and "TIKTOK_API_BASE" not in env  # the real TikTok
    config = from_environ({**TEST_ENVIRON, **env, "TIKTOK_CLIENT_KEY": "real-key"})
    assert providers.is_local("youtube", config) and not providers.is_local("tiktok", config)
    assert StackSettings(tmp_path, fake_platforms_port=0).fake_platforms_env() == {}
