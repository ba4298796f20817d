"""Chromium on the real local stack: from a finished video to a trimmed, downloaded and shared
clip using only the pages (upload → analysis → clips page → trim → re-render → download →
share link in a fresh browser → stop sharing)."""

from __future__ import annotations

import re
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page
from truss.services.clips import clock

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_MS = 240_000
RENDER_WAIT_MS = 120_000
NEW_LENGTH_S = 6.0


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 s H.264/AAC MP4: test pattern, a hard cut to red halfway, a tone throughout, an
    applause-like burst around the cut (the highlight the analyzer clips)."""
    spec = Spec(40.0, "320x240", cut_at=20.0, loud=(18.0, 22.0), cut_to="red", quiet=0.3)
    fast = replace(spec, preset="ultrafast", faststart=True)
    return synth_video(tmp_path_factory.mktemp("media") / "demo-day.mp4", fast)


def probe(path: Path) -> tuple[int, int, float]:
    """(width, height, seconds) of a video, read from `ffmpeg -i` (no ffprobe in the wheel)."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    size = re.search(r"Video: h264.*?, (\d{2,5})x(\d{2,5})", result.stderr)
    length = re.search(r"Duration: (\d+):(\d+):([\d.]+)", result.stderr)
    assert size and length, result.stderr
    hours, minutes, seconds = length.groups()
    return int(size[1]), int(size[2]), int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def upload_and_wait_until_ready(page: Page, stack: LocalStack, video: Path) -> None:
    upload_through_page(page, stack, video)
    page.goto(stack.url + "/assets")
    page.get_by_role("link", name=video.name).first.click()
    badge = page.locator(".asset-status .badge").first
    expect(badge).to_have_text("ready", timeout=ANALYSIS_WAIT_MS)  # the page polls itself


def test_trim_rerender_download_and_share_a_clip(
    local_stack: LocalStack, page: Page, browser: Browser, talk: Path, tmp_path: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # "Stop sharing?" confirmation
    sign_in(page, local_stack, f"clips-{uuid.uuid4().hex[:8]}@example.com")
    upload_and_wait_until_ready(page, local_stack, talk)

    # The clips page lists what the analysis made; open the best one.
    page.goto(local_stack.url + "/clips?sort=score")
    cards = page.locator(".clip-card")
    expect(cards.first).to_be_visible()
    cards.first.locator("h2 a").click()
    expect(page.locator("#clip-status .badge")).to_have_text("Ready", timeout=RENDER_WAIT_MS)
    old_src = page.locator("#clip-video").get_attribute("src") or ""

    # Trim: "set start" from the original video's player, the end typed in.
    start_field = page.get_by_label("Start (seconds, or minutes:seconds)")
    new_start = round(float(start_field.input_value()) + 1.0, 1)
    page.evaluate(
        "t => { const v = document.getElementById('source-player'); v.currentTime = t; }",
        new_start,
    )
    wait_in_page(
        page,
        "t => Math.abs(document.getElementById('source-player').currentTime - t) < 0.05",
        new_start,
    )
    page.get_by_role("button", name="Set start to the player's time").click()
    expect(start_field).to_have_value(f"{new_start:.1f}")
    page.get_by_label("End (seconds, or minutes:seconds)").fill(f"{new_start + NEW_LENGTH_S:.1f}")
    expect(page.locator("#trim-length")).to_have_text("0:06")
    page.get_by_role("button", name="Re-render with these times").click()

    # The page polls; the old clip keeps playing until the new one is ready.
    expect(page.locator("#trim-form [role=status]")).to_contain_text("Re-rendering")
    expect(page.locator("#clip-status .badge")).to_have_text(re.compile("Waiting|Rendering"))
    expect(page.locator("#clip-status .badge")).to_have_text("Ready", timeout=RENDER_WAIT_MS)
    expect(page.locator("#clip-video")).not_to_have_attribute("src", old_src)
    expect(page.locator("#clip-status")).to_contain_text(
        f"{clock(new_start)}\N{EN DASH}{clock(new_start + NEW_LENGTH_S)}"
    )

    # Download: a 9:16 MP4 of the new length, under a name made from the title.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download MP4").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".mp4")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    width, height, seconds = probe(saved)
    assert width * 16 == height * 9
    assert abs(seconds - NEW_LENGTH_S) < 0.5

    # Share: the link plays in a fresh browser with no session.
    page.get_by_role("button", name="Create share link").click()
    link = page.get_by_label("Public link: anyone who has it can watch this clip")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{32}$"))
    share_url = link.input_value()
    title = page.locator("#clip-heading").inner_text()

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(share_url)
        expect(other.get_by_role("heading", name=title)).to_be_visible()
        expect(other.get_by_role("link", name="Clips")).to_have_count(0)
        wait_in_page(
            other,
            "document.getElementById('shared-video').readyState >= 1",
            timeout_s=RENDER_WAIT_MS / 1000,
        )
        played = other.evaluate("document.getElementById('shared-video').duration")
        assert abs(played - NEW_LENGTH_S) < 0.5
        og_video = other.locator('meta[property="og:video"]').get_attribute("content")
        assert og_video == share_url + "/clip.mp4"

        # Stop sharing: the stranger's next visit says so.
        page.get_by_role("button", name="Stop sharing").click()
        expect(page.get_by_role("button", name="Create share link")).to_be_visible()
        other.reload()
        expect(other.get_by_role("heading", name="This clip is no longer shared")).to_be_visible()
    finally:
        stranger.close()
