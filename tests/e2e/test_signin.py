"""Chromium on the real local stack: sign in by email link from the dev outbox, sign out, Back."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.stack import LocalStack

pytestmark = pytest.mark.e2e
MAIL_WAIT_S = 30


def _outbox_link(page: Page, base: str, email: str) -> Locator:
    """The worker sends the mail: reload the outbox until this person's link shows up."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        page.goto(base + "/dev/outbox")
        mail = page.locator("article").filter(has_text=email)
        if mail.count():
            return mail.first.get_by_role("link")
        if time.monotonic() > deadline:
            raise AssertionError(f"no email to {email} in the dev outbox after {MAIL_WAIT_S} s")
        page.wait_for_timeout(300)


def test_sign_in_by_email_link_then_sign_out_and_back(local_stack: LocalStack, page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    base = local_stack.url
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"

    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    _outbox_link(page, base, email).click()
    expect(page.get_by_role("heading", name="Continue signing in")).to_be_visible()
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_text(email)).to_be_visible()

    page.get_by_role("main").get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_text("You're signed out")).to_be_visible()

    page.go_back()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Sign in or create an account")).to_be_visible()
    assert email not in page.content()
    assert errors == []
