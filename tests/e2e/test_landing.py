"""Chromium opens the landing page and /healthz on the real local stack."""

from __future__ import annotations

import json

from tests.stack import LocalStack


def test_landing_page_and_health_in_a_real_browser(local_stack: LocalStack, page: object) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)  # type: ignore[attr-defined]
    page.goto(local_stack.url + "/")  # type: ignore[attr-defined]
    assert page.get_by_role("heading", level=1).inner_text() == "Long videos in. Vertical clips out."  # type: ignore[attr-defined]
    assert page.evaluate("typeof window.htmx") == "object"  # type: ignore[attr-defined]
    assert errors == []  # no CSP violation, no missing script
    page.goto(local_stack.url + "/healthz")  # type: ignore[attr-defined]
    body = json.loads(page.inner_text("body"))  # type: ignore[attr-defined]
    assert body["status"] == "ok"
