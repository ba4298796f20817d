"""truss/publishing/providers.py against the fake platforms on localhost (no Flask): the
authorize URL each provider needs, the code exchange, who the account is, refresh (rotation,
refusal, provider trouble), revoke, and pasted Discord webhooks."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.fake_platforms import fake_platforms, press  # noqa: F401  (fixture)
from truss.config import TEST_ENVIRON, from_environ
from truss.local.dev import fake_platforms_env
from truss.local.fake_platforms import FakePlatforms
from truss.publishing import providers
from truss.publishing.providers import ProviderError
from truss.publishing.tokens import RefreshRefused, TokenSet

REDIRECT = "http://127.0.0.1:5000/connections/callback"


def config_for(fake: FakePlatforms, **extra: Any) -> dict[str, Any]:
    return {**from_environ({**TEST_ENVIRON, **fake_platforms_env(fake.base_url, {})}), **extra}


def connected(
    fake: FakePlatforms, platform: str, account: str = "", config: dict[str, Any] | None = None
) -> TokenSet:
    """The whole flow as the connections page runs it."""
    config = config or config_for(fake)
    url, state, verifier = providers.authorize_url(platform, config, REDIRECT)
    back = parse_qs(urlsplit(press(url, account=account)).query)
    assert back["state"] == [state]
    return providers.exchange(platform, config, back["code"][0], REDIRECT, verifier)


def test_authorize_urls_carry_what_each_provider_needs(fake_platforms: FakePlatforms) -> None:
    config = config_for(fake_platforms)
    youtube = parse_qs(urlsplit(providers.authorize_url("youtube", config, REDIRECT)[0]).query)
    assert youtube["access_type"] == ["offline"] and youtube["prompt"] == ["consent"]
    assert youtube["code_challenge_method"] == ["S256"]
    assert providers.YOUTUBE_UPLOAD in youtube["scope"][0].split()
    tiktok = parse_qs(urlsplit(providers.authorize_url("tiktok", config, REDIRECT)[0]).query)
    assert tiktok["client_key"] == [fake_platforms.settings.clients["tiktok"][0]]
    assert tiktok["scope"] == ["user.info.basic,video.publish,video.upload,video.list"]
    twitch = parse_qs(urlsplit(providers.authorize_url("twitch", config, REDIRECT)[0]).query)
    assert twitch["scope"] == ["clips:edit chat:read"]
    discord = parse_qs(urlsplit(providers.authorize_url("discord", config, REDIRECT)[0]).query)
    assert set(discord["scope"][0].split()) == {"webhook.incoming", "identify"}
    _, first, _ = providers.authorize_url("discord", config, REDIRECT)
    _, second, _ = providers.authorize_url("discord", config, REDIRECT)
    assert first != second  # a fresh state each time


def test_a_platform_is_offered_only_with_its_id_and_secret() -> None:
    config = from_environ({**TEST_ENVIRON, "TIKTOK_CLIENT_KEY": "key"})
    assert not providers.configured("tiktok", config)
    config = from_environ({**TEST_ENVIRON, "TIKTOK_CLIENT_KEY": "k", "TIKTOK_CLIENT_SECRET": "s"})
    assert providers.configured("tiktok", config)
    assert config["TIKTOK_AUTHORIZE_URL"] == "https://www.tiktok.com/v2/auth/authorize/"
    assert not providers.is_local("tiktok", config)
    with pytest.raises(ProviderError, match="isn't set up"):
        providers.authorize_url("youtube", config, REDIRECT)


@pytest.mark.parametrize(
    ("platform", "name", "scope"),
    [
        ("youtube", "Ada Videos", providers.YOUTUBE_UPLOAD),
        ("tiktok", "ada.tok", "video.publish"),
        ("twitch", "ada_live", "clips:edit"),
        ("discord", "ada", "webhook.incoming"),
    ],
)
def test_exchange_and_account(
    fake_platforms: FakePlatforms, platform: str, name: str, scope: str
) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, platform, name, config)
    account = providers.fetch_account(platform, config, tokens)
    assert account.platform == platform
    assert account.account_name.startswith(name)
    assert account.account_id
    assert account.avatar_url.startswith(fake_platforms.base_url)
    assert scope in account.scopes
    assert tokens.refresh_token  # every one of them can be renewed
    assert "access_token" not in repr(tokens) and tokens.access_token not in repr(tokens)


def test_a_used_code_fails_in_words_without_the_code(fake_platforms: FakePlatforms) -> None:
    config = config_for(fake_platforms)
    with pytest.raises(ProviderError) as caught:
        providers.exchange("tiktok", config, "the-secret-code-123", REDIRECT)
    assert "TikTok didn't accept the sign-in" in str(caught.value)
    assert "invalid_grant" in str(caught.value)
    assert "the-secret-code-123" not in str(caught.value)
    assert not caught.value.transient


def test_tiktok_refresh_rotates_and_the_old_refresh_token_is_refused(
    fake_platforms: FakePlatforms,
) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, "tiktok")
    refresh = providers.refresher("tiktok", config)
    renewed = tokens.after_refresh(refresh(tokens))
    assert renewed.refresh_token and renewed.refresh_token != tokens.refresh_token
    assert renewed.access_token != tokens.access_token
    assert renewed.extras["scope"]  # the scopes granted are kept
    with pytest.raises(RefreshRefused):
        refresh(tokens)  # the old one stopped working
    assert fake_platforms.refreshes("tiktok") == 1


def test_google_refresh_keeps_the_refresh_token_it_does_not_repeat(
    fake_platforms: FakePlatforms,
) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, "youtube")
    fresh = tokens.after_refresh(providers.refresher("youtube", config)(tokens))
    assert fresh.refresh_token == tokens.refresh_token  # Google's answer has none: kept
    assert fresh.access_token != tokens.access_token


@pytest.mark.parametrize("platform", ["youtube", "twitch", "discord"])
def test_a_revoked_refresh_token_is_refused(fake_platforms: FakePlatforms, platform: str) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, platform)
    fake_platforms.revoke_refresh_tokens("google" if platform == "youtube" else platform)
    with pytest.raises(RefreshRefused):
        providers.refresher(platform, config)(tokens)


def test_discord_refresh_keeps_the_webhook_as_the_token(fake_platforms: FakePlatforms) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, "discord")
    renewed = tokens.after_refresh(providers.refresher("discord", config)(tokens))
    assert renewed.access_token == tokens.access_token == tokens.extras["webhook_url"]
    assert renewed.extras["oauth_access_token"] != tokens.extras["oauth_access_token"]


@pytest.mark.parametrize(
    ("kind", "transient"), [("server_error", True), ("rate_limited", True), ("unauthorized", False)]
)
def test_provider_trouble_on_refresh_is_not_a_refusal(
    fake_platforms: FakePlatforms, kind: str, transient: bool
) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, "twitch")
    fake_platforms.fail_next("twitch.token", kind)
    with pytest.raises(ProviderError) as caught:
        providers.refresher("twitch", config)(tokens)
    assert caught.value.transient is transient
    assert tokens.refresh_token not in str(caught.value)
    assert providers.refresher("twitch", config)(tokens).access_token  # next time it works


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_refresh_gives_up_within_the_token_lock(
    fake_platforms: FakePlatforms, silent_port: int
) -> None:
    config = config_for(fake_platforms, TOKEN_LOCK_TIMEOUT_S=1.5)
    assert providers.http_timeout(config) < config["TOKEN_LOCK_TIMEOUT_S"]
    tokens = connected(fake_platforms, "twitch")
    config["TWITCH_TOKEN_URL"] = f"http://127.0.0.1:{silent_port}/oauth2/token"
    with pytest.raises(ProviderError) as caught:
        providers.refresher("twitch", config)(tokens)
    assert caught.value.transient


@pytest.mark.parametrize("platform", ["youtube", "tiktok", "twitch", "discord"])
def test_revoke_ends_access_at_the_provider(fake_platforms: FakePlatforms, platform: str) -> None:
    config = config_for(fake_platforms)
    tokens = connected(fake_platforms, platform)
    assert providers.fetch_account(platform, config, tokens)
    assert providers.revoke(platform, config, tokens)
    with pytest.raises(ProviderError):
        providers.fetch_account(platform, config, tokens)
    assert providers.revoke(platform, config, tokens)  # already gone counts as revoked


def test_revoke_says_false_when_the_provider_cannot_be_reached(
    fake_platforms: FakePlatforms, silent_port: int
) -> None:
    config = config_for(fake_platforms, TOKEN_LOCK_TIMEOUT_S=1.5)
    tokens = connected(fake_platforms, "tiktok", config=config)
    config["TIKTOK_REVOKE_URL"] = f"http://127.0.0.1:{silent_port}/v2/oauth/revoke/"
    assert providers.revoke("tiktok", config, tokens) is False


def test_a_pasted_webhook_is_checked_on_the_configured_discord(
    fake_platforms: FakePlatforms,
) -> None:
    config = config_for(fake_platforms)
    url = fake_platforms.add_webhook("highlights")
    elsewhere = "https://evil.example/api/webhooks/" + url.split("/webhooks/", 1)[1]
    account = providers.validate_webhook(config, elsewhere)  # only its id and token are used
    assert account.platform == "discord" and "Truss" in account.account_name
    tokens = providers.webhook_tokens(config, elsewhere)
    assert tokens.access_token == url and tokens.expires_at is None
    assert providers.revoke("discord", config, tokens)  # nothing to revoke
    hook_id = url.split("/webhooks/", 1)[1].split("/")[0]
    with pytest.raises(ProviderError, match="doesn't know this webhook") as caught:
        providers.validate_webhook(
            config, f"{fake_platforms.url('discord')}/api/webhooks/{hook_id}/wrong"
        )
    assert "wrong" not in str(caught.value)
    with pytest.raises(ProviderError, match="isn't a Discord webhook URL"):
        providers.validate_webhook(config, "https://discord.com/channels/1/2")
    assert requests.get(url, timeout=5).ok  # the webhook itself was never touched
