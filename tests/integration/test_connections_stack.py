"""Connections on the real local stack (`truss dev`): a platform connected on the fake providers
is still connected after a restart, and its sealed tokens still open (disconnect revokes them)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import requests

from tests.stack import LocalStack
from tests.support.fake_platforms import press
from tests.support.waits import wait_until

pytestmark = pytest.mark.stack

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FLASH = re.compile(r'class="flash flash-(\w+)" role="status">([^<]+)')


def csrf(page: str) -> str:
    found = CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(stack: LocalStack, email: str) -> requests.Session:
    """The way a creator does it: ask for a link, open it from the dev outbox, confirm."""
    browser = requests.Session()
    page = browser.get(stack.url + "/login", timeout=10).text
    browser.post(stack.url + "/login", data={"email": email, "csrf_token": csrf(page)}, timeout=10)
    link_here = re.compile(re.escape(stack.url) + r'/login/link/[^\s<"]+')  # not an old port's
    outbox = wait_until(
        lambda: link_here.search(browser.get(stack.url + "/dev/outbox", timeout=10).text),
        timeout_s=30,
        what="the sign-in email in the dev outbox",
        poll_s=0.3,
    )
    link = html.unescape(outbox.group(0))
    browser.post(link, data={"csrf_token": csrf(browser.get(link, timeout=10).text)}, timeout=10)
    return browser


def flashes(page: str) -> list[str]:
    return [html.unescape(words) for _, words in FLASH.findall(page)]


def test_a_connection_survives_a_restart_and_its_tokens_still_open(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path).start()
    try:
        browser = sign_in(stack, "keeper@example.com")
        page = browser.get(stack.url + "/connections", timeout=10).text
        assert "Connect TikTok (local)" in page
        answer = browser.post(
            stack.url + "/connections/tiktok/connect",
            data={"csrf_token": csrf(page)},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.headers["Location"].startswith(stack.fake_platforms_url)
        back = browser.get(press(answer.headers["Location"], account="kept.tiktoker"), timeout=10)
        assert "Connected TikTok (local): kept.tiktoker." in flashes(back.text)
    finally:
        assert stack.stop() == 0

    again = LocalStack(tmp_path).start()  # new ports; the same data directory
    try:
        browser = sign_in(again, "keeper@example.com")
        page = browser.get(again.url + "/connections", timeout=10).text
        assert "kept.tiktoker" in page and "Disconnect TikTok (local)" in page
        gone = browser.post(
            again.url + "/connections/tiktok/disconnect",
            data={"csrf_token": csrf(page)},
            timeout=10,
        )
        said = flashes(gone.text)
        assert "Disconnected TikTok (local); Truss's access was revoked at TikTok (local)." in said
    finally:
        again.stop()
