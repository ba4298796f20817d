"""Chromium on the real local stack: a source the browser can't play says so instead of showing a
broken player, whether Chromium refuses the file (MPEG-2) or reads the MP4 but not its picture
(MPEG-4 Part 2: sound over a black frame), and offers the original as a download. A video it
does play keeps its player."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e


FOUR_SECONDS = Spec(4.0, "320x240", cut_at=None, loud=None, quiet=1.0, preset="ultrafast")


def make_video(dest: Path, **encoding: Any) -> Path:
    """A 4-second 320x240 test picture with a tone, encoded as `encoding` (Spec fields) says."""
    return synth_video(dest, replace(FOUR_SECONDS, **encoding))


@pytest.fixture(scope="module")
def mpeg2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MPEG-2 video with MP2 audio in an MPEG program stream (.mpg)."""
    dest = tmp_path_factory.mktemp("media") / "old-camcorder.mpg"
    return make_video(
        dest, video_codec="mpeg2video", pix_fmt=None, audio_codec="mp2", container="mpeg"
    )


@pytest.fixture(scope="module")
def mpeg4_part2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MPEG-4 Part 2 video with AAC audio in an MP4: Chromium reads the file and plays the sound,
    but has no decoder for the picture (videoWidth stays 0)."""
    dest = tmp_path_factory.mktemp("media") / "old-phone.mp4"
    return make_video(dest, video_codec="mpeg4")


@pytest.fixture(scope="module")
def h264(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("media") / "phone.mp4"
    return make_video(dest)


def open_asset_page(page: Page, stack: LocalStack, video: Path) -> None:
    upload_through_page(page, stack, video)
    page.goto(stack.url + "/assets")
    page.get_by_role("link", name=video.name).first.click()
    expect(page.get_by_role("heading", name=video.name)).to_be_visible()


def expect_the_original_offered_as_download(page: Page, video: Path) -> None:
    link = page.locator("#player-problem").get_by_role("link", name="Download the original")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href is not None
    download = page.request.get(href)
    assert download.ok
    assert download.body() == video.read_bytes()


def test_a_source_the_browser_cannot_play_says_so(
    local_stack: LocalStack, page: Page, mpeg2: Path
) -> None:
    sign_in(page, local_stack, f"mpeg2-{uuid.uuid4().hex[:8]}@example.com")
    open_asset_page(page, local_stack, mpeg2)

    problem = page.locator("#player-problem")
    expect(problem).to_be_visible(timeout=30_000)
    expect(problem).to_contain_text("Your browser can't play this file's format")
    expect(problem).to_contain_text("rendered as MP4")
    expect(page.locator("video#player")).to_be_hidden()
    expect_the_original_offered_as_download(page, mpeg2)


def test_sound_without_a_picture_counts_as_unplayable(
    local_stack: LocalStack, page: Page, mpeg4_part2: Path
) -> None:
    sign_in(page, local_stack, f"mpeg4-{uuid.uuid4().hex[:8]}@example.com")
    open_asset_page(page, local_stack, mpeg4_part2)

    problem = page.locator("#player-problem")
    expect(problem).to_be_visible(timeout=30_000)
    expect(problem).to_contain_text("Your browser can't play this file's format")
    player = page.locator("video#player")
    expect(player).to_be_hidden()
    # Chromium did read the file: no error, a duration, but no picture
    assert player.evaluate("v => [v.error, v.duration > 3, v.videoWidth]") == [None, True, 0]
    expect_the_original_offered_as_download(page, mpeg4_part2)


def test_a_video_the_browser_plays_keeps_its_player(
    local_stack: LocalStack, page: Page, h264: Path
) -> None:
    sign_in(page, local_stack, f"h264-{uuid.uuid4().hex[:8]}@example.com")
    open_asset_page(page, local_stack, h264)

    player = page.locator("video#player")
    wait_in_page(page, "() => document.getElementById('player').videoWidth", timeout_s=30)
    expect(player).to_be_visible()
    expect(page.locator("#player-problem")).to_be_hidden()
