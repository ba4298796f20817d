"""On the real local stack (moto server, Redis, `rq worker` processes, the chat listener): an
account deletion queued for the real worker, whose worker is SIGKILLed in the middle (while
the job waits for a chat listener's lease to go), is found abandoned by RQ, retried, and
finishes: a Scan of the whole table and a listing of the bucket find nothing of the creator,
while another creator's things are all there."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from rq.job import Job
from rq.worker import Worker

from tests.stack import LocalStack, descendants
from tests.support.app import app_on_stack
from tests.support.clips import clip_id
from tests.support.crash_stack import crash_stack
from tests.support.deletion import bucket_traces, populate, table_traces
from tests.support.waits import wait_until
from truss.data import deletions, streams
from truss.data.creators import get_creator
from truss.deletion import jobs, service
from truss.extensions import get_redis, get_table
from truss.streams import live_store
from truss.streams.live_store import LiveRef

pytestmark = pytest.mark.stack
ALICE, BOB = "alice@example.com", "bob@example.com"
HOLDER = "a-listener-that-is-slow-to-stop"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    yield from crash_stack(tmp_path)


def item_keys(items: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(item["PK"], item["SK"]) for item in items}


def worker_running(app: Flask, job_id: str) -> int:
    """The pid of the worker process that runs the job."""
    with app.app_context():
        job = Job.fetch(job_id, connection=get_redis())
        assert job.worker_name, "the job has no worker yet"
        worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                    connection=get_redis())  # fmt: skip
        assert worker is not None and worker.pid
        return int(worker.pid)


def test_a_deletion_whose_worker_is_killed_finishes_and_leaves_nothing(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_stack(stack, monkeypatch)
    alice = populate(app, ALICE, clip_id(1))
    bob = populate(app, BOB, clip_id(2))
    bobs_items = item_keys(table_traces(app, bob.cid, bob.email))
    bobs_files = set(bucket_traces(app, bob.cid))
    assert table_traces(app, alice.cid, alice.email) and bucket_traces(app, alice.cid)
    with app.app_context():
        table, redis = get_table(), get_redis()
        # a second stream of Alice's whose (slow) listener still holds its lease: the job waits
        held = streams.create(table, alice.cid, "twitch", "slowchannel", "Held")
        held_ref = LiveRef(alice.cid, held.id, "twitch", "slowchannel", 0.0)
        assert live_store.acquire_lease(redis, held_ref, HOLDER, 120_000)
        ticket = service.begin(table, get_creator(table, alice.cid))
        jobs.enqueue_deletion(ticket)
        job_id = jobs.job_id(ticket)
        wait_until(
            lambda: Job.fetch(job_id, connection=redis).get_status() == "started",
            60, "the deletion job to start on the real worker",
        )  # fmt: skip
        assert deletions.get(table, ticket).steps_done == ()

        worker = worker_running(app, job_id)
        for pid in [*descendants(worker), worker]:  # the worker and its work horse die at once
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        live_store.release_lease(redis, held_ref, HOLDER)  # the listener lets go meanwhile

        wait_until(
            lambda: deletions.get(table, ticket).done,
            300, "the abandoned deletion to be retried and finish",
        )  # fmt: skip
        print(f"kill-to-finished: {time.monotonic() - killed_at:.1f} s")
        done = deletions.get(table, ticket)
    assert done.steps_done == service.STEP_NAMES
    assert table_traces(app, alice.cid, alice.email) == []
    assert bucket_traces(app, alice.cid) == []
    # Bob's live stream goes on (its listener may add counts and chat chunks meanwhile)
    assert item_keys(table_traces(app, bob.cid, bob.email)) >= bobs_items
    assert set(bucket_traces(app, bob.cid)) >= bobs_files
