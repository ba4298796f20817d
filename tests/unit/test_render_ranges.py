"""A render reads only the part of the source its clip needs, not the whole file: the bytes
S3 sends (every GetObject, whatever asks for it) for a 6-second clip of a 160-second video
are a small fraction of the video."""

from __future__ import annotations

import http.client
import itertools
import logging
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from flask import Flask

from tests.support.media import Spec, synth_video
from tests.support.pipeline import SMALL_RENDER, uploaded_asset
from truss import ffmpeg, media
from truss.analysis.base import ClipLengths
from truss.data import clips, keys
from truss.data.table import Table
from truss.extensions import get_storage, get_table
from truss.ffmpeg import MediaError
from truss.media import run_ffmpeg
from truss.range_source import GONE, SourceUnavailable, SpanCache, serve_object
from truss.services.pipeline import Pipeline
from truss.storage import ObjectInfo, Storage

LONG_S = 160
CLIP = (100.0, 106.0)
SMALL_SHARE = 0.15  # measured: about 0.10 (the header, 6 s from the keyframe before, readahead)
# read once from S3 though the layout, the transcription and the render each read it (was 0.23)


def long_video(path: Path, seconds: int = LONG_S) -> Path:
    """A ~2 Mbit/s H.264/AAC MP4 (one keyframe a second), made by looping an 8 s piece."""
    piece = path.with_name("piece.mp4")
    spec = Spec(8.0, "640x360", cut_at=None, loud=None, rate=30, quiet=1.0, preset="ultrafast")
    spec = replace(spec, picture="testsrc2", tone_hz=300, keyframe_every=30, bitrate="2M")
    synth_video(piece, spec)
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


def renderer(table: Table, storage: Any) -> Pipeline:
    """A pipeline that only renders, small (these tests look at what a render reads)."""
    return Pipeline(
        table, storage, _nothing, _nothing, ClipLengths(2, 10), render_size=SMALL_RENDER
    )


