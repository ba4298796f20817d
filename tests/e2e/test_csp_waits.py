"""Every wait in the browser tests works under the app's own CSP (no 'unsafe-eval', no bypass)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.stack import LocalStack
from tests.support.waits import wait_in_page

pytestmark = pytest.mark.e2e
TESTS = Path(__file__).resolve().parents[1]
# Written in pieces so this file's own source doesn't match it.
STRING_WAIT = re.compile(r"\bwait_for_function\s*\(|bypass" + "_csp")
SHOWN_FAILING = "# the old call, shown failing"
OLD_CALL = "page.wait_for" + '_function("x")'  # what the guard looks for, in pieces
COUNT_TO_THREE = "() => (window.__n = (window.__n || 0) + 1) >= 3"
# Throws (no element yet) on the first two tries, then finds the element it added on the third.
APPEARS_ON_THIRD_TRY = """() => {
  window.__m = (window.__m || 0) + 1;
  if (window.__m >= 3 && !document.getElementById('late')) {
    const late = document.createElement('div');
    late.id = 'late';
    document.body.append(late);
  }
  return document.getElementById('late').id;
}"""
# The first try starts a navigation and never answers: "Execution context was destroyed".
NAVIGATES_AWAY = """() => {
  if (location.pathname !== '/login') {
    if (!window.__left) {
      window.__left = true;
      location.assign('/login');
    }
    return new Promise(() => {});
  }
  return document.readyState === 'complete' && location.pathname;
}"""


def string_waits(root: Path) -> list[str]:
    """Lines under `root` that wait by evaluating a string or switch the CSP off."""
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if STRING_WAIT.search(line) and not line.rstrip().endswith(SHOWN_FAILING)
    ]


def test_no_test_waits_by_evaluating_a_string() -> None:
    offenders = string_waits(TESTS)
    assert offenders == [], "use wait_in_page() or expect(): the app's CSP refuses string eval"


def test_the_guard_sees_string_waits_in_any_test_folder(tmp_path: Path) -> None:
    nested = tmp_path / "integration" / "deeper"
    nested.mkdir(parents=True)
    (nested / "test_x.py").write_text(OLD_CALL + "\n")
    (tmp_path / "test_y.py").write_text("browser.new_context(bypass" + "_csp=True)\n")
    (tmp_path / "test_z.py").write_text(f"{OLD_CALL}  {SHOWN_FAILING}\n")
    found = string_waits(tmp_path)
    assert [line.split(":")[0] for line in found] == ["integration/deeper/test_x.py", "test_y.py"]


def test_a_wait_that_starts_false_works_under_the_apps_csp(
    local_stack: LocalStack, page: Page
) -> None:
    response = page.goto(local_stack.url + "/")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp

    # The old way: a condition that is never true makes Playwright poll by re-evaluating the
    # string with eval() inside the page, which this CSP refuses (not a timeout).
    with pytest.raises(PlaywrightError, match=r"unsafe-eval|Content Security Policy"):
        page.wait_for_function("window.never", timeout=2_000)  # the old call, shown failing

    # The shared helper: false on the first two tries, true on the third.
    assert wait_in_page(page, COUNT_TO_THREE, timeout_s=10) is True
    assert page.evaluate("window.__n") == 3


def test_wait_until_keeps_trying_through_errors(local_stack: LocalStack, page: Page) -> None:
    page.goto(local_stack.url + "/")
    assert wait_in_page(page, APPEARS_ON_THIRD_TRY, timeout_s=10) == "late"
    assert page.evaluate("window.__m") == 3

    assert wait_in_page(page, NAVIGATES_AWAY, timeout_s=20) == "/login"


def test_wait_until_raises_the_last_error_when_time_runs_out(
    local_stack: LocalStack, page: Page
) -> None:
    page.goto(local_stack.url + "/")
    with pytest.raises(PlaywrightError, match="Cannot read properties of null"):
        wait_in_page(page, "() => document.getElementById('no-such-element').id", timeout_s=1)
    with pytest.raises(AssertionError, match="still false"):
        wait_in_page(page, "() => false", timeout_s=1)
