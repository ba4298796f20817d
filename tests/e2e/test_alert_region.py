"""Chromium on the real local stack: the alert that says an htmx request failed is seen where the
person is (at the top of the viewport, however far down they scrolled), a second identical
failure is announced again, and a later successful action anywhere on the page clears it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
UNREACHABLE = "Truss couldn't be reached"
ANALYSIS_WAIT_MS = 120_000
# Every text the alert region shows, in order, as a screen reader's live region sees it change.
RECORD_ALERTS = """() => {
  const box = document.getElementById('request-problem');
  window.__shown = [];
  new MutationObserver(() => window.__shown.push(box.textContent))
    .observe(box, { childList: true, characterData: true, subtree: true });
}"""
# The message appeared twice, with the region emptied in between (a new alert, not a no-op).
SHOWN_TWICE = """text => window.__shown
  .filter((shown, i, all) => i === 0 || shown !== all[i - 1])
  .filter(shown => shown.includes(text)).length >= 2"""
TOP_OF_MAIN_SCROLLED_AWAY = """() =>
  window.scrollY > document.querySelector('main').getBoundingClientRect().top + window.scrollY"""


def unreachable(route: Route) -> None:
    route.abort("internetdisconnected")


def test_a_repeated_failure_is_announced_again_where_the_person_is(
    local_stack: LocalStack, page: Page
) -> None:
    sign_in(page, local_stack, f"alert-{uuid.uuid4().hex[:8]}@example.com")
    page.set_viewport_size({"width": 800, "height": 260})  # a phone held sideways
    page.goto(local_stack.url + "/dashboard")
    page.route("**/dashboard/name", unreachable)
    page.evaluate(RECORD_ALERTS)

    page.get_by_label("Change display name").fill("Ada Offline")
    save = page.get_by_role("button", name="Save display name")
    save.scroll_into_view_if_needed()
    assert page.evaluate(TOP_OF_MAIN_SCROLLED_AWAY), "the page should be scrolled down here"
    save.click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(UNREACHABLE)
    expect(alert).to_be_in_viewport(ratio=1)

    save.click()  # the same failure again: said again, not silently left as it was
    wait_in_page(page, SHOWN_TWICE, UNREACHABLE, timeout_s=10)
    expect(alert).to_contain_text(UNREACHABLE)
    expect(alert).to_be_in_viewport(ratio=1)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = Spec(3.0, "320x240", cut_at=None, loud=None, audio=False, preset="ultrafast")
    return synth_video(tmp_path_factory.mktemp("media") / "alert-test.mp4", spec)


def test_a_later_success_elsewhere_clears_the_alert(
    local_stack: LocalStack, page: Page, video: Path
) -> None:
    sign_in(page, local_stack, f"alert-{uuid.uuid4().hex[:8]}@example.com")
    upload_through_page(page, local_stack, video)
    page.goto(local_stack.url + "/assets")
    page.get_by_role("link", name=video.name).first.click()
    # Wait until the page stops polling: it reloads itself when the analysis ends, which would
    # empty the alert region on its own.
    badge = page.locator(".asset-status .badge").first
    expect(badge).to_have_text(re.compile("ready|failed"), timeout=ANALYSIS_WAIT_MS)
    page.reload()
    expect(page.get_by_role("heading", name=video.name)).to_be_visible()
    page.evaluate("() => { window.__same_page = true; }")

    # Saving a new title fails (the connection drops for that request only)...
    page.route(
        "**/assets/*/title*",
        lambda route: unreachable(route) if route.request.method == "POST" else route.continue_(),
    )
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("New title").fill("Offline title")
    page.get_by_role("button", name="Save title").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(UNREACHABLE)

    # ...then another button works: the message about the failed save is no longer current.
    page.get_by_role("button", name="Keep the old title").click()
    expect(page.get_by_role("button", name="Rename")).to_be_visible()
    expect(page.locator("#request-problem")).to_be_empty()
    expect(page.locator("#request-problem")).to_be_hidden()
    assert page.evaluate("window.__same_page") is True  # cleared by the script, not a reload
