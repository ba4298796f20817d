"""Chromium on the real local stack: upload a generated 60-second video, watch the stage text
change on the asset page without reloading, see the clips appear with scores, play one."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import make_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_S = 300


@pytest.fixture(scope="module")
def minute(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "sixty-seconds.mp4", 60)


def watch_stages_until_ready(page: Page) -> list[str]:
    """Read the live status every 100 ms until ready; return the working stages seen while
    no page load happened (htmx swaps the status in place)."""
    loads = {"count": 0}
    page.on("load", lambda _: loads.__setitem__("count", loads["count"] + 1))
    stages: list[str] = []
    deadline = time.monotonic() + ANALYSIS_WAIT_S
    status = page.locator(".asset-status").first
    while time.monotonic() < deadline:
        text = " ".join(status.inner_text().split()) if status.count() else ""
        if text.startswith("ready"):
            return stages
        if text and loads["count"] == 0 and (not stages or stages[-1] != text):
            stages.append(text)
        page.wait_for_timeout(100)
    raise AssertionError(f"not ready after {ANALYSIS_WAIT_S} s; stages seen: {stages}")


def test_upload_watch_the_stages_and_play_a_clip(
    local_stack: LocalStack, page: Page, minute: Path
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, local_stack, f"stages-{uuid.uuid4().hex[:8]}@example.com")
    upload_through_page(page, local_stack, minute)
    page.goto(local_stack.url + "/assets")
    page.get_by_role("link", name=minute.name).first.click()
    expect(page).to_have_url(re.compile(r"/assets/\w+$"))
    page.wait_for_load_state("load")

    stages = watch_stages_until_ready(page)
    assert len(set(stages)) >= 2, stages  # the stage text changed with no page load
    assert any("Rendering" in s or "Rendered" in s for s in stages), stages

    expect(page.get_by_role("heading", name="Clips")).to_be_visible()
    rows = page.locator(".clip-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 1
    expect(rows.first).to_contain_text(re.compile(r"score \d+"))
    expect(page.get_by_role("heading", name="Chapters")).to_be_visible()

    rows.first.get_by_role("link").first.click()  # the clip's own page
    video = page.locator("video").first
    expect(video).to_be_visible()
    wait_in_page(
        page, "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }"
    )
    page.evaluate("() => document.querySelector('video').play()")
    wait_in_page(page, "() => document.querySelector('video').currentTime > 0.3")
    dims = page.evaluate(
        "() => { const v = document.querySelector('video'); return [v.videoWidth, v.videoHeight]; }"
    )
    assert dims == [720, 1280]
    assert errors == []
