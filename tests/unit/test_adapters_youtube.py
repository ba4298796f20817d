"""The YouTube adapter against the fake YouTube on localhost: resumable uploads that resume
where the server says, processing status, quota and 401 errors."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.adapters import RecordingSession, clip_post
from tests.support.fake_platforms import connect, fake_platforms  # noqa: F401  (fixture)
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.adapters import PublishError, Unauthorized
from truss.publishing.adapters.base import SESSION_EXPIRED
from truss.publishing.adapters.youtube import YouTubeAdapter, YouTubeSettings

KIB = 1024
CHUNK = 256 * KIB
SIZE = 4 * CHUNK  # four chunks
NOW = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


def adapter(
    fake: FakePlatforms, resume_attempts: int = 3
) -> tuple[YouTubeAdapter, RecordingSession]:
    base = fake.url("youtube")
    settings = YouTubeSettings(
        api_base=f"{base}/youtube/v3",
        upload_base=f"{base}/upload",
        chunk_bytes=CHUNK,
        resume_attempts=resume_attempts,
    )
    http = RecordingSession()
    return YouTubeAdapter(settings, http, now=lambda: NOW, sleep=lambda s: None), http


def token(fake: FakePlatforms) -> str:
    return str(connect(fake, "google")["access_token"])


def test_an_upload_dropped_at_40_percent_resumes_from_the_servers_range_and_makes_one_video(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, http = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, SIZE)
    fake_platforms.drop_upload("youtube", at=0.4)
    session = yt.start(access, post)
    progress: list[int] = []
    done = yt.upload(access, post, session, lambda sent, total: progress.append(sent))

    cut = int(SIZE * 0.4)  # the fake kept the bytes before the drop and says so in Range
    assert http.ranges()[:3] == [
        f"bytes 0-{CHUNK - 1}/{SIZE}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{SIZE}",  # dropped at 40 %
        f"bytes {cut}-{cut + CHUNK - 1}/{SIZE}",  # after asking: 308 Range: bytes=0-{cut - 1}
    ]
    assert progress[-1] == SIZE and done["video_id"]
    received = fake_platforms.received("youtube")
    assert len(received) == 1 and received[0]["remote_id"] == done["video_id"]
    assert fake_platforms.received_bytes(received[0]["id"]) == post.path.read_bytes()


def test_a_dropped_upload_raises_retry_and_the_next_attempt_resumes_the_same_session(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, http = adapter(fake_platforms, resume_attempts=0)
    access, post = token(fake_platforms), clip_post(tmp_path, SIZE)
    fake_platforms.drop_upload("youtube", at=0.6)
    session = yt.start(access, post)
    with pytest.raises(PublishError) as dropped:
        yt.upload(access, post, session, lambda *_: None)
    assert dropped.value.kind == "retry" and "dropped" in dropped.value.message

    done = yt.upload(access, post, session, lambda *_: None)  # a re-delivered job
    assert http.ranges()[-2].startswith(f"bytes {int(SIZE * 0.6)}-")
    assert len(fake_platforms.received("youtube")) == 1
    assert fake_platforms.received_bytes(fake_platforms.received()[0]["id"]) == (
        post.path.read_bytes()
    )
    assert done["upload_url"] == session["upload_url"]


def test_a_308_without_range_means_nothing_arrived_and_the_upload_restarts_from_0(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, http = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, SIZE)
    fake_platforms.drop_upload("youtube", at=0.0)  # the first chunk is cut before any byte
    yt.upload(access, post, yt.start(access, post), lambda *_: None)
    first, again = http.ranges()[:2]
    assert first == again == f"bytes 0-{CHUNK - 1}/{SIZE}"
    assert len(fake_platforms.received("youtube")) == 1


def test_an_expired_session_is_a_retry_error_and_the_adapter_opens_none_itself(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    """A new session is the runner's to open (and save before sending): one opened inside
    upload() would be lost with a crash, and the next attempt would make a second video."""
    yt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, CHUNK + 1000)
    stale = yt.start(access, post)
    stale["upload_url"] = stale["upload_url"].replace("upload_id=", "upload_id=gone")

    with pytest.raises(PublishError) as expired:
        yt.upload(access, post, stale, lambda *_: None)

    assert (expired.value.kind, expired.value.provider_code) == ("retry", SESSION_EXPIRED)
    assert fake_platforms.received("youtube") == []
    done = yt.upload(access, post, yt.start(access, post), lambda *_: None)
    assert done["video_id"] and len(fake_platforms.received("youtube")) == 1


def test_processing_then_published_with_the_watch_url(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 1000)
    done = yt.upload(access, post, yt.start(access, post), lambda *_: None)
    assert yt.check(access, done).state == "processing"
    published = yt.check(access, done)
    assert published.state == "published" and published.remote_id == done["video_id"]
    assert published.url == f"https://www.youtube.com/watch?v={done['video_id']}"


def test_failed_processing_is_failed_with_youtubes_reason(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 1000)
    fake_platforms.fail_processing("youtube", "transcodeFailed")
    done = yt.upload(access, post, yt.start(access, post), lambda *_: None)
    states = [yt.check(access, done) for _ in range(2)]
    assert states[-1].state == "failed" and "transcodeFailed" in states[-1].reason


def test_quota_exceeded_is_a_quota_error_until_midnight_pacific(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, 1000)
    fake_platforms.fail_next("youtube.insert", "quota")
    with pytest.raises(PublishError) as refused:
        yt.start(access, post)
    assert refused.value.kind == "quota" and refused.value.provider_code == "quotaExceeded"
    assert refused.value.retry_at == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 00:00 PST
    assert "midnight Pacific" in refused.value.message
    assert "tried again" not in refused.value.message  # the runner decides (short waits only)


def test_a_server_error_is_retry_and_a_bad_title_is_content(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    access = token(fake_platforms)
    fake_platforms.fail_next("youtube.insert", "server_error")
    with pytest.raises(PublishError) as busy:
        yt.start(access, clip_post(tmp_path, 1000))
    assert busy.value.kind == "retry"
    with pytest.raises(PublishError) as bad:
        yt.start(access, clip_post(tmp_path, 1000, text="x" * 101))
    assert bad.value.kind == "content" and bad.value.provider_code == "invalidTitle"


def test_a_401_is_unauthorized_and_after_a_refresh_the_upload_resumes(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    access, post = token(fake_platforms), clip_post(tmp_path, SIZE)
    session = yt.start(access, post)
    fake_platforms.fail_next("youtube.upload", "unauthorized")
    with pytest.raises(Unauthorized) as expired:
        yt.upload(access, post, session, lambda *_: None)
    assert expired.value.kind == "reconnect" and access not in expired.value.message
    done = yt.upload(access, post, session, lambda *_: None)
    assert done["video_id"] and len(fake_platforms.received("youtube")) == 1

    fake_platforms.expire_access_tokens("google")
    with pytest.raises(Unauthorized):
        yt.check(access, done)


def test_a_token_without_the_upload_scope_asks_to_reconnect(
    fake_platforms: FakePlatforms, tmp_path: Path
) -> None:
    yt, _ = adapter(fake_platforms)
    limited = str(connect(fake_platforms, "google", scope="openid profile")["access_token"])
    with pytest.raises(PublishError) as refused:
        yt.start(limited, clip_post(tmp_path, 1000))
    assert refused.value.kind == "reconnect" and "allow uploads" in refused.value.message
    assert refused.value.provider_code == "insufficientPermissions"
