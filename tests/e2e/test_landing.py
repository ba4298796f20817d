"""Chromium opens the landing page, /healthz and /readyz on the real local stack."""

from __future__ import annotations

import json

from playwright.sync_api import Page

from tests.stack import LocalStack


def test_landing_page_and_health_in_a_real_browser(local_stack: LocalStack, page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(local_stack.url + "/")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Long videos in. Vertical clips out."
    assert page.evaluate("typeof window.htmx") == "object"
    assert errors == []  # no CSP violation, no missing script
    page.goto(local_stack.url + "/healthz")
    assert json.loads(page.inner_text("body")) == {"status": "alive"}
    page.goto(local_stack.url + "/readyz")
    body = json.loads(page.inner_text("body"))
    assert body["status"] == "ok" and body["checks"]["worker"]["ok"]
