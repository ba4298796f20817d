"""Chromium on the real local stack with the fake platforms (`truss dev` starts them): connect
YouTube, TikTok and Discord by clicking through their consent pages, publish a clip to all three
and watch the statuses change without reloading, schedule another a little ahead in the
creator's time zone and watch it run, then play what the fakes received on /dev/platforms."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_MS = 240_000
RENDER_WAIT_MS = 120_000
PUBLISH_WAIT_MS = 180_000  # upload, the fake's processing, the status checks' backoff
SCHEDULE_WAIT_MS = 300_000  # a minute-granular time ahead, then the scheduler's round
PLATFORMS = ("YouTube", "TikTok", "Discord")
ZONE = "Europe/Paris"
PLAYS = (  # the received video loads and plays in the page
    "v => { v.muted = true; v.play().catch(() => {}); return v.readyState >= 2 && v.duration > 0; }"
)


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 s H.264/AAC MP4 with a hard cut halfway and an applause-like burst around it: the
    analysis finds a clip in it."""
    spec = Spec(40.0, "320x240", cut_at=20.0, loud=(18.0, 22.0), cut_to="red", quiet=0.3)
    fast = replace(spec, preset="ultrafast", faststart=True)
    return synth_video(tmp_path_factory.mktemp("media") / "launch-day.mp4", fast)


def connect(page: Page, stack: LocalStack, platform: str) -> None:
    """Connections page → "Connect <platform> (local)" → the fake's consent page → Allow."""
    page.goto(stack.url + "/connections")
    page.get_by_role("button", name=re.compile(rf"^Connect {platform}\b")).click()
    expect(page.get_by_role("button", name="Allow")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"/connections"))
    card = page.locator(".connection").filter(
        has=page.get_by_role("heading", name=re.compile(platform))
    )
    expect(card.get_by_role("button", name=re.compile(rf"^Disconnect {platform}"))).to_be_visible()


def best_clip(page: Page, stack: LocalStack, video: Path) -> tuple[str, str]:
    """Upload, wait for the analysis; the video page's and the best clip's URLs."""
    upload_through_page(page, stack, video)
    page.goto(stack.url + "/assets")
    page.get_by_role("link", name=video.name).first.click()
    expect(page.locator(".asset-status .badge").first).to_have_text(
        "ready", timeout=ANALYSIS_WAIT_MS
    )
    video_page = page.url
    page.goto(stack.url + "/clips?sort=score")
    link = page.locator(".clip-card h2 a").first
    expect(link).to_be_visible()
    return video_page, stack.url + (link.get_attribute("href") or "")


def own_clip(page: Page, video_page: str, title: str) -> str:
    """A second clip, picked on the video page ("Make a clip of your own"); its page's URL."""
    page.goto(video_page)
    page.get_by_label("Start (seconds, or minutes:seconds)").fill("2")
    page.get_by_label("End (seconds, or minutes:seconds)").fill("8")
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_role("button", name="Make this clip").click()
    expect(page.locator("#clip-heading")).to_have_text(title)
    return page.url


def open_ready_clip(page: Page, url: str) -> None:
    """Open a clip page, wait until it's rendered and its Publish form is in."""
    page.goto(url)
    expect(page.locator("#clip-status .badge")).to_have_text("Ready", timeout=RENDER_WAIT_MS)
    expect(page.get_by_label("Post to Discord")).to_be_visible()


def mark_page(page: Page) -> None:
    """A flag that a reload or navigation would drop: the statuses must change in place."""
    page.evaluate("() => { window.truss_same_page = true; }")


def still_same_page(page: Page) -> bool:
    return bool(page.evaluate("() => window.truss_same_page === true"))


def badge(page: Page, platform: str) -> Locator:
    return page.locator(f"#publication-{platform.lower()} .badge")


def test_connect_publish_schedule_and_play_on_the_fakes(
    local_stack: LocalStack, page: Page, talk: Path
) -> None:
    sign_in(page, local_stack, f"publish-{uuid.uuid4().hex[:8]}@example.com")
    for platform in PLATFORMS:
        connect(page, local_stack, platform)

    # The creator's time zone, on the dashboard.
    page.goto(local_stack.url + "/dashboard")
    page.get_by_label("Change time zone").select_option(ZONE)
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_test_id("creator-time-zone")).to_have_text(ZONE)

    video_page, first = best_clip(page, local_stack, talk)
    second = own_clip(page, video_page, "Countdown")

    # Publish the best clip to all three now; the list updates itself.
    open_ready_clip(page, first)
    for platform in PLATFORMS:
        page.get_by_label(f"Post to {platform}").check()
    counter = page.locator("#count-youtube")
    page.get_by_label("YouTube title").fill("Launch day highlight")
    expect(counter).to_have_text("20 of 100 characters")  # static/js/publish.js, as typed
    page.get_by_label("Who can watch it on TikTok").select_option("SELF_ONLY")
    page.get_by_label("Now", exact=True).check()
    mark_page(page)
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#publish [role=status]").first).to_contain_text("Publishing now")
    for platform in PLATFORMS:
        expect(badge(page, platform)).to_have_text("Published", timeout=PUBLISH_WAIT_MS)
    link = page.locator("#publication-youtube").get_by_role("link", name="See the post on YouTube")
    expect(link).to_be_visible()
    assert still_same_page(page)

    # Schedule the second clip a little ahead (at least a minute: the input has minutes).
    open_ready_clip(page, second)
    at = datetime.now(ZoneInfo(ZONE)) + timedelta(minutes=2)
    page.get_by_label("Post to Discord").check()
    page.get_by_label("At a date and time").check()
    page.get_by_label(f"Date and time ({ZONE})").fill(at.strftime("%Y-%m-%dT%H:%M"))
    mark_page(page)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(badge(page, "Discord")).to_have_text("Scheduled")
    expect(page.locator("#publication-discord")).to_contain_text(f"{at:%H:%M}")
    expect(page.get_by_role("button", name=re.compile("^Cancel"))).to_be_visible()
    expect(badge(page, "Discord")).to_have_text(
        re.compile("Uploading|Processing|Published"), timeout=SCHEDULE_WAIT_MS
    )
    expect(badge(page, "Discord")).to_have_text("Published", timeout=PUBLISH_WAIT_MS)
    assert still_same_page(page)

    # What the fakes received: the first clip on YouTube plays there.
    page.goto(local_stack.url + "/dev/platforms")
    post = page.locator(".received-post").filter(has_text="Launch day highlight").first
    expect(post).to_be_visible()
    video = post.locator("video")
    expect(video).to_be_visible()
    handle = video.element_handle()
    wait_in_page(
        page,
        PLAYS,
        handle,
        timeout_s=30,
    )
