"""On the real local stack: a worker killed with SIGKILL mid-analysis does not leave the video
stuck; RQ finds the job abandoned, retries it on the new worker, and the asset ends ready with
exactly one set of clips. The wait for the re-run follows the worker settings: the killed
job's heartbeat lapses after HEARTBEAT + 60 s, an idle worker's maintenance finds it within
MAINTENANCE s (RQ 3's default would have been ~7 minutes), and the first retry waits 5 s."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.crash_stack import HEARTBEAT_S, MAINTENANCE_S, crash_stack
from tests.support.media import make_video
from tests.support.waits import wait_until
from truss import jobs
from truss.data import assets, clips
from truss.extensions import get_storage, get_table

pytestmark = pytest.mark.stack
CID, AID = "CRASHTEST", "01CRASHCRASHCRASHCRASHCRAS"


FIRST_RETRY_S = jobs.RETRY.intervals[0]
RERUN_DEADLINE_S = HEARTBEAT_S + 60 + MAINTENANCE_S + FIRST_RETRY_S + 30  # 30 s of slack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    yield from crash_stack(tmp_path)


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (RQ's work horse runs in its own process group)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_killed_worker_does_not_leave_the_video_stuck(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(tmp_path / "long.mp4", 90, size="640x360")
    app = app_on_stack(stack, monkeypatch)
    with app.app_context():
        table = get_table()
        asset = assets.create(
            table, CID, AID, title="crash", file_name="long.mp4", expected_size=1,
            declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
        )  # fmt: skip
        get_storage().upload(str(video), asset.source_key, "video/mp4")
        asset = assets.transition(table, CID, AID, assets.UPLOADING, assets.UPLOADED)
        first_worker = stack.child_pid("worker")
        jobs.request_analysis(asset)
        wait_until(
            lambda: assets.get(table, CID, AID).status != assets.QUEUED, 30, "the analysis to start"
        )
        horses = children_of(first_worker)
        assert horses, "the work horse running the analysis"
        for pid in [*horses, first_worker]:  # the worker and the job it runs die at once
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: stack.child_pid("worker") != first_worker, 30, "a new worker")
        before = assets.get(table, CID, AID)  # every write of the killed worker has landed
        killed_in = before.status
        wait_until(
            lambda: assets.get(table, CID, AID).updated_at != before.updated_at,
            RERUN_DEADLINE_S, "the abandoned analysis to run again",
        )  # fmt: skip
        rerun_after = time.monotonic() - killed_at
        print(f"kill-to-rerun: {rerun_after:.1f} s (deadline {RERUN_DEADLINE_S} s)")
        wait_until(
            lambda: assets.get(table, CID, AID).status in {assets.READY, assets.FAILED},
            240, "the asset to finish after the crash",
        )  # fmt: skip
        done = assets.get(table, CID, AID)
        assert done.status == assets.READY, (killed_in, done.error)
        made = clips.for_asset(table, CID, AID)
        assert len(made) == done.clips_total >= 1
        assert len({(c.start, c.end) for c in made}) == len(made)
        assert all(c.render_status == clips.READY for c in made)
