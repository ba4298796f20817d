"""The Discord adapter against the fake Discord on localhost: a webhook with the clip and the
message, the size limit in words, a smaller copy."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.adapters import RecordingSession, clip_post
from tests.support.fake_platforms import fake_platforms  # noqa: F401  (fixture)
from tests.support.media import Spec, synth_video
from truss.local.fake_platforms import FakePlatforms
from truss.media import probe
from truss.publishing.adapters import PublishError, smaller_copy
from truss.publishing.adapters.discord import DiscordAdapter, DiscordSettings

KIB = 1024


def discord(fake: FakePlatforms, limit: int = 10 * 1024 * KIB) -> DiscordAdapter:
    return DiscordAdapter(
        DiscordSettings(api_base=f"{fake.url('discord')}/api", upload_limit_bytes=limit)
    )


def test_a_clip_is_posted_once_with_its_message(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    dc, webhook = discord(fake_platforms), fake_platforms.add_webhook()
    post = clip_post(tmp_path, 300 * KIB, text="Clutch 1v4 🔥")
    session = dc.upload(webhook, post, dc.start(webhook, post), lambda *_: None)
    assert session["message_id"] and session["url"]
    status = dc.check(webhook, session)
    assert status.state == "published" and status.remote_id == session["message_id"]

    again = dc.upload(webhook, post, session, lambda *_: None)  # a re-delivered job
    assert again == session
    received = fake_platforms.received("discord")
    assert len(received) == 1 and received[0]["text"] == "Clutch 1v4 🔥"
    assert fake_platforms.received_bytes(received[0]["id"]) == post.path.read_bytes()


def test_the_webhook_goes_to_the_configured_discord_whatever_host_its_url_names(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    real = fake_platforms.add_webhook()
    elsewhere = real.replace(fake_platforms.url("discord"), "https://attacker.example")
    dc, post = discord(fake_platforms), clip_post(tmp_path, 10 * KIB)
    dc.upload(elsewhere, post, {}, lambda *_: None)
    assert len(fake_platforms.received("discord")) == 1


def test_a_clip_over_the_limit_fails_naming_the_limit_before_sending(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    http = RecordingSession()
    dc = DiscordAdapter(
        DiscordSettings(
            api_base=f"{fake_platforms.url('discord')}/api", upload_limit_bytes=1024 * KIB
        ),
        http,
    )
    post = clip_post(tmp_path, 1024 * KIB + 1)
    with pytest.raises(PublishError) as oversize:
        dc.upload(fake_platforms.add_webhook(), post, {}, lambda *_: None)
    assert oversize.value.kind == "content" and oversize.value.provider_code == "40005"
    assert "up to 1 MB" in oversize.value.message
    assert http.sent == [] and fake_platforms.received("discord") == []


def test_discord_refusing_a_clip_as_too_large_is_a_content_error(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    fake_platforms.settings.discord_max_upload = 100 * KIB  # Discord lowered its limit again
    dc = discord(fake_platforms, limit=1024 * KIB)
    with pytest.raises(PublishError) as refused:
        dc.upload(fake_platforms.add_webhook(), clip_post(tmp_path, 200 * KIB), {}, print)
    assert refused.value.kind == "content" and refused.value.provider_code == "40005"
    assert "too large" in refused.value.message and "1 MB" in refused.value.message


def test_a_message_over_2000_characters_is_refused_before_sending(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    dc = discord(fake_platforms)
    with pytest.raises(PublishError) as long:
        dc.start(fake_platforms.add_webhook(), clip_post(tmp_path, KIB, text="a" * 2001))
    assert long.value.kind == "content" and "2,000" in long.value.message


def test_a_deleted_webhook_asks_to_reconnect(fake_platforms: FakePlatforms, tmp_path: Path) -> None:
    gone = fake_platforms.add_webhook().rsplit("/", 1)[0] + "/not-its-token"
    with pytest.raises(PublishError) as refused:
        discord(fake_platforms).upload(gone, clip_post(tmp_path, KIB), {}, print)
    assert refused.value.kind == "reconnect" and "not-its-token" not in refused.value.message


def test_smaller_copy_fits_under_the_limit_and_still_plays(tmp_path: Path) -> None:
    spec = Spec(4.0, "640x360", cut_at=None, loud=None, rate=30, quiet=1.0, preset="ultrafast")
    source = synth_video(tmp_path / "clip.mp4", replace(spec, picture="testsrc2", bitrate="3M"))
    limit = source.stat().st_size // 3
    copy = smaller_copy(source, limit)
    assert copy != source and copy.stat().st_size <= limit
    info = probe(copy)
    assert abs(info.duration - 4.0) < 0.5 and info.has_audio


def test_smaller_copy_refuses_a_clip_too_long_for_the_limit(tmp_path: Path) -> None:
    with pytest.raises(PublishError) as too_long:
        smaller_copy(tmp_path / "long.mp4", 1024 * KIB, duration_s=600.0)
    assert too_long.value.kind == "content" and "1 MB" in too_long.value.message
