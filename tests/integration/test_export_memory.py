"""On the real local stack: a creator with 1 GB of media (random bytes, stored without
compression) exports with the exporting process's peak RSS under 300 MB (issue 16).

The export runs as `truss export --email ... --sources` in a child process (the same
run_export the RQ job calls), which reports its own peak RSS (VmHWM) when it ends.
moto's server holds every object in memory (the sources, then the archive's parts and the
archive): ~3 GB in the stack's moto process, freed at the end (everything is deleted before
the stack stops, so its snapshot stays small)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import ROOT, LocalStack
from tests.support.app import app_on_stack
from truss.data import assets, exports, keys
from truss.data.creators import create_creator, new_id
from truss.extensions import get_storage, get_table
from truss.portability.archive import MANIFEST, RangeReader

pytestmark = [pytest.mark.stack, pytest.mark.timeout(1800)]
SOURCES = 8
SOURCE_BYTES = 128 * 1024**2  # 8 x 128 MiB = 1 GiB
PEAK_LIMIT_BYTES = 300 * 1024**2


class RandomBytes(io.RawIOBase):
    """`size` random bytes read in chunks (never whole), hashed as they are handed out."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, 8 * 1024**2)
        chunk = os.urandom(n)
        buffer[:n] = chunk
        self.sha256.update(chunk)
        self.left -= n
        return n


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    running = LocalStack(tmp_path).start()
    yield running
    running.stop()


def upload_sources(cid: str) -> dict[str, str]:
    """SOURCES videos of SOURCE_BYTES random bytes each; returns aid → sha256."""
    table, storage = get_table(), get_storage()
    hashes = {}
    for n in range(SOURCES):
        aid = new_id()
        asset = assets.create(
            table, cid, aid, title=f"Stream {n}", file_name=f"stream-{n}.mp4",
            expected_size=SOURCE_BYTES, declared_type="video/mp4", upload_mode="post",
            upload_expires_at=2**40,
        )  # fmt: skip
        body = RandomBytes(SOURCE_BYTES)
        storage.upload_stream(io.BufferedReader(body, 8 * 1024**2), asset.source_key, "video/mp4")
        hashes[aid] = body.sha256.hexdigest()
    return hashes


# The child prints its own VmHWM (the high-water RSS of its own image) when the command ends:
# os.wait4's ru_maxrss is NOT the measure here, Linux carries the parent's (pytest's)
# high-water mark over into a child started with vfork + exec.
EXPORT_AND_REPORT = """
import sys
from truss.cli import main
sys.argv = ["truss", "export", "--email", sys.argv[1], "--sources"]
try:
    main()
except SystemExit as exc:
    if exc.code:
        raise
status = open("/proc/self/status").read().splitlines()
print("VmHWM", next(line for line in status if line.startswith("VmHWM")).split()[1])
"""


def export_in_child(stack: LocalStack, email: str) -> int:
    """`truss export --sources` in a child process; its peak RSS in bytes."""
    env = {**os.environ, **stack.client_env()}
    child = subprocess.run(
        [sys.executable, "-c", EXPORT_AND_REPORT, email],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout + child.stderr
    print(child.stdout)
    (line,) = [line for line in child.stdout.splitlines() if line.startswith("VmHWM")]
    return int(line.split()[1]) * 1024  # kB


def test_a_1_gb_export_stays_under_300_mb(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_stack(stack, monkeypatch)
    with app.app_context():
        table, storage = get_table(), get_storage()
        creator = create_creator(table, "big@example.com")
        hashes = upload_sources(creator.id)
        try:
            peak = export_in_child(stack, creator.email)
            gib = SOURCES * SOURCE_BYTES / 1024**3
            print(f"export of {gib:.1f} GiB: peak RSS {peak / 1024**2:.0f} MB")
            (export,) = exports.list_exports(table, creator.id)
            assert export.status == exports.READY
            assert export.archive_bytes > SOURCES * SOURCE_BYTES
            info = storage.head(export.archive_key)
            assert info is not None and info.size == export.archive_bytes
            archive = zipfile.ZipFile(
                RangeReader(storage, export.archive_key, info.size, info.etag)
            )  # type: ignore[arg-type]
            manifest = json.loads(archive.read(MANIFEST))
            sources = {
                f["key"].split("/")[1]: f["sha256"]
                for f in manifest["files"]
                if f["kind"] == "source"
            }
            assert sources == hashes
            assert peak < PEAK_LIMIT_BYTES, f"peak RSS {peak / 1024**2:.0f} MB"
        finally:
            storage.delete_prefix(keys.creator_object_root(creator.id))
