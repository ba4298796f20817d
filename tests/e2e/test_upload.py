"""Chromium on the real local stack: upload a real MP4 and a fake one through the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
UPLOAD_WAIT_MS = 60_000
ARRIVED = re.compile(r"uploaded|queued|analyzing|rendering|ready")


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 10-second H.264/AAC MP4 made with the ffmpeg from imageio-ffmpeg."""
    spec = Spec(10.0, "320x240", cut_at=None, loud=None, quiet=1.0, preset="medium", faststart=True)
    return synth_video(tmp_path_factory.mktemp("media") / "launch-talk.mp4", spec)


def test_upload_a_video_see_progress_library_and_player(
    local_stack: LocalStack, page: Page, video: Path
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, local_stack, f"upload-{uuid.uuid4().hex[:8]}@example.com")

    item = upload_through_page(page, local_stack, video)
    expect(item.locator("progress")).to_have_attribute("value", "100")
    expect(item.locator(".upload-percent")).to_have_text("100%")

    page.goto(local_stack.url + "/assets")
    row = page.locator("tr.asset-row").filter(has_text="launch-talk.mp4")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text(ARRIVED)

    row.get_by_role("link", name="launch-talk.mp4").click()
    expect(page.get_by_role("heading", name="launch-talk.mp4")).to_be_visible()
    player = page.locator("video#player")
    expect(player).to_be_visible()
    wait_in_page(page, "document.querySelector('video#player').readyState >= 1", timeout_s=60)
    assert page.evaluate("document.querySelector('video#player').duration") > 9
    assert errors == []


def test_a_text_file_named_mp4_ends_failed_with_a_reason(
    local_stack: LocalStack, page: Page
) -> None:
    sign_in(page, local_stack, f"fake-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(local_stack.url + "/upload")
    page.get_by_label("Choose video files to upload").set_input_files(
        {"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"Shopping list\n" * 200}
    )
    item = page.locator(".upload-item").filter(has_text="notes.mp4")
    expect(item.get_by_role("status")).to_contain_text("isn't a video", timeout=UPLOAD_WAIT_MS)

    page.goto(local_stack.url + "/assets")
    row = page.locator("tr.asset-row").filter(has_text="notes.mp4")
    expect(row.locator(".badge")).to_have_text("failed")
    expect(row).to_contain_text("isn't a video")


def test_wrong_type_is_refused_before_sending(local_stack: LocalStack, page: Page) -> None:
    sign_in(page, local_stack, f"refuse-{uuid.uuid4().hex[:8]}@example.com")
    page.goto(local_stack.url + "/upload")
    page.get_by_label("Choose video files to upload").set_input_files(
        {"name": "slides.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7"}
    )
    expect(page.get_by_role("alert")).to_contain_text("isn't a video file")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was sent")
    page.goto(local_stack.url + "/assets")
    expect(page.get_by_text("No videos yet")).to_be_visible()


@pytest.fixture(scope="module")
def multipart_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A second stack whose multipart threshold is 1 MiB (5 MiB parts, S3's smallest)."""
    stack = LocalStack(
        tmp_path_factory.mktemp("multipart-stack"),
        extra_env={
            "TRUSS_MULTIPART_THRESHOLD_BYTES": str(1024**2),
            "TRUSS_MULTIPART_PART_BYTES": str(5 * 1024**2),
        },
    ).start()
    yield stack
    stack.stop()


def test_big_file_goes_up_in_parts(multipart_stack: LocalStack, page: Page, video: Path) -> None:
    sign_in(page, multipart_stack, f"parts-{uuid.uuid4().hex[:8]}@example.com")
    big = video.with_name("three-parts.mp4")
    big.write_bytes(video.read_bytes() + b"\x00" * (11 * 1024**2))  # an MP4 head, 3 parts
    page.goto(multipart_stack.url + "/upload")
    page.get_by_label("Choose video files to upload").set_input_files(str(big))
    item = page.locator(".upload-item").filter(has_text="three-parts.mp4")
    expect(item.get_by_role("status")).to_contain_text("Uploaded", timeout=UPLOAD_WAIT_MS)
    expect(item.locator(".upload-percent")).to_have_text("100%")
    assert page.evaluate("Object.keys(localStorage).length") == 0  # nothing left to resume


def test_failed_part_is_retried_and_a_reload_resumes(
    multipart_stack: LocalStack, page: Page, video: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while uploading
    sign_in(page, multipart_stack, f"resume-{uuid.uuid4().hex[:8]}@example.com")
    big = video.with_name("resumable.mp4")
    big.write_bytes(video.read_bytes() + b"\x01" * (11 * 1024**2))
    held: list[Route] = []

    def only_part_one(route: Route) -> None:
        if "partNumber=1&" in route.request.url or route.request.url.endswith("partNumber=1"):
            route.continue_()
        else:
            held.append(route)  # parts 2 and 3 hang until the page goes away

    page.route(re.compile(r"partNumber="), only_part_one)
    page.goto(multipart_stack.url + "/upload")
    with page.expect_event(
        "requestfinished", predicate=lambda request: "partNumber=1" in request.url
    ):
        page.get_by_label("Choose video files to upload").set_input_files(str(big))
    page.reload()  # the held parts die with the page: only part 1 reached S3
    page.unroute_all(behavior="ignoreErrors")

    failures: list[str] = []

    def drop_part_two_once(route: Route) -> None:
        if "partNumber=2" in route.request.url and not failures:
            failures.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(re.compile(r"partNumber="), drop_part_two_once)
    expect(page.locator("#resume-notice")).to_contain_text("resumable.mp4")
    page.get_by_label("Choose video files to upload").set_input_files(str(big))
    item = page.locator(".upload-item").filter(has_text="resumable.mp4")
    expect(item.get_by_role("status")).to_contain_text("Uploaded", timeout=UPLOAD_WAIT_MS)
    assert failures, "part 2 was never dropped, so no retry happened"

    page.goto(multipart_stack.url + "/assets")
    expect(page.locator("tr.asset-row")).to_have_count(1)  # resumed, not a second asset
