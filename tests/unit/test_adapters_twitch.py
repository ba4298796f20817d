"""Twitch takes no uploads; its adapter makes clips of a live stream (against the fake Twitch)."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

import pytest

from tests.support.fake_platforms import connect, fake_platforms  # noqa: F401  (fixture)
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.adapters import PublishError, Unauthorized, adapter_for
from truss.publishing.adapters.twitch import TwitchAdapter, TwitchSettings


def test_twitch_takes_no_uploads_and_says_so() -> None:
    with pytest.raises(PublishError) as refused:
        adapter_for("twitch", {})
    assert "can't be uploaded to Twitch" in refused.value.message


def twitch(fake: FakePlatforms, waited: list[float]) -> TwitchAdapter:
    settings = TwitchSettings(
        api_base=fake.url("twitch"), client_id=fake.settings.clients["twitch"][0]
    )
    return TwitchAdapter(settings, clock=lambda: sum(waited), sleep=waited.append)


def test_twitch_makes_a_clip_of_a_live_stream(fake_platforms: FakePlatforms) -> None:
    access = str(connect(fake_platforms, "twitch")["access_token"])
    clip = twitch(fake_platforms, []).create_clip(access, "12345")
    assert clip.id and clip.url.endswith(clip.id) and clip.edit_url.endswith("/edit")


def test_twitch_clip_errors_offline_unconfirmed_and_401(fake_platforms: FakePlatforms) -> None:
    access = str(connect(fake_platforms, "twitch")["access_token"])
    fake_platforms.never_complete("twitch")
    waited: list[float] = []
    with pytest.raises(PublishError) as unconfirmed:
        twitch(fake_platforms, waited).create_clip(access, "12345")
    assert unconfirmed.value.kind == "retry" and 15 <= sum(waited) <= 16

    fake_platforms.settings.twitch_live = False
    with pytest.raises(PublishError) as offline:
        twitch(fake_platforms, []).create_clip(access, "12345")
    assert offline.value.kind == "content" and "live" in offline.value.message

    fake_platforms.expire_access_tokens("twitch")
    with pytest.raises(Unauthorized):
        twitch(fake_platforms, []).create_clip(access, "12345")
