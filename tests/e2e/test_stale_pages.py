"""Chromium on the real local stack: pages left open say what happened when they stop working —
"out of date" after signing in again elsewhere, "signed out" after a sign-out, "couldn't be
reached" when the network drops — on the upload page and on htmx forms."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e
NOT_A_VIDEO_YET = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096


def choose_file(page: Page, name: str) -> Page:
    page.get_by_label("Choose video files to upload").set_input_files(
        {"name": name, "mimeType": "video/mp4", "buffer": NOT_A_VIDEO_YET}
    )
    return page


def sign_out(page: Page, stack: LocalStack) -> None:
    page.goto(stack.url + "/dashboard")
    page.get_by_role("main").get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You're signed out")).to_be_visible()


def test_pages_left_open_say_what_happened(
    local_stack: LocalStack, context: BrowserContext, page: Page
) -> None:
    email = f"stale-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, local_stack, email)
    dashboard = context.new_page()
    dashboard.goto(local_stack.url + "/dashboard")

    # The network drops under an htmx form: the page says so instead of doing nothing.
    dashboard.route("**/dashboard/name", lambda route: route.abort("internetdisconnected"))
    dashboard.get_by_label("Change display name").fill("Offline Ada")
    dashboard.get_by_role("button", name="Save display name").click()
    expect(dashboard.get_by_role("alert")).to_contain_text("Truss couldn't be reached")
    dashboard.unroute_all()

    # Signed out and in again in another tab: the pages opened before are out of date.
    page.goto(local_stack.url + "/upload")
    other = context.new_page()
    sign_out(other, local_stack)
    sign_in(other, local_stack, email)

    dashboard.get_by_role("button", name="Save display name").click()
    expect(dashboard.get_by_role("alert")).to_contain_text("This page is out of date")
    expect(dashboard.get_by_role("alert")).to_contain_text("Reload the page")

    item = choose_file(page, "old-tab.mp4").locator(".upload-item").filter(has_text="old-tab.mp4")
    expect(item.get_by_role("status")).to_contain_text("This page is out of date")
    expect(item.get_by_role("status")).not_to_contain_text("signed out")

    # A real sign-out says so.
    page.reload()
    sign_out(other, local_stack)
    item = choose_file(page, "after-sign-out.mp4").locator(".upload-item")
    expect(item.filter(has_text="after-sign-out.mp4").get_by_role("status")).to_contain_text(
        "You were signed out"
    )
