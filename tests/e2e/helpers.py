"""Browser steps shared by the end-to-end tests."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.stack import LocalStack

MAIL_WAIT_S = 60
POLL_MS = 100


def wait_until(page: Page, expression: str, arg: Any = None, timeout_s: float = 30.0) -> Any:
    """Evaluate `expression` (a JS expression or function, called with `arg`) until it is truthy
    and return its value. Each try is a one-off `page.evaluate`, which the app's CSP allows;
    Playwright's `wait_for_function` with a string re-evaluates it inside the page with `eval`,
    which a CSP without 'unsafe-eval' refuses as soon as the first try is false.

    A try that throws (an element not there yet, "Execution context was destroyed" while the
    page navigates) counts as "not yet", like `wait_for_function`; if the deadline passes, the
    last error is raised so the test says what went wrong."""
    deadline = time.monotonic() + timeout_s
    while True:
        error: PlaywrightError | None = None
        try:
            value = page.evaluate(expression, arg)
        except PlaywrightError as exc:
            if page.is_closed():
                raise
            error, value = exc, None
        if value:
            return value
        if time.monotonic() > deadline:
            if error is not None:
                raise error
            raise AssertionError(f"still false after {timeout_s} s: {expression}")
        page.wait_for_timeout(POLL_MS)


def mails_to(page: Page, base: str, email: str) -> Locator:
    """The dev outbox's mails to this person, newest first."""
    page.goto(base + "/dev/outbox")
    return page.locator("article").filter(has_text=email)


def outbox_link(page: Page, base: str, email: str, after: int = 0) -> Locator:
    """The worker sends the mail: reload the dev outbox until more than `after` mails to this
    person are there, and return the newest one's link."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        mail = mails_to(page, base, email)
        if mail.count() > after:
            return mail.first.get_by_role("link")
        if time.monotonic() > deadline:
            raise AssertionError(f"no new email to {email} in the dev outbox after {MAIL_WAIT_S} s")
        page.wait_for_timeout(300)


def request_link(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def sign_in(page: Page, stack: LocalStack, email: str) -> None:
    """Sign in the way a person does: link by email, open it from the outbox, Continue."""
    before = mails_to(page, stack.url, email).count()  # signing in again: wait for a new link
    request_link(page, stack.url, email)
    outbox_link(page, stack.url, email, after=before).click()
    expect(page.get_by_role("heading", name="Continue signing in")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


UPLOAD_WAIT_MS = 60_000


def upload_through_page(page: Page, stack: LocalStack, video: Path) -> Locator:
    """Choose a file on the upload page and wait until the page says it is uploaded."""
    page.goto(stack.url + "/upload")
    page.get_by_label("Choose video files to upload").set_input_files(str(video))
    item = page.locator(".upload-item").filter(has_text=video.name)
    expect(item.get_by_role("status")).to_contain_text("Uploaded", timeout=UPLOAD_WAIT_MS)
    return item
