"""On the real local stack: the `truss chat` listener is killed with SIGKILL while it captures
the fake Twitch channel; `truss dev` starts a new one, which takes the stream over once the
killed one's lease lapses, and the stream item says how long chat was not captured."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.waits import wait_until
from truss.data import streams as data
from truss.extensions import get_redis, get_table
from truss.streams import live_store

pytestmark = pytest.mark.stack
CID = "CHATTAKEOVER"
LEASE_S = 5
TAKEOVER_DEADLINE_S = 15  # the target


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    running = LocalStack(tmp_path, {"TRUSS_STREAM_LEASE_S": str(LEASE_S)}).start()
    yield running
    running.stop()


def test_a_killed_listeners_stream_is_taken_over_with_the_gap(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app_on_stack(stack, monkeypatch).app_context():
        table, redis = get_table(), get_redis()
        stream = data.create(table, CID, "twitch", "truss_demo")
        data.set_status(table, CID, stream.id, data.LIVE, data.WAITING)
        live_store.add_live(redis, CID, stream.id, "twitch", "truss_demo", time.time())
        bins = lambda: live_store.recent_bins(redis, CID, stream.id)  # noqa: E731
        wait_until(lambda: sum(b.messages for b in bins()) > 0, 60, "chat being captured", 0.25)
        first = stack.child_pid("chat")
        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: data.get(table, CID, stream.id).gaps, 60, "the gap recorded", 0.25)
        took = time.monotonic() - killed_at
        after = data.get(table, CID, stream.id)
        assert stack.child_pid("chat") != first
        (gap,) = after.gaps
        assert LEASE_S - 1 <= gap.length_s <= TAKEOVER_DEADLINE_S
        print(f"\nchat takeover after SIGKILL: {took:.1f} s (gap {gap.length_s:.1f} s)")
        assert took <= TAKEOVER_DEADLINE_S
        seen = after.messages
        capturing_again = lambda: data.get(table, CID, stream.id).messages > seen  # noqa: E731
        wait_until(capturing_again, 30, "chat captured again", 0.25)
