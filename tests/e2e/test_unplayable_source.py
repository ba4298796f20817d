"""Chromium on the real local stack: an MPEG-2 video (a format no browser plays) uploads, and its
page says why the original doesn't play instead of showing a broken player."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mpeg2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-second MPEG-2 video with MP2 audio in an MPEG program stream (.mpg)."""
    path = tmp_path_factory.mktemp("media") / "old-camcorder.mpg"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=duration=4:size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
            "-c:v", "mpeg2video", "-c:a", "mp2", "-f", "mpeg", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


def test_a_source_the_browser_cannot_play_says_so(
    local_stack: LocalStack, page: Page, mpeg2: Path
) -> None:
    sign_in(page, local_stack, f"mpeg2-{uuid.uuid4().hex[:8]}@example.com")
    upload_through_page(page, local_stack, mpeg2)
    page.goto(local_stack.url + "/assets")
    page.get_by_role("link", name=mpeg2.name).first.click()
    expect(page.get_by_role("heading", name=mpeg2.name)).to_be_visible()

    problem = page.locator("#player-problem")
    expect(problem).to_be_visible(timeout=30_000)
    expect(problem).to_contain_text("Your browser can't play this file's format")
    expect(problem).to_contain_text("rendered as MP4")
    expect(page.locator("video#player")).to_be_hidden()
