"""Chromium on the real local stack: a live (fake) Twitch stream becomes chat clips.

The stack's fake Twitch channel #truss_demo loops a generated chat with a burst every
TRUSS_FAKE_TWITCH_BURST_S seconds (30 here, so no test waits minutes for a spike). A creator adds
a Twitch stream on that channel, starts it, watches the chart move and spikes appear without
reloading, ends it, uploads the stream's video, links it, has it analysed again, finds clips
from chat with the chat's evidence in their reason, and plays one.

Spike offsets are seconds since the stream started, so the video is generated once the stream
has ended, at least as long as the stream: every spike (minus the reaction lag) falls inside it.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
BURST_EVERY_S = 30
LIVE_WAIT_MS = 240_000  # the first burst after 20 s of baseline, then the tracker's merge wait
ANALYSIS_WAIT_MS = 300_000
RENDER_WAIT_MS = 180_000
PAGE_WAIT_MS = 30_000  # a form posted and the page it leads to, on a loaded machine
VIDEO_MARGIN_S = 15
# The chat's evidence in a reason, "Chat hit 15x its normal rate; ..." with the sign (the character
# itself: Playwright hands the pattern to JavaScript, which has no \N{...} escape)
EVIDENCE = re.compile("Chat hit [0-9.]+\N{MULTIPLICATION SIGN} its normal rate")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A `truss dev` whose demo channel bursts every BURST_EVERY_S seconds, keeping one clip
    per analysis: the analyzer's one pick (a window shorter than the bursts' spacing) covers
    at most one of two spikes, so the other, stronger than any pick it boosts, is the clip."""
    extra = {"TRUSS_FAKE_TWITCH_BURST_S": str(BURST_EVERY_S), "TRUSS_MAX_CLIPS": "1"}
    local = LocalStack(tmp_path_factory.mktemp("streams-stack"), extra_env=extra).start()
    yield local
    local.stop()


def make_stream_video(dest: Path, seconds: int) -> Path:
    """An H.264 MP4 of the stream, `seconds` long: a still picture and no sound."""
    spec = Spec(float(seconds), "320x240", cut_at=None, audio=False, rate=10, preset="ultrafast")
    return synth_video(dest, replace(spec, picture="color=c=navy", faststart=True))


def add_and_start_demo_stream(page: Page, stack: LocalStack, title: str) -> None:
    page.goto(stack.url + "/streams")
    page.get_by_role("link", name=re.compile("Add a stream", re.I)).first.click()
    page.get_by_label("Channel name").fill("truss_demo")
    page.locator("#twitch-title").fill(title)
    page.get_by_role("button", name="Add the Twitch stream").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=PAGE_WAIT_MS)
    page.get_by_role("button", name="Start listening to the chat").click()
    expect(page.get_by_role("heading", name="Chat right now")).to_be_visible(timeout=PAGE_WAIT_MS)


def watch_it_live(page: Page) -> None:
    """The chart's line changes between polls and two spikes arrive, all in the same page."""
    page.evaluate("window.trussSamePage = true")  # gone if the page reloads or navigates
    line = page.locator("#live svg polyline.chat-rate")
    expect(line).to_be_visible(timeout=LIVE_WAIT_MS)  # the first messages arrived
    first = line.get_attribute("points")
    expect(line).not_to_have_attribute("points", first or "", timeout=LIVE_WAIT_MS)
    spikes = page.locator("#live .live-spikes li")
    expect(spikes.first).to_contain_text("\N{MULTIPLICATION SIGN} normal", timeout=LIVE_WAIT_MS)
    expect(page.locator("#live svg line.spike-mark").first).to_be_attached()
    # A second spike: the analyzer's one pick can't cover both (see the stack fixture).
    expect(spikes.nth(1)).to_be_visible(timeout=LIVE_WAIT_MS)
    assert page.evaluate("window.trussSamePage === true"), "the live page reloaded"


def link_the_video(page: Page, stream_url: str, video: Path) -> None:
    page.goto(stream_url)
    page.get_by_label("Your video of this stream").select_option(label=video.name)
    page.get_by_role("button", name="Link this video").click()
    expect(page.get_by_text(re.compile("Linked to"))).to_be_visible(timeout=PAGE_WAIT_MS)


def analyse_again(page: Page, video: Path) -> None:
    """Open the linked video, wait for its first analysis, then analyse it again with the
    stream linked (the analysis takes the spikes then)."""
    page.get_by_role("link", name=video.name).click()
    badge = page.locator(".asset-status .badge").first
    expect(badge).to_have_text("ready", timeout=ANALYSIS_WAIT_MS)
    page.get_by_role("button", name="Re-analyse this video").click()  # confirm: accepted
    expect(page.get_by_text("The analysis will run again.")).to_be_visible(timeout=PAGE_WAIT_MS)
    expect(badge).to_have_text("ready", timeout=ANALYSIS_WAIT_MS)  # the page polls itself


def test_a_live_stream_on_the_fake_channel_becomes_chat_clips(
    stack: LocalStack, page: Page, tmp_path: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # "Analyse this video again?"
    sign_in(page, stack, f"streams-{uuid.uuid4().hex[:8]}@example.com")
    title = f"Friday stream {uuid.uuid4().hex[:6]}"
    started = time.monotonic()  # before the stream starts: the video outlasts its chat
    add_and_start_demo_stream(page, stack, title)
    stream_url = page.url
    watch_it_live(page)

    page.get_by_role("button", name="End the stream").click()
    expect(page.get_by_text("The stream has ended.")).to_be_visible(timeout=PAGE_WAIT_MS)
    expect(page.get_by_role("heading", name="Chat right now")).to_have_count(0)
    length = math.ceil(time.monotonic() - started) + VIDEO_MARGIN_S

    video = make_stream_video(tmp_path / f"stream-{uuid.uuid4().hex[:6]}.mp4", length)
    upload_through_page(page, stack, video)
    link_the_video(page, stream_url, video)
    analyse_again(page, video)

    # The video page lists clips from chat, their reason the chat's evidence.
    chat_rows = page.locator(".clip-row").filter(has_text="from chat")
    expect(chat_rows.first).to_contain_text(EVIDENCE, timeout=PAGE_WAIT_MS)

    # The clips page, filtered to chat: open one, it renders and plays.
    page.goto(stack.url + "/clips?source=chat")
    cards = page.locator(".clip-card").filter(has_text="From chat")
    expect(cards.first).to_be_visible(timeout=PAGE_WAIT_MS)
    cards.first.locator("h2 a").click()
    expect(page.get_by_text(EVIDENCE).first).to_be_visible(timeout=PAGE_WAIT_MS)
    expect(page.locator("#clip-status .badge")).to_have_text("Ready", timeout=RENDER_WAIT_MS)
    wait_in_page(
        page,
        "(() => { const v = document.getElementById('clip-video');"
        " return v && v.readyState >= 1 && v.duration > 0; })()",
        timeout_s=RENDER_WAIT_MS / 1000,
    )