def _nothing(*_: object) -> None:
    return None


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
    clip = clips.create_own(table, asset.creator_id, asset.id, "01C11PC11PC11PC11PC11PC11P",
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


BODY = bytes(range(256)) * 4_000  # 1,024,000 bytes


def served_body(storage: Storage) -> Storage:
    storage.put_bytes("ranges/object", BODY, "video/mp4")
    return storage


def ask(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def test_an_open_ended_range_is_served_to_the_end(ctx: None) -> None:
    storage = served_body(get_storage())
    with serve_object(storage, "ranges/object") as served:
        status, headers, body = ask(served.url, Range="bytes=900000-")
    assert status == 206
    assert headers["Content-Range"] == f"bytes 900000-{len(BODY) - 1}/{len(BODY)}"
    assert body == BODY[900_000:]


@pytest.mark.parametrize("wanted", ["bytes=1024000-", "bytes=5000000-5000100", "bytes=10-5"])
def test_an_unsatisfiable_range_is_a_416_naming_the_size(ctx: None, wanted: str) -> None:
    storage = served_body(get_storage())
    with serve_object(storage, "ranges/object") as served:
        status, headers, body = ask(served.url, Range=wanted)
    assert (status, headers["Content-Range"], body) == (416, f"bytes */{len(BODY)}", b"")
    assert served.requests == 0  # nothing asked of S3


def test_head_gives_the_size_and_fetches_nothing(ctx: None) -> None:
    storage = served_body(get_storage())
    with serve_object(storage, "ranges/object") as served:
        status, headers, body = ask(served.url, method="HEAD", Range="bytes=100-199")
    assert status == 206 and body == b""
    assert headers["Content-Range"] == f"bytes 100-199/{len(BODY)}"
    assert headers["Content-Length"] == "100" and headers["Accept-Ranges"] == "bytes"
    assert served.requests == 0


def test_a_range_read_again_comes_from_memory_and_a_partly_read_one_fetches_only_the_rest(
    ctx: None,
) -> None:
    """A render reads the clip's window up to three times (layout, transcription, render)."""
    storage = served_body(get_storage())
    with serve_object(storage, "ranges/object") as served:
        first = ask(served.url, Range="bytes=100000-299999")
        again = ask(served.url, Range="bytes=100000-299999")
        assert (served.fetched, served.requests) == (200_000, 1)
        overlapping = ask(served.url, Range="bytes=200000-399999")
    assert first == again and first[2] == BODY[100_000:300_000]
    assert again[1]["Content-Range"] == f"bytes 100000-299999/{len(BODY)}"
    assert overlapping[0] == 206 and overlapping[2] == BODY[200_000:400_000]
    assert served.fetched == 300_000  # only 300000-399999 was new
    assert served.from_cache == 200_000 + 100_000


def test_the_cache_keeps_to_its_bound_dropping_what_was_read_longest_ago(ctx: None) -> None:
    storage = served_body(get_storage())
    bound = 256 * 1024
    with serve_object(storage, "ranges/object", cache_bytes=bound) as served:
        assert ask(served.url, Range="bytes=0-199999")[2] == BODY[:200_000]
        assert ask(served.url, Range="bytes=500000-699999")[2] == BODY[500_000:700_000]
        assert 0 < served.cache.held <= bound
        before = served.fetched
        assert ask(served.url, Range="bytes=0-199999")[2] == BODY[:200_000]  # dropped: again
        assert served.fetched - before > 100_000 and served.cache.held <= bound
        before = served.fetched
        assert ask(served.url, Range="bytes=0-199999")[2] == BODY[:200_000]  # just read: kept
        assert served.fetched == before


def test_the_cache_finds_gaps_and_never_keeps_two_copies_of_a_byte() -> None:
    """Two connections may fetch the same bytes at once: the second copy is not kept."""
    cache = SpanCache(limit=100)
    cache.put(10, b"a" * 10)  # 10-19
    cache.put(30, b"b" * 10)  # 30-39
    cache.put(15, b"c" * 10)  # overlaps 10-19: refused
    cache.put(25, b"d" * 10)  # overlaps 30-39: refused
    assert cache.held == 20
    assert cache.read(12, 100) == b"a" * 8 and cache.read(12, 13) == b"aa"
    assert cache.read(20, 100) == b""
    assert cache.first_gap(10, 39) == (20, 29)
    assert cache.first_gap(30, 39) is None and cache.first_gap(0, 5) == (0, 5)
    cache.put(40, b"e" * 90)  # over the limit: the least recently read goes (10-19 was read)
    assert cache.held == 100 and cache.read(30, 30) == b"" and cache.read(12, 12) == b"a"
    cache.put(0, b"f" * 101)  # larger than the whole cache: not kept
    assert cache.read(0, 0) == b""


def test_a_partly_cached_range_still_hears_from_s3_before_its_headers(ctx: None) -> None:
    """The missing part's S3 error is a 503, not a 206 cut short after the cached part."""
    storage = FailingGets(served_body(get_storage()), lambda n: n >= 2)
    with pytest.raises(SourceUnavailable), serve_object(storage, "ranges/object") as served:
        assert ask(served.url, Range="bytes=0-99999")[0] == 206
        status, headers, body = ask(served.url, Range="bytes=0-199999")
    assert (status, headers["Content-Length"], body) == (503, "0", b"")


class FailingGets(Storage):
    """The same bucket, but S3 answers ranged GET number n (1, 2, ...) with a 503 SlowDown
    when `fails(n)`."""

    def __init__(self, storage: Storage, fails: Callable[[int], bool]) -> None:
        super().__init__(storage.bucket, storage.client)
        self.fails = fails
        self.calls = itertools.count(1)

    def open_range(self, key: str, first: int, last: int) -> Any:
        if self.fails(next(self.calls)):
            error = {"Code": "SlowDown", "Message": "Please reduce your request rate."}
            meta = {"HTTPStatusCode": 503}
            raise ClientError({"Error": error, "ResponseMetadata": meta}, "GetObject")
        return super().open_range(key, first, last)


class GoneAfterHead(Storage):
    """The object is deleted right after the range server looked it up (a delete racing)."""

    def head(self, key: str) -> ObjectInfo | None:
        info = super().head(key)
        self.delete(key)
        return info


def test_an_s3_error_before_the_answer_is_a_503_logged_in_one_line(
    ctx: None, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Not a 206 cut short with a traceback on stderr: ffmpeg sees a clear refusal."""
    storage = FailingGets(served_body(get_storage()), lambda n: True)
    with pytest.raises(SourceUnavailable), serve_object(storage, "ranges/object") as served:
        status, headers, body = ask(served.url, Range="bytes=0-999")
    assert (status, headers["Content-Length"], body) == (503, "0", b"")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("SlowDown" in w and "ranges/object" in w for w in warnings), warnings
    assert "Traceback" not in capfd.readouterr().err


def test_an_s3_error_in_the_middle_of_an_answer_cuts_it_and_fails_the_block(
    ctx: None, capfd: pytest.CaptureFixture[str]
) -> None:
    """ffmpeg takes a cut-short answer for the end of the file and renders a clip too short
    without a word: the block must not end as if all went well."""
    storage = FailingGets(served_body(get_storage()), lambda n: n == 2)
    with (
        pytest.raises(SourceUnavailable),
        serve_object(storage, "ranges/object") as served,
        pytest.raises(http.client.IncompleteRead),
    ):
        ask(served.url)  # 256 KiB come from the first GET, the second fails
    assert "Traceback" not in capfd.readouterr().err


def test_a_render_hit_by_a_passing_s3_error_is_retried_not_failed(
    ctx: None, source: Path, tmp_path: Path
) -> None:
    asset = uploaded_asset(source)
    table, storage = get_table(), get_storage()
    clip = clips.create_own(table, asset.creator_id, asset.id, "01C11PC11PC11PC11PC11PC11P",
                            CLIP, "The middle", "c1")  # fmt: skip
    flaky = FailingGets(storage, lambda n: True)
    failing = renderer(table, flaky)

    with pytest.raises(SourceUnavailable) as raised:  # the job fails: RQ runs it again
        failing.render(asset.creator_id, clip.id, "c1")

    assert not isinstance(raised.value, MediaError)
    waiting = clips.get(table, asset.creator_id, clip.id)
    assert waiting.render_status == clips.RENDERING and not waiting.error
    healthy = renderer(table, storage)
    healthy.render(asset.creator_id, clip.id, "c1")  # RQ's retry of the same job
    assert clips.get(table, asset.creator_id, clip.id).render_status == clips.READY


def test_a_render_whose_source_was_deleted_says_so_without_the_loopback_url(
    ctx: None, source: Path
) -> None:
    asset = uploaded_asset(source)
    table, storage = get_table(), get_storage()
    clip = clips.create_own(table, asset.creator_id, asset.id, "01C11PC11PC11PC11PC11PC11P",
                            CLIP, "The middle", "c1")  # fmt: skip
    racing = GoneAfterHead(storage.bucket, storage.client)
    pipeline = renderer(table, racing)

    pipeline.render(asset.creator_id, clip.id, "c1")

    failed = clips.get(table, asset.creator_id, clip.id)
    assert (failed.render_status, failed.error) == (clips.FAILED, GONE)


ANOTHER_USER = 65534  # nobody
CLIENT = """
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Range": "bytes=0-99"})
try:
    with urllib.request.urlopen(request, timeout=30) as answer:
        print("answered", answer.status, len(answer.read()))
except Exception as exc:
    print("refused", type(exc).__name__)
"""


SYSTEM_PYTHON = next(
    (p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.path.exists(p)), ""
)  # one another user may run (the test's own may live under /root)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another local user")
@pytest.mark.skipif(not SYSTEM_PYTHON, reason="needs a system python3 for the other user")
def test_another_local_user_with_the_url_and_token_gets_nothing(ctx: None) -> None:
    """The URL, token included, is in ffmpeg's command line (/proc/<pid>/cmdline), which
    every local user can read; the server answers only processes of its own user."""
    storage = served_body(get_storage())
    with serve_object(storage, "ranges/object") as served:
        run = [SYSTEM_PYTHON, "-c", CLIENT, served.url]
        theirs = subprocess.run(
            run, user=ANOTHER_USER, group=ANOTHER_USER, extra_groups=[], cwd="/",
            capture_output=True, timeout=60,
        )  # fmt: skip
        fetched_for_them = served.requests
        ours = subprocess.run(run, cwd="/", capture_output=True, timeout=60)
    assert theirs.stdout.decode().startswith("refused"), theirs
    assert fetched_for_them == 0
    assert ours.stdout.decode().strip() == "answered 206 100", ours


def test_a_render_of_a_video_whose_header_has_no_length_reads_only_its_part(
    ctx: None, source: Path, tmp_path: Path
) -> None:
    """A live-recorded WebM/Matroska (a browser's MediaRecorder) has no duration in its
    header; measuring it means reading every packet, over HTTP for a render. The analysis
    measured it once and stored it: the render uses that."""
    live = tmp_path / "live.mkv"
    args = ["-y", "-v", "error", "-i", str(source), "-t", "60", "-c", "copy"]
    run_ffmpeg([*args, "-f", "matroska", "-live", "1", str(live)], 120, "Making a live file")
    assert "Duration: N/A" in ffmpeg.run(ffmpeg.input_args(live), 60, "Probing").stderr.decode()
    asset = uploaded_asset(live)
    table, storage = get_table(), get_storage()
    table.update(keys.asset(asset.creator_id, asset.id), {"duration_s": Decimal("60.0")})
    clip = clips.create_own(table, asset.creator_id, asset.id, "01C11PC11PC11PC11PC11PC11P",
                            (10.0, 16.0), "Early on", "c1")  # fmt: skip
    s3 = S3Bytes(storage)
    pipeline = renderer(table, storage)

    pipeline.render(asset.creator_id, clip.id, "c1")

    done = clips.get(table, asset.creator_id, clip.id)
    assert done.render_status == clips.READY, done.error
    size = live.stat().st_size
    # measured: 0.53 of the file (no index: ffmpeg reads from the start to the clip's end);
    # measuring the length again over HTTP read it all, 1.55 of it in all
    assert 0 < s3.sent < 0.75 * size, f"read {s3.sent} of {size} bytes"
