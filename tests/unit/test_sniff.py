"""The upload check reads enough of the file for every rule: a text file that merely starts
with "G" (the MPEG-TS sync byte) is refused at confirmation, real transport streams pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.unit.test_assets_support import json_of, load, make_asset, object_exists, put_source
from tests.unit.test_upload_confirm import RecordingHook, confirm, hook  # noqa: F401 (fixture)
from truss.data import keys
from truss.services.sniff import SNIFF_BYTES, looks_like_video


def transport_stream(path: Path, m2ts: bool = False) -> bytes:
    """One second of real H.264 video in MPEG-TS (or Blu-ray/AVCHD .m2ts packets)."""
    args = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi"]
    args += ["-i", "testsrc=size=160x90:rate=10:duration=1", "-c:v", "libx264", "-f", "mpegts"]
    args += ["-mpegts_m2ts_mode", "1" if m2ts else "0", str(path)]
    subprocess.run(args, check=True, timeout=60)
    return path.read_bytes()


def test_a_text_file_starting_with_g_is_refused_at_confirmation(
    app: Flask,
    client: FlaskClient,
    auth,
    hook: RecordingHook,  # noqa: F811
) -> None:
    line = b"Good morning! These are my notes for the talk.\n"
    body = line * 40  # 47-byte lines: a "G" every 188 bytes, like TS sync bytes
    assert len(line) * 4 == 188
    creator = auth.login("g@example.com")
    asset = make_asset(app, creator.id, size=len(body))
    put_source(app, creator.id, asset.id, body)

    answer = json_of(confirm(client, asset.id))

    assert answer["status"] == "failed"
    stored = load(app, creator.id, asset.id)
    assert stored.status == "failed" and "isn't a video" in stored.error
    assert hook.calls == []  # never queued for the worker
    assert not object_exists(app, keys.asset_source_object(creator.id, asset.id))


@pytest.mark.parametrize("m2ts", [False, True], ids=["ts", "m2ts"])
def test_a_real_transport_stream_is_confirmed(
    app: Flask,
    client: FlaskClient,
    auth,
    hook: RecordingHook,  # noqa: F811
    tmp_path: Path,
    m2ts: bool,
) -> None:
    body = transport_stream(tmp_path / "clip.ts", m2ts)
    creator = auth.login("ts@example.com")
    asset = make_asset(app, creator.id, size=len(body))
    put_source(app, creator.id, asset.id, body)

    assert json_of(confirm(client, asset.id))["status"] == "queued"
    assert [a.id for a in hook.calls] == [asset.id]


@pytest.mark.parametrize(
    "head",
    [
        b"G" * 187,  # shorter than the packets the rule checks
        b"G" + b"\x00" * 187 + b"G" + b"\x00" * 187,  # two packets, then nothing
        (b"G" + b"\x00" * 187) * 3 + b"x" * 188,  # the fourth packet has no sync byte
    ],
)
def test_partial_transport_stream_heads_are_not_video(head: bytes) -> None:
    assert not looks_like_video(head)


def test_the_head_read_covers_the_longest_rule() -> None:
    assert SNIFF_BYTES >= 4 + 3 * 192 + 1
