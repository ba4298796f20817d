"""Chromium on the real local stack: a creator makes a clip of a landscape talk, gives it
word-timed subtitles, previews the `follow` layout, re-renders it with `follow` + word-by-word
captions, and the new clip plays with the captions burned into its picture (a frame of it,
against the same frame rendered without captions)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.waits import wait_in_page
from truss.captions import styles
from truss.media import run_ffmpeg
from truss.reframe import layouts

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_MS = 240_000
RENDER_WAIT_MS = 180_000
CLIP = (2.0, 8.0)
FRAME_AT = 1.5  # seconds into the clip: a caption word is on screen (SRT below)
SRT = "".join(
    f"{i + 1}\n00:00:{i:02d},000 --> 00:00:{i:02d},900\n{word}\n\n"
    for i, word in enumerate(["HELLO", "THERE", "FOLLOW", "THE", "SPEAKER", "NOW"])
)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s, 640x360: the astronaut's face standing left of centre over grey, a tone."""
    folder = tmp_path_factory.mktemp("talk")
    face = skimage_data.astronaut()[30:200, 150:300]
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    dest = folder / "landscape-talk.mp4"
    graph = "[1:v]scale=105:119[f];[0:v][f]overlay=x=120:y=120:shortest=1,format=yuv420p"
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", "color=c=0x607080:s=640x360:r=25:d=12"]
    args += ["-loop", "1", "-framerate", "25", "-i", str(folder / "face.png")]
    args += ["-f", "lavfi", "-i", "sine=f=300:d=12", "-filter_complex", graph, "-map", "2:a"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", "+faststart"]
    run_ffmpeg([*args, "-t", "12", str(dest)], 120, "Making the talk")
    return dest


def make_own_clip(page: Page, stack: LocalStack, video: Path) -> None:
    upload_through_page(page, stack, video)
    page.goto(stack.url + "/assets")
    page.get_by_role("link", name=video.name).first.click()
    expect(page.locator(".asset-status .badge").first).to_have_text(
        "ready", timeout=ANALYSIS_WAIT_MS
    )
    form = page.locator("#new-clip-form")
    form.get_by_label("Start (seconds, or minutes:seconds)").fill(str(CLIP[0]))
    form.get_by_label("End (seconds, or minutes:seconds)").fill(str(CLIP[1]))
    form.get_by_label("Title (optional)").fill("Captions and follow")
    form.get_by_role("button", name="Make this clip").click()
    expect(page.locator("#clip-status .badge")).to_have_text("Ready", timeout=RENDER_WAIT_MS)


def rerender(page: Page, layout: str, captions: str) -> None:
    old_src = page.locator("#clip-video").get_attribute("src") or ""
    page.get_by_role("radio", name=layouts.LABELS[layout], exact=True).check()
    page.get_by_role("radio", name=styles.LABELS[captions], exact=True).check()
    page.get_by_role("button", name="Re-render with these times, layout and captions").click()
    expect(page.locator("#trim-form [role=status]")).to_contain_text(layouts.LABELS[layout])
    # the player is swapped for the new file once it is ready (the old one plays until then)
    expect(page.locator("#clip-video")).not_to_have_attribute(
        "src", old_src, timeout=RENDER_WAIT_MS
    )
    expect(page.locator("#clip-status .badge")).to_have_text("Ready")


def plays(page: Page) -> None:
    """The clip's video element loads and its time advances."""
    page.evaluate(
        "() => { const v = document.getElementById('clip-video'); v.muted = true; v.play(); }"
    )
    wait_in_page(page, "() => document.getElementById('clip-video').readyState >= 2")
    wait_in_page(page, "() => document.getElementById('clip-video').currentTime > 0.5")


def frame(page: Page, at: float) -> np.ndarray:
    """A screenshot of the clip's video element paused at `at` seconds (grayscale)."""
    page.evaluate(
        """t => new Promise(done => {
            const v = document.getElementById('clip-video');
            v.pause(); v.controls = false;  // the picture only, no control bar over it
            v.addEventListener('seeked', () => done(), {once: true}); v.currentTime = t;
        })""",
        at,
    )
    shot = page.locator("#clip-video").screenshot()
    picture = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert picture is not None
    return picture.astype(float)


def test_follow_with_word_captions_renders_a_clip_that_shows_them(
    local_stack: LocalStack, page: Page, talk: Path, tmp_path: Path
) -> None:
    sign_in(page, local_stack, f"reframe-{uuid.uuid4().hex[:8]}@example.com")
    make_own_clip(page, local_stack, talk)

    # Word-timed subtitles for the clip, uploaded on its page.
    subtitles = tmp_path / "words.srt"
    subtitles.write_text(SRT, encoding="utf-8")
    page.get_by_label("Subtitle file for this clip").set_input_files(str(subtitles))
    page.get_by_role("button", name="Upload subtitles").click()
    expect(page.locator("#captions .transcript-words")).to_contain_text("SPEAKER")

    # A preview still of the follow layout, before rendering anything.
    page.get_by_role("radio", name=layouts.LABELS[layouts.FOLLOW], exact=True).check()
    page.get_by_role("button", name="Preview a frame in this layout").click()
    still = page.locator("#layout-preview img")
    expect(still).to_have_attribute("alt", re.compile("Follow the speaker"))
    wait_in_page(
        page, "() => { const i = document.querySelector('#layout-preview img'); "
        "return i && i.complete && i.naturalWidth === 360; }",
    )  # fmt: skip

    rerender(page, layouts.FOLLOW, styles.WORDS)
    plays(page)
    with_captions = frame(page, FRAME_AT)

    rerender(page, layouts.FOLLOW, styles.NONE)
    plays(page)
    without = frame(page, FRAME_AT)

    assert with_captions.shape == without.shape
    height = with_captions.shape[0]
    change = np.abs(with_captions - without)
    top = change[: height // 3].mean()  # the face and background: the same picture
    band = change[height // 2 : int(height * 0.85)].max(axis=1)  # rows where captions go
    assert top < 4, f"the picture changed above the captions ({top:.1f})"
    assert (band > 80).sum() >= 8, "no caption drawn in the lower part of the frame"
