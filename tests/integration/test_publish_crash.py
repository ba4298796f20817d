"""On the real local stack (`truss dev` with its fake platforms): a worker killed with SIGKILL
in the middle of a YouTube upload doesn't lose the post or post it twice. The upload is cut at
40 % (the fake's drop fault); while the adapter waits to resume, the worker and its work horse
die. The dead job's lease lapses, RQ finds the job abandoned and retries it (or the maintenance
reconcile queues it), the new attempt claims the post, resumes the saved upload session, and
the post ends `published` with ONE video on the fake YouTube."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import requests

from tests.integration.test_worker_crash import children_of
from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.clips import make_clip, ready_asset
from tests.support.crash_stack import HEARTBEAT_S, MAINTENANCE_S, crash_stack
from tests.support.fake_platforms import connect
from tests.support.waits import wait_until
from truss import jobs
from truss.data import publications as store
from truss.data.platform_tokens import Account
from truss.extensions import get_storage, get_table, get_token_service
from truss.local.fake_platforms import FakePlatforms, FakeSettings
from truss.publishing import service
from truss.publishing.tokens import TokenSet

pytestmark = pytest.mark.stack
CID, CLID = "01JCRASH000000000000000000", "01J00000000000000000000901"
# The lease (3 heartbeats) lapses; RQ sees the job abandoned after HEARTBEAT + 60 s and retries
# it after its first interval; the processing check follows 5 s later. Plus slack.
DEADLINE_S = HEARTBEAT_S + 60 + MAINTENANCE_S + jobs.PUBLISH_RETRY.intervals[0] + 60
SIZE = 6 * 1024 * 1024


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    """The stack test_worker_crash uses: maintenance and heartbeat every 5 s."""
    yield from crash_stack(tmp_path)


def fault(stack: LocalStack, **body: Any) -> dict[str, Any]:
    answer = requests.post(f"{stack.fake_platforms_url}/_fake/faults", json=body, timeout=5)
    answer.raise_for_status()
    return dict(answer.json())


def faults(stack: LocalStack) -> dict[str, Any]:
    return dict(requests.get(f"{stack.fake_platforms_url}/_fake/faults", timeout=5).json())


def received(stack: LocalStack, platform: str) -> list[dict[str, Any]]:
    entries = requests.get(f"{stack.fake_platforms_url}/_fake/received", timeout=5).json()
    return [e for e in entries if e["platform"] == platform]


def test_a_worker_killed_mid_upload_still_publishes_the_post_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_stack(stack, monkeypatch)
    fakes = cast(
        FakePlatforms, SimpleNamespace(settings=FakeSettings(), base_url=stack.fake_platforms_url)
    )
    answer = connect(fakes, "google")  # the OAuth flow against the stack's fake Google
    asset = ready_asset(app, CID)
    clip = make_clip(app, CID, asset.id, CLID)
    with app.app_context():
        table = get_table()
        get_storage().put_bytes(clip.video_key, os.urandom(SIZE), "video/mp4")
        tokens = TokenSet(answer["access_token"], answer["refresh_token"], int(time.time()) + 3000)
        get_token_service().connect(CID, Account("youtube", "yt-1", "Alice"), tokens)
        fault(stack, fault="drop_upload", platform="youtube", at=0.4)
        first_worker = stack.child_pid("worker")

        request = service.PostRequest("youtube", "Crash test", "Resumed", "unlisted")
        result = service.publish(table, CID, clip, [request], None, time.time())
        assert not result.errors, result.errors
        for pub, run_at in result.to_enqueue:
            jobs.enqueue_publication(pub, run_at)

        # the chunk was cut at 40 %: the adapter now waits 2 s before resuming
        wait_until(lambda: not faults(stack)["drop_upload"], 60, "the upload to be cut")
        horses = children_of(first_worker)
        for pid in [*horses, first_worker]:
            os.kill(pid, signal.SIGKILL)
        halfway = store.get(table, CID, CLID, "youtube")
        assert halfway.status == "uploading" and halfway.session, halfway
        assert received(stack, "youtube") == []  # nothing finished yet

        done = wait_until(
            lambda: (p := store.get(table, CID, CLID, "youtube")).terminal and p,
            DEADLINE_S, "the post to finish after the crash",
        )  # fmt: skip
        assert done.status == "published", (done.status, done.error)
        assert done.attempts >= 2 and done.remote_id
        videos = received(stack, "youtube")
        assert len(videos) == 1 and videos[0]["size"] == SIZE, videos
