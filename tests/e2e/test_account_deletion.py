"""Chromium on the real local stack: a creator uploads a video, deletes the account from the
dashboard (a wrong email refused first), follows the progress page (htmx polling under the
CSP) until done, is signed out in another tab too, and the same email signs up again to an
empty library."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import make_video

pytestmark = pytest.mark.e2e
DELETION_WAIT_MS = 120_000


def test_delete_the_account_then_sign_up_again_to_an_empty_library(
    local_stack: LocalStack, page: Page, context: BrowserContext, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    base, email = local_stack.url, f"gone-{uuid.uuid4().hex[:8]}@example.com"
    sign_in(page, local_stack, email)
    upload_through_page(page, local_stack, make_video(tmp_path / "farewell-talk.mp4", 6))
    other_tab = context.new_page()
    other_tab.goto(base + "/assets")
    video_link = other_tab.get_by_role("link", name="farewell-talk.mp4")
    expect(video_link).to_be_visible()

    page.goto(base + "/dashboard")
    page.get_by_role("link", name="Delete my account and everything in it…").click()
    expect(page.get_by_text("This can't be undone.")).to_be_visible()
    confirm = page.get_by_label("Type your account's email to confirm")
    delete = page.get_by_role("button", name="Delete my account and everything in it")
    confirm.fill("someone-else@example.com")
    delete.click()
    # the field's own alert (base.html's empty request-problem region is an alert too, shown
    # for a moment while the new page's stylesheet loads)
    refused = page.locator("#confirm-email-error")
    expect(refused).to_contain_text("That isn't the email of this account")
    expect(refused).to_have_attribute("role", "alert")
    assert [e for e in errors if "400" not in e] == []
    errors.clear()  # the refused form's page comes with status 400, which Chromium logs

    page.get_by_label("Type your account's email to confirm").fill(email)
    page.get_by_role("button", name="Delete my account and everything in it").click()
    expect(page).to_have_url(re.compile(r"/account/deleted$"))
    expect(page.get_by_text("You are signed out everywhere.")).to_be_visible()
    done = page.get_by_test_id("deletion-done")
    expect(done).to_contain_text(
        "your account and everything in it are deleted", timeout=DELETION_WAIT_MS
    )

    other_tab.goto(base + "/assets")
    expect(other_tab).to_have_url(re.compile(r"/login"))

    sign_in(page, local_stack, email)
    page.goto(base + "/assets")
    expect(page.get_by_text("No videos yet.")).to_be_visible()
    expect(page.get_by_role("link", name="farewell-talk.mp4")).to_have_count(0)
    assert errors == []
