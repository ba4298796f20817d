"""Every wait in the browser tests works under the app's own CSP (no 'unsafe-eval', no bypass)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.e2e.helpers import wait_until
from tests.stack import LocalStack

pytestmark = pytest.mark.e2e
STRING_WAIT = re.compile(r"\.wait_for_function\(|bypass_csp")
SET_LATER = "name => setTimeout(() => { document.body.dataset[name] = 'yes'; }, 300)"


def test_no_browser_test_waits_by_evaluating_a_string() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(Path(__file__).parent.glob("*.py"))
        if path.name != Path(__file__).name  # below, the old call is shown failing on purpose
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if STRING_WAIT.search(line)
    ]
    assert offenders == [], "use wait_until() or expect(): the app's CSP refuses string eval"


def test_a_wait_that_starts_false_works_under_the_apps_csp(
    local_stack: LocalStack, page: Page
) -> None:
    response = page.goto(local_stack.url + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp

    # The old way: once the first check is false, Playwright re-evaluates the string with
    # eval() inside the page, which this CSP refuses.
    page.evaluate(SET_LATER, "first")
    with pytest.raises(PlaywrightError, match=r"unsafe-eval|Content Security Policy"):
        page.wait_for_function("document.body.dataset.first === 'yes'", timeout=10_000)

    # The shared helper: false at first, true 300 ms later.
    page.evaluate(SET_LATER, "second")
    assert page.evaluate("document.body.dataset.second") is None
    assert wait_until(page, "document.body.dataset.second === 'yes'", timeout_s=10) is True
