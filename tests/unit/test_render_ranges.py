"""A render reads only the part of the source its clip needs, not the whole file: the bytes
S3 sends (every GetObject, whatever asks for it) for a 6-second clip of a 160-second video
are a small fraction of the video."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.pipeline_helpers import uploaded_asset
from truss import media
from truss.analysis.base import ClipLengths
from truss.data import clips, get_table
from truss.media import run_ffmpeg
from truss.range_source import serve_object
from truss.services.pipeline import Pipeline
from truss.storage import Storage, get_storage

LONG_S = 160
CLIP = (100.0, 106.0)
SMALL_SHARE = 0.15  # measured: about 0.07 (the header, 6 s from the keyframe before, readahead)


def long_video(path: Path, seconds: int = LONG_S) -> Path:
    """A ~2 Mbit/s H.264/AAC MP4 (one keyframe a second), made by looping an 8 s piece."""
    piece = path.with_name("piece.mp4")
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:d=8"]
    args += ["-f", "lavfi", "-i", "sine=frequency=300:d=8", "-c:v", "libx264", "-g", "30"]
    args += ["-preset", "ultrafast", "-b:v", "2M", "-c:a", "aac", "-pix_fmt", "yuv420p"]
    run_ffmpeg([*args, str(piece)], 120, "Making a test video")
    loop = ["-y", "-v", "error", "-stream_loop", str(seconds // 8 - 1), "-i", str(piece)]
    run_ffmpeg([*loop, "-c", "copy", "-movflags", "+faststart", str(path)], 120, "Looping it")
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return long_video(tmp_path_factory.mktemp("ranges") / "long.mp4")


class S3Bytes:
    """Counts what S3 sends: the Content-Length of every GetObject answer."""

    def __init__(self, storage: Storage) -> None:
        self.sent = 0
        storage.client.meta.events.register("after-call.s3.GetObject", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        self.sent += int(parsed.get("ContentLength", 0))


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def test_a_short_clip_of_a_long_video_reads_a_small_part_of_it(
    ctx: None, source: Path, tmp_path: Path
) -> None:
    asset = uploaded_asset(source)
    table, storage = get_table(), get_storage()
    size = source.stat().st_size
    clip = clips.create_own(table, asset.creator_id, asset.id, "01CLIPCLIPCLIPCLIPCLIPCLIP",
                            CLIP, "The middle", "c1")  # fmt: skip
    s3 = S3Bytes(storage)
    pipeline = Pipeline(table, storage, lambda *_: None, lambda *_: None, ClipLengths(2, 10))  # type: ignore[arg-type, return-value]

    pipeline.render(asset.creator_id, clip.id, "c1")

    done = clips.get(table, asset.creator_id, clip.id)
    assert done.render_status == clips.READY, done.error
    storage.download(done.video_key, str(tmp_path / "clip.mp4"))
    rendered = media.probe(tmp_path / "clip.mp4")
    assert (rendered.width, rendered.height) == (720, 1280)
    assert abs(rendered.duration - (CLIP[1] - CLIP[0])) < 0.5
    assert 0 < s3.sent < SMALL_SHARE * size, f"read {s3.sent} of {size} bytes"


def test_the_range_server_counts_what_it_fetched_and_serves_exact_ranges(ctx: None) -> None:
    import urllib.request

    storage = get_storage()
    body = bytes(range(256)) * 40_000  # 10 MB
    storage.put_bytes("ranges/object", body, "video/mp4")
    with serve_object(storage, "ranges/object") as served:
        ask = urllib.request.Request(served.url, headers={"Range": "bytes=5000000-5000099"})
        with urllib.request.urlopen(ask) as answer:
            assert answer.status == 206
            assert answer.headers["Content-Range"] == f"bytes 5000000-5000099/{len(body)}"
            assert answer.read() == body[5_000_000:5_000_100]
        wrong = served.url.rsplit("/", 1)[0] + "/another-path"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong)
        assert refused.value.code == 404
    assert served.fetched == 100 and served.size == len(body)
