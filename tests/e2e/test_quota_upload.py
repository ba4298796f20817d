"""In Chromium on the real stack: the upload page reads the video's length and the server
refuses one over the length quota before any byte is sent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack
from tests.support.media import make_video


@pytest.fixture(scope="module")
def short_videos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack that accepts videos of at most one minute."""
    stack = LocalStack(
        tmp_path_factory.mktemp("quota-stack"), extra_env={"TRUSS_MAX_VIDEO_MINUTES": "1"}
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "long-talk.mp4", 70, size="160x90")


def test_a_video_over_the_length_quota_is_refused_before_sending(
    short_videos_stack: LocalStack, page: Page, long_video: Path
) -> None:
    sign_in(page, short_videos_stack, f"quota-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(short_videos_stack.url + "/upload")
    page.get_by_label("Choose video files to upload").set_input_files(str(long_video))
    item = page.locator(".upload-item").filter(has_text=long_video.name)
    # 70 s: minutes and seconds, not "2 minutes" (rounded up) against a limit of 1 minute
    expect(item).to_contain_text(re.compile(r"This video is 1 min 1\d s long"), timeout=30_000)
    expect(item).to_contain_text("videos can be at most 1 min.")
    page.goto(short_videos_stack.url + "/assets")
    expect(page.get_by_text("No videos yet")).to_be_visible()  # nothing was created or sent
    page.goto(short_videos_stack.url + "/dashboard")
    expect(page.get_by_text("Longest video")).to_be_visible()
    expect(page.locator("#usage")).to_contain_text("1 min")
