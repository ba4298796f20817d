"""ffmpeg wrapper: probing, signals, thumbnails and vertical renders on synthetic videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.media import CUT_AT, LOUD, Videos, audio_only, frame_rgb
from truss import ffmpeg, media
from truss.analysis.base import StreamInfo
from truss.ffmpeg import RemoteSource
from truss.media import MediaError


def test_probe_reads_duration_size_and_audio(videos: Videos) -> None:
    info = media.probe(videos.main())
    assert info.duration == pytest.approx(90.0, abs=0.1)
    assert (info.width, info.height) == (320, 180)
    assert info.fps == pytest.approx(25.0)
    assert info.has_audio and info.audio_codec == "aac"
    assert info.video_codec == "h264"


def test_probe_without_audio(videos: Videos) -> None:
    info = media.probe(videos.silent_picture())
    assert not info.has_audio
    assert info.duration == pytest.approx(40.0, abs=0.1)


def test_garbage_bytes_are_refused_in_plain_words(tmp_path: Path) -> None:
    junk = tmp_path / "holiday.mp4"
    junk.write_bytes(b"this is not a video at all " * 500)
    with pytest.raises(MediaError) as caught:
        media.probe(junk)
    assert "isn't a video we can read" in str(caught.value)
    assert "MP4" in str(caught.value)
    assert len(str(caught.value)) < 200


def test_audio_only_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no video stream found"):
        media.probe(audio_only(tmp_path / "podcast.m4a"))


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="missing"):
        media.probe(tmp_path / "gone.mp4")


def test_signals_find_the_planted_cut_and_loud_part(videos: Videos) -> None:
    path = videos.main()
    signals = media.measure_signals(path, media.probe(path))
    assert [c for c in signals.cuts if abs(c - CUT_AT) <= 0.5], signals.cuts
    assert len(signals.cuts) <= 2
    loud = signals.loudness_db[signals.bin_at(47.0)]
    quiet = signals.loudness_db[signals.bin_at(20.0)]
    assert loud - quiet > 30
    assert signals.quiet and not any(LOUD[0] + 0.5 < t < LOUD[1] - 0.5 for t in signals.quiet)


def test_cut_between_keyframes_is_placed_within_half_a_second(videos: Videos) -> None:
    path = videos.fixed_gop()
    signals = media.measure_signals(path, media.probe(path))
    assert [c for c in signals.cuts if abs(c - 37.3) <= 0.5], signals.cuts


def test_signals_without_audio(videos: Videos) -> None:
    path = videos.silent_picture()
    signals = media.measure_signals(path, media.probe(path))
    assert not signals.has_audio and signals.quiet == []
    assert len(signals.loudness_db) == len(signals.visual_change) == 80
    assert [c for c in signals.cuts if abs(c - 20.0) <= 0.5], signals.cuts


def test_thumbnail_is_a_jpeg(videos: Videos, tmp_path: Path) -> None:
    dest = tmp_path / "poster.jpg"
    media.make_thumbnail(videos.main(), dest, at_seconds=12.0)
    assert dest.read_bytes()[:3] == b"\xff\xd8\xff"


def test_thumbnail_past_the_end_falls_back_to_the_first_frame(
    videos: Videos, tmp_path: Path
) -> None:
    dest = tmp_path / "poster.jpg"
    media.make_thumbnail(videos.short(), dest, at_seconds=999.0)
    assert dest.read_bytes()[:3] == b"\xff\xd8\xff"


def test_render_landscape_source_as_vertical_clip(videos: Videos, tmp_path: Path) -> None:
    src, dest = videos.main(), tmp_path / "clip.mp4"
    media.render_vertical(src, dest, 40.0, 46.5, media.probe(src))
    out = media.probe(dest)
    assert (out.width, out.height) == (720, 1280)
    assert out.duration == pytest.approx(6.5, abs=0.2)
    assert out.has_audio and out.video_codec == "h264" and out.audio_codec == "aac"


def test_render_without_audio(videos: Videos, tmp_path: Path) -> None:
    src, dest = videos.silent_picture(), tmp_path / "clip.mp4"
    media.render_vertical(src, dest, 5.0, 10.0, media.probe(src), width=360, height=640)
    out = media.probe(dest)
    assert (out.width, out.height, out.has_audio) == (360, 640, False)


def _is_red(pixel: bytes) -> bool:
    return pixel[0] > 150 and pixel[1] < 90 and pixel[2] < 90


def _pixel(rgb: bytes, x: int, y: int, width: int) -> bytes:
    return rgb[(y * width + x) * 3 : (y * width + x) * 3 + 3]


@pytest.mark.parametrize("source", ["portrait", "narrow"])
def test_portrait_source_keeps_its_borders(videos: Videos, tmp_path: Path, source: str) -> None:
    src, dest = getattr(videos, source)(), tmp_path / "clip.mp4"
    media.render_vertical(src, dest, 0.5, 3.0, media.probe(src))
    assert (media.probe(dest).width, media.probe(dest).height) == (720, 1280)
    rgb = frame_rgb(dest, 1.0, 90, 160)
    middle = 80
    left = next(x for x in range(90) if _pixel(rgb, x, middle, 90) != b"\0\0\0")
    assert _is_red(_pixel(rgb, left, middle, 90)), "left border was cropped"
    assert _is_red(_pixel(rgb, 89 - left, middle, 90)), "right border was cropped"


def test_render_failure_is_short_and_readable(tmp_path: Path, videos: Videos) -> None:
    with pytest.raises(MediaError) as caught:
        media.render_vertical(
            videos.main(), tmp_path / "no" / "dir" / "x.mp4", 1, 5, media.probe(videos.main())
        )
    assert str(caught.value).startswith("Rendering the clip failed")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 250


def test_a_failed_render_over_the_range_server_names_no_loopback_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ffmpeg (6 and older, and many demuxer errors) starts its error line with the input's
    URL: for a render that is the range server's, token included."""
    url = "http://127.0.0.1:41235/s3cr3t-T0ken_abc"
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        f"#!/bin/sh\necho '{url}: Server returned 5XX Server Error reply' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(ffmpeg, "ffmpeg_exe", lambda: str(fake))
    probe = StreamInfo(duration=60.0, width=640, height=360, fps=30.0, has_audio=True)

    with pytest.raises(MediaError) as caught:
        media.render_vertical(RemoteSource(url), tmp_path / "clip.mp4", 1.0, 5.0, probe)

    message = str(caught.value)
    assert "s3cr3t" not in message and "127.0.0.1" not in message
    assert message == "Rendering the clip failed: the video: Server returned 5XX Server Error reply"
