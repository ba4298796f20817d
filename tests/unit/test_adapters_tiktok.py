"""The TikTok adapter against the fake TikTok on localhost (its chunk rules shrunk to 64-256 KiB
on both sides): creator info first, chunked FILE_UPLOAD, status fetch, errors."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.adapters import RecordingSession, clip_post
from tests.support.fake_platforms import connect, fake_platforms  # noqa: F401  (fixture)
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.adapters import Post, PublishError, Session, Unauthorized
from truss.publishing.adapters.base import SESSION_EXPIRED
from truss.publishing.adapters.tiktok import ChunkRules, TikTokAdapter, TikTokSettings

KIB = 1024
RULES = ChunkRules(min_bytes=64 * KIB, max_bytes=256 * KIB, last_max_bytes=512 * KIB)
CHUNK = 128 * KIB
NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


def adapter(
    fake: FakePlatforms, resume_attempts: int = 3
) -> tuple[TikTokAdapter, RecordingSession]:
    settings = TikTokSettings(
        api_base=fake.url("tiktok"), chunk_bytes=CHUNK, rules=RULES, resume_attempts=resume_attempts
    )
    http = RecordingSession()
    return TikTokAdapter(settings, http, now=lambda: NOW, sleep=lambda s: None), http


def token(fake: FakePlatforms) -> str:
    return str(connect(fake, "tiktok")["access_token"])


def publish(tt: TikTokAdapter, access: str, post: Post) -> Session:
    return tt.upload(access, post, tt.start(access, post), lambda *_: None)


def test_creator_info_lists_the_accounts_privacy_options(fake_platforms: FakePlatforms) -> None:
    tt, _ = adapter(fake_platforms)
    info = tt.creator_info(token(fake_platforms))
    assert "SELF_ONLY" in info.privacy_options and info.max_duration_s == 600
    assert info.username


def test_a_file_under_the_minimum_chunk_goes_whole_and_is_published(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 40 * KIB, privacy="SELF_ONLY")
    done = publish(tt, access, post)
    assert http.ranges() == [f"bytes 0-{40 * KIB - 1}/{40 * KIB}"]
    assert tt.check(access, done).state == "processing"
    published = tt.check(access, done)
    assert published.state == "published" and published.remote_id == done["publish_id"]
    received = fake_platforms.received("tiktok")
    assert len(received) == 1 and received[0]["title"] == "Best moment"
    assert fake_platforms.received_bytes(received[0]["id"]) == post.path.read_bytes()


def test_a_larger_file_goes_in_chunks_the_last_taking_the_rest(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms)
    size = 600 * KIB  # 600 // 128 = 4 chunks, the last 216 KiB
    access, post = token(fake_platforms), clip_post(tmp_path, size, privacy="SELF_ONLY")
    publish(tt, access, post)
    assert http.ranges() == [
        f"bytes 0-{CHUNK - 1}/{size}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}",
        f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{size}",
        f"bytes {3 * CHUNK}-{size - 1}/{size}",
    ]
    received = fake_platforms.received("tiktok")
    assert fake_platforms.received_bytes(received[0]["id"]) == post.path.read_bytes()


def test_a_dropped_chunk_is_sent_again_and_the_post_made_once(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms)
    size = 600 * KIB
    access, post = token(fake_platforms), clip_post(tmp_path, size, privacy="SELF_ONLY")
    fake_platforms.drop_upload("tiktok", at=0.4)  # inside the second chunk
    publish(tt, access, post)
    second = f"bytes {CHUNK}-{2 * CHUNK - 1}/{size}"
    assert http.ranges()[:3] == [f"bytes 0-{CHUNK - 1}/{size}", second, second]
    received = fake_platforms.received("tiktok")
    assert len(received) == 1
    assert fake_platforms.received_bytes(received[0]["id"]) == post.path.read_bytes()


def test_a_saved_session_continues_from_the_bytes_tiktok_reports(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms, resume_attempts=0)
    size = 600 * KIB
    access, post = token(fake_platforms), clip_post(tmp_path, size, privacy="SELF_ONLY")
    session = tt.start(access, post)
    fake_platforms.drop_upload("tiktok", at=0.6)  # inside the third chunk
    with pytest.raises(PublishError) as dropped:
        tt.upload(access, post, session, lambda *_: None)
    assert dropped.value.kind == "retry"
    sent_before = len(http.ranges())
    tt.upload(access, post, session, lambda *_: None)  # the job again, from the saved session
    assert http.ranges()[sent_before] == f"bytes {2 * CHUNK}-{3 * CHUNK - 1}/{size}"
    assert len(fake_platforms.received("tiktok")) == 1


def test_status_that_never_ends_stays_processing(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, _ = adapter(fake_platforms)
    access = token(fake_platforms)
    fake_platforms.never_complete("tiktok")
    done = publish(tt, access, clip_post(tmp_path, 40 * KIB, privacy="SELF_ONLY"))
    assert {tt.check(access, done).state for _ in range(4)} == {"processing"}


def test_a_failed_post_says_why_in_words(fake_platforms: FakePlatforms, tmp_path: Path) -> None:
    tt, _ = adapter(fake_platforms)
    access = token(fake_platforms)
    fake_platforms.fail_processing("tiktok", "frame_rate_check_failed")
    done = publish(tt, access, clip_post(tmp_path, 40 * KIB, privacy="SELF_ONLY"))
    status = [tt.check(access, done) for _ in range(2)][-1]
    assert status.state == "failed" and "frame rate" in status.reason


def test_an_unaudited_app_posting_publicly_is_a_content_error_saying_so(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, _ = adapter(fake_platforms)
    post = clip_post(tmp_path, 40 * KIB, privacy="PUBLIC_TO_EVERYONE")
    with pytest.raises(PublishError) as refused:
        tt.start(token(fake_platforms), post)
    assert refused.value.kind == "content" and "privately" in refused.value.message
    assert fake_platforms.received("tiktok") == []


def test_a_privacy_or_duration_the_account_doesnt_allow_fails_before_anything_is_sent(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms)
    access = token(fake_platforms)
    with pytest.raises(PublishError) as privacy:
        tt.start(access, clip_post(tmp_path, 40 * KIB, privacy="EVERYONE"))
    assert privacy.value.kind == "content" and "SELF_ONLY" in privacy.value.message
    with pytest.raises(PublishError) as long:
        tt.start(access, clip_post(tmp_path, 40 * KIB, privacy="SELF_ONLY", duration_s=601.0))
    assert long.value.kind == "content" and "600 s" in long.value.message
    assert all(method == "POST" for method, _ in http.sent)  # only creator info was asked


def test_rate_limited_is_quota_for_a_minute_and_401_is_unauthorized(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 40 * KIB, privacy="SELF_ONLY")
    fake_platforms.fail_next("tiktok.init", "rate_limited")
    with pytest.raises(PublishError) as limited:
        tt.start(access, post)
    assert limited.value.kind == "quota" and limited.value.retry_at == NOW + timedelta(minutes=1)
    fake_platforms.expire_access_tokens("tiktok")
    with pytest.raises(Unauthorized) as expired:
        tt.start(access, post)
    assert expired.value.provider_code == "access_token_invalid"
    assert access not in expired.value.message


def test_an_expired_upload_link_is_a_retry_error_and_the_adapter_opens_no_post_itself(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    """A new post is the runner's to open (and save before sending): one opened inside
    upload() would be lost with a crash, and the next attempt would open a third."""
    tt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 300 * KIB, privacy="SELF_ONLY")
    stale = tt.start(access, post)
    stale["upload_url"] = stale["upload_url"].replace("upload_token=", "upload_token=lapsed")

    with pytest.raises(PublishError) as expired:
        tt.upload(access, post, stale, lambda *_: None)

    assert (expired.value.kind, expired.value.provider_code) == ("retry", SESSION_EXPIRED)
    assert fake_platforms.received("tiktok") == []
    fresh = tt.start(access, post)  # what the runner does, saving it first
    done = tt.upload(access, post, fresh, lambda *_: None)
    received = fake_platforms.received("tiktok")
    assert [r["remote_id"] for r in received] == [done["publish_id"]] == [fresh["publish_id"]]


def test_a_session_saved_before_its_last_answer_sends_nothing_again(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    tt, http = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 300 * KIB, privacy="SELF_ONLY")
    saved = tt.start(access, post)  # the worker died after the last chunk, before saving
    tt.upload(access, post, saved, lambda *_: None)
    sent = len(http.ranges())
    assert tt.upload(access, post, saved, lambda *_: None)["uploaded"] is True
    assert len(http.ranges()) == sent and len(fake_platforms.received("tiktok")) == 1


def test_a_token_without_the_posting_scope_asks_to_reconnect(
    fake_platforms: FakePlatforms,
) -> None:
    tt, _ = adapter(fake_platforms)
    limited = connect(fake_platforms, "tiktok", scope="user.info.basic")["access_token"]
    with pytest.raises(PublishError) as refused:
        tt.creator_info(str(limited))
    assert refused.value.kind == "reconnect" and not isinstance(refused.value, Unauthorized)
