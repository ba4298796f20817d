"""Chromium on the real local stack: the library follows two working videos with one poll for
the whole page (no request per row), swaps their statuses in place, and stops polling."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_MS = 240_000
POLL = re.compile(r"/assets/working\?")
ROW_POLL = re.compile(r"/assets/\w+/status")


def short_video(dest: Path) -> Path:
    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc=duration=30:size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=30",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-shortest", "-movflags", "+faststart", str(dest),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return dest


def test_one_poll_follows_every_working_row_until_done(
    local_stack: LocalStack, page: Page, tmp_path: Path
) -> None:
    sign_in(page, local_stack, f"library-{uuid.uuid4().hex[:8]}@example.com")
    first = short_video(tmp_path / "first-take.mp4")
    second = short_video(tmp_path / "second-take.mp4")
    upload_through_page(page, local_stack, first)
    upload_through_page(page, local_stack, second)

    polls: list[str] = []
    row_polls: list[str] = []

    def seen(request: Request) -> None:
        if POLL.search(request.url):
            polls.append(request.url)
        elif ROW_POLL.search(request.url):
            row_polls.append(request.url)

    page.on("request", seen)
    loads = {"count": 0}
    page.goto(local_stack.url + "/assets")
    page.on("load", lambda _: loads.__setitem__("count", loads["count"] + 1))
    rows = page.locator("tr.asset-row")
    expect(rows).to_have_count(2)
    working = page.locator("#library .poll-id").evaluate_all("inputs => inputs.map(i => i.value)")
    assert working, "a video was still working when the library opened"
    for row in (rows.nth(0), rows.nth(1)):
        expect(row.locator(".asset-status .badge")).to_have_text("ready", timeout=ANALYSIS_WAIT_MS)

    assert loads["count"] == 0  # swapped in place, no reload
    assert row_polls == []  # no row polls by itself
    assert polls, "the page polled"
    assert sorted(re.findall(r"id=(\w+)", polls[0])) == sorted(working)  # one request, all rows
    settled = len(polls)
    page.wait_for_timeout(5_000)  # more than two poll intervals
    assert len(polls) == settled  # the last answer (286) stopped the poll
