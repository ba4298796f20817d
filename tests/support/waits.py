"""The one wait of the tests: call a check until it gives something truthy (`wait_until`), and
the browser's form of it (`wait_in_page`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    timeout_s: float = 10.0,
    what: str = "the condition",
    poll_s: float = 0.05,
    retry: Callable[[Exception], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `check` until it returns something truthy and return that. A try that raises an
    error `retry` accepts counts as "not yet"; if the deadline passes, the last such error is
    raised (so the test says what went wrong), else an AssertionError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        error: Exception | None = None
        try:
            value = check()
        except Exception as exc:
            if retry is None or not retry(exc):
                raise
            error, value = exc, None
        if value:
            return value
        if time.monotonic() > deadline:
            if error is not None:
                raise error
            raise AssertionError(f"still false after {timeout_s} s: {what}")
        sleep(poll_s)


def wait_in_page(page: Any, expression: str, arg: Any = None, timeout_s: float = 30.0) -> Any:
    """wait_until `expression` (a JS expression or function, called with `arg`) is truthy in
    `page`, and its value. Each try is a one-off `page.evaluate`, which the app's CSP allows;
    Playwright's `wait_for_function` with a string re-evaluates it inside the page with `eval`,
    which a CSP without 'unsafe-eval' refuses as soon as the first try is false.

    A try that throws (an element not there yet, "Execution context was destroyed" while the
    page navigates) counts as "not yet", like `wait_for_function`, unless the page closed."""
    from playwright.sync_api import Error as PlaywrightError

    def still_open(exc: Exception) -> bool:
        return isinstance(exc, PlaywrightError) and not page.is_closed()

    return wait_until(
        lambda: page.evaluate(expression, arg),
        timeout_s,
        expression,
        poll_s=0.1,
        retry=still_open,
        sleep=page_sleep(page),
    )


def page_sleep(page: Any) -> Callable[[float], None]:
    """A sleep that lets the page run (its scripts and request events) meanwhile."""
    return lambda seconds: page.wait_for_timeout(seconds * 1000)
