"""Chromium on the real local stack: sign in by email link from the dev outbox, sign out, Back."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import outbox_link, request_link
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e


def test_sign_in_by_email_link_then_sign_out_and_back(local_stack: LocalStack, page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    base = local_stack.url
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"

    request_link(page, base, email)
    outbox_link(page, base, email).click()
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
