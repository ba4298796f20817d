"""Chromium on the real local stack: the library follows two working videos with one poll for
the whole page (no request per row), swaps their statuses in place, and stops polling.

The stack's analysis worker is held (SIGSTOP) while the videos are uploaded and the library
opens, so both rows are still working whatever the machine's speed; it is let go once the
page's first poll has gone out."""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, Request, Response, expect

from tests.e2e.helpers import sign_in, upload_through_page
from tests.stack import LocalStack
from tests.support.media import Spec, synth_video
from tests.support.waits import page_sleep, wait_until

pytestmark = pytest.mark.e2e
ANALYSIS_WAIT_MS = 240_000
POLL = re.compile(r"/assets/working$")
ROW_POLL = re.compile(r"/assets/\w+/status")


def short_video(dest: Path) -> Path:
    spec = Spec(30.0, "320x240", cut_at=None, loud=None, quiet=1.0, preset="ultrafast")
    return synth_video(dest, replace(spec, faststart=True))


@contextmanager
def worker_held(stack: LocalStack) -> Iterator[None]:
    """Stop the stack's analysis worker (it takes no job) until the block ends."""
    pid = stack.child_pid("worker")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def polled_ids(body: str | None) -> list[str]:
    """The video ids a library poll sent (its form: `id=<id>.<signature>` per row)."""
    refs = parse_qs(body or "").get("id", [])
    return sorted(ref.partition(".")[0] for ref in refs)


def test_one_poll_follows_every_working_row_until_done(
    local_stack: LocalStack, page: Page, tmp_path: Path
) -> None:
    sign_in(page, local_stack, f"library-{uuid.uuid4().hex[:8]}@example.com")
    first = short_video(tmp_path / "first-take.mp4")
    second = short_video(tmp_path / "second-take.mp4")

    polls: list[str | None] = []
    row_polls: list[str] = []

    def seen(request: Request) -> None:
        if POLL.search(request.url):
            polls.append(request.post_data)
        elif ROW_POLL.search(request.url):
            row_polls.append(request.url)

    answers: list[int] = []

    def answered(response: Response) -> None:
        if POLL.search(response.url):
            answers.append(response.status)

    page.on("response", answered)
    loads = {"count": 0}
    rows = page.locator("tr.asset-row")
    with worker_held(local_stack):  # both videos stay queued until the library has polled
        upload_through_page(page, local_stack, first)
        upload_through_page(page, local_stack, second)
        page.on("request", seen)
        page.goto(local_stack.url + "/assets")
        page.on("load", lambda _: loads.__setitem__("count", loads["count"] + 1))
        expect(rows).to_have_count(2)
        working = page.locator("#library .poll-id").evaluate_all(
            "inputs => inputs.map(i => i.value.split('.')[0])"
        )
        assert len(working) == 2  # both rows are working: the page polls
        wait_until(lambda: bool(polls), 30, "the library's first poll", 0.1, sleep=page_sleep(page))
        assert polled_ids(polls[0]) == sorted(working)  # one request, all rows
    for row in (rows.nth(0), rows.nth(1)):
        expect(row.locator(".asset-status .badge")).to_have_text("ready", timeout=ANALYSIS_WAIT_MS)

    assert loads["count"] == 0  # swapped in place, no reload
    assert row_polls == []  # no row polls by itself
    wait_until(lambda: 286 in answers, 30, "the last answer (286)", 0.1, sleep=page_sleep(page))
    settled = len(polls)
    page.wait_for_timeout(5_000)  # more than two poll intervals
    assert len(polls) == settled  # the last answer (286) stopped the poll
