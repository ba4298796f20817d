"""Browser steps shared by the end-to-end tests."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.stack import LocalStack
from tests.support.waits import page_sleep, wait_until

MAIL_WAIT_S = 60


def mails_to(page: Page, base: str, email: str) -> Locator:
    """The dev outbox's mails to this person, newest first."""
    page.goto(base + "/dev/outbox")
    return page.locator("article").filter(has_text=email)


def outbox_link(page: Page, base: str, email: str, after: int = 0) -> Locator:
    """The worker sends the mail: reload the dev outbox until more than `after` mails to this
    person are there, and return the newest one's link."""

    def new_mail() -> Locator | None:
        mail = mails_to(page, base, email)
        return mail if mail.count() > after else None

    what = f"a new email to {email} in the dev outbox"
    mail = wait_until(new_mail, MAIL_WAIT_S, what, poll_s=0.3, sleep=page_sleep(page))
    return mail.first.get_by_role("link")


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
