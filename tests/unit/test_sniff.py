"""The upload check reads enough of the file for every rule: a text file that merely starts
with "G" (the MPEG-TS sync byte) is refused at confirmation, real transport streams pass."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import confirm, json_of, load, make_asset, object_exists, put_source
from tests.support.media import Spec, synth_video
from tests.support.queues import Queued
from truss.data import keys
from truss.services.sniff import SNIFF_BYTES, looks_like_video

ONE_SECOND = Spec(1.0, "160x90", cut_at=None, audio=False, rate=10)  # a test picture, no sound


def transport_stream(path: Path, m2ts: bool = False) -> bytes:
    """One second of real H.264 video in MPEG-TS (or Blu-ray/AVCHD .m2ts packets)."""
    mode = ("-mpegts_m2ts_mode", "1" if m2ts else "0")
    spec = replace(ONE_SECOND, container="mpegts", output_args=mode)
    return synth_video(path, spec).read_bytes()


def test_a_text_file_starting_with_g_is_refused_at_confirmation(
    app: Flask,
    client: FlaskClient,
    auth,
    queued: Queued,
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
    assert queued.analyses == []  # never queued for the worker
    assert not object_exists(app, keys.asset_source_object(creator.id, asset.id))


@pytest.mark.parametrize("m2ts", [False, True], ids=["ts", "m2ts"])
def test_a_real_transport_stream_is_confirmed(
    app: Flask,
    client: FlaskClient,
    auth,
    queued: Queued,
    tmp_path: Path,
    m2ts: bool,
) -> None:
    body = transport_stream(tmp_path / "clip.ts", m2ts)
    creator = auth.login("ts@example.com")
    asset = make_asset(app, creator.id, size=len(body))
    put_source(app, creator.id, asset.id, body)

    assert json_of(confirm(client, asset.id))["status"] == "queued"
    assert queued.analyses == [asset.id]


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


@pytest.mark.parametrize(
    "text",
    [
        b"I'm free this afternoon if you want to go over the slides.\n",  # "free" at 4-8
        b"Now skip the intro and start with the demo.\n",  # "skip"
        b"Too wide for the stage, crop it next time.\n",  # "wide"
        b"Our uuid scheme is documented below.\n",  # "uuid"
        b"The mdat file is attached.\n",  # "mdat"
        b"FLV is an old format; OggS too.\n",
        b"OggS pages, notes from the talk\n",
    ],
)
def test_text_with_a_container_word_in_place_is_not_video(text: bytes) -> None:
    assert not looks_like_video((text * 40)[:SNIFF_BYTES])


def test_a_text_file_saying_im_free_is_refused_at_confirmation(
    app: Flask,
    client: FlaskClient,
    auth,
    queued: Queued,
) -> None:
    body = b"I'm free on Tuesday. Notes for the talk follow.\n" * 30
    creator = auth.login("free@example.com")
    asset = make_asset(app, creator.id, size=len(body))
    put_source(app, creator.id, asset.id, body)

    assert json_of(confirm(client, asset.id))["status"] == "failed"
    assert "isn't a video" in load(app, creator.id, asset.id).error
    assert queued.analyses == []


@pytest.mark.parametrize(
    "muxer", ["mp4", "mov", "matroska", "webm", "avi", "flv", "ogg", "mpeg", "mpegts"]
)
def test_real_files_of_every_allowed_container_look_like_video(muxer: str, tmp_path: Path) -> None:
    codec = {"webm": "libvpx", "ogg": "libtheora", "flv": "flv", "mpeg": "mpeg2video"}
    spec = replace(ONE_SECOND, video_codec=codec.get(muxer, "libx264"), container=muxer)
    out = synth_video(tmp_path / "video", spec)
    assert looks_like_video(out.read_bytes()[:SNIFF_BYTES])
