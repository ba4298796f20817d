"""On the real local stack: an import whose worker is SIGKILLed midway is retried by RQ on
the new worker and completes, with every clip and file there exactly once (issue 16)."""

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
from tests.support.waits import wait_until
from truss.analysis.base import Moment
from truss.data import assets, clips, exports, keys
from truss.data.creators import create_creator, new_id
from truss.extensions import get_storage, get_table
from truss.portability import jobs
from truss.portability.export import run_export

pytestmark = pytest.mark.stack
CLIPS = 120
RERUN_DEADLINE_S = HEARTBEAT_S + 60 + MAINTENANCE_S + jobs.RETRY.intervals[0] + 60


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    yield from crash_stack(tmp_path)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def a_library(cid: str) -> str:
    """A video and CLIPS rendered clips (a video and a poster each): the export's items and
    files. Returns the archive's key."""
    table, storage = get_table(), get_storage()
    aid = new_id()
    assets.create(
        table, cid, aid, title="Long stream", file_name="stream.mp4", expected_size=1,
        declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
    )  # fmt: skip
    for n in range(CLIPS):
        clid = new_id()
        moment = Moment(n, n + 20.0, f"Moment {n}", "Hook", 50, "Reason", ("#x",), "words")
        clips.create_from_moment(table, cid, aid, clid, moment, rank=n)
        clips.start_render(table, cid, clid, "r1")
        video, poster = (
            keys.clip_video_object(cid, clid, "r1"),
            keys.clip_poster_object(cid, clid, "r1"),
        )
        storage.put_bytes(video, os.urandom(20_000), "video/mp4")
        storage.put_bytes(poster, os.urandom(2_000), "image/jpeg")
        clips.finish_render(table, cid, clid, "r1", video, poster)
    export = exports.create_export(table, cid, include_sources=False)
    return run_export(table, storage, cid, export.id).archive_key


def test_a_killed_import_is_resumed_and_completes_without_duplicates(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_stack(stack, monkeypatch)
    with app.app_context():
        table, storage = get_table(), get_storage()
        first = create_creator(table, "first@example.com")
        second = create_creator(table, "second@example.com")
        archive = a_library(first.id)
        body = storage.get_bytes(archive)
        imp = exports.create_import(table, second.id, len(body), status=exports.QUEUED)
        storage.put_bytes(imp.archive_key, body, "application/zip")
        worker = stack.child_pid("worker")
        jobs.enqueue_import(second.id, imp.id)

        def midway() -> bool:
            now = exports.get_import(table, second.id, imp.id)
            return now.status == exports.IMPORTING and now.files_done >= 10

        wait_until(midway, 120, "the import to be copying files")
        horses = children_of(worker)
        assert horses, "the work horse running the import"
        for pid in [*horses, worker]:
            os.kill(pid, signal.SIGKILL)
        killed = exports.get_import(table, second.id, imp.id)
        assert killed.files_done < killed.files_total, "killed before it finished"
        started = time.monotonic()
        wait_until(lambda: stack.child_pid("worker") != worker, 30, "a new worker")
        wait_until(
            lambda: exports.get_import(table, second.id, imp.id).status
            in (exports.DONE, exports.FAILED),
            RERUN_DEADLINE_S + 120, "the import to be retried and finish",
        )  # fmt: skip
        print(f"kill-to-done: {time.monotonic() - started:.1f} s")
        done = exports.get_import(table, second.id, imp.id)
        assert done.status == exports.DONE, done.error

        items = list(exports.creator_items(table, second.id))
        made = [i for i in items if i.get("type") == clips.CLIP_TYPE]
        assert len(made) == CLIPS
        assert len({i["title"] for i in made}) == CLIPS
        assert not [i for i in items if exports.HOLD in i]
        files = storage.list_prefix(keys.creator_object_root(second.id), limit=10_000)
        assert len([key for key, _ in files if "/clips/" in key]) == 2 * CLIPS
        for item in made[:5]:
            assert storage.head(item["video_key"]) is not None
        assert storage.head(imp.archive_key) is None  # the uploaded archive is removed
