"""Reframing on generated videos with a real face (scikit-image's astronaut photo): the 9:16
crop follows a swaying, walking face without wobbling, jumps at a scene cut, and `fit`,
`split` and `centre` give 9:16 pictures with the expected regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.media import frame_rgb
from truss.analysis.base import StreamInfo
from truss.media import probe, render_vertical, run_ffmpeg
from truss.reframe import layouts, path
from truss.reframe.detect import HaarFaceDetector
from truss.reframe.plan import analyse, plan
from truss.reframe.render import picture

cv2 = pytest.importorskip("cv2")
skimage_data = pytest.importorskip("skimage.data")

FPS = 25
SCALE = 0.7  # the face picture is drawn at this size
FACE_IN_PICTURE = (26 * SCALE, 98 * SCALE)  # the face's left edge and width inside face.png
FACE_Y = 120
SWAY = "10*sin(2*PI*1.3*t)"  # a speaker's sway, ±10 px: the window must not follow it
WALK = f"80+{SWAY}+90*clip(t-3\\,0\\,4)"  # stands left, walks right from 3 s to 7 s, stands
JITTER_BOUND = 0.02  # of the source width, over the clip: what the smoothed path may wobble


def walk_x(t: float) -> float:
    """The face picture's left edge at t (WALK in Python)."""
    return 80 + 10 * np.sin(2 * np.pi * 1.3 * t) + 90 * min(max(t - 3, 0.0), 4.0)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reframe")
    face = skimage_data.astronaut()[30:200, 150:300]  # the astronaut's head and shoulders
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    return folder


def face_video(folder: Path, name: str, background: str, x: str, seconds: float) -> Path:
    """A 640x360 video of the face at x(t) over a noisy background (noise: the detector's
    boxes wobble as on a real camera)."""
    dest = folder / name
    if dest.is_file():
        return dest
    w, h = round(150 * SCALE), round(170 * SCALE)
    graph = (
        f"[1:v]scale={w}:{h}[f];[0:v]noise=alls=12:allf=t[bg];"
        f"[bg][f]overlay=x='{x}':y={FACE_Y}:shortest=1,format=yuv420p"
    )
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", f"{background}:s=640x360:r={FPS}:d={seconds}"]
    args += ["-loop", "1", "-framerate", str(FPS), "-i", str(folder / "face.png")]
    args += ["-filter_complex", graph, "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast"]
    run_ffmpeg([*args, str(dest)], 120, "Making a test video")
    return dest


def two_scenes(folder: Path) -> Path:
    """3 s of the face on the left over grey, a hard cut, 3 s of it on the right over green."""
    left = face_video(folder, "left.mp4", "color=c=0x607080", "60", 3.0)
    right = face_video(folder, "right.mp4", "color=c=0x40a040", "470", 3.0)
    dest = folder / "cut.mp4"
    graph = "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p"
    args = ["-y", "-v", "error", "-i", str(left), "-i", str(right), "-filter_complex", graph]
    run_ffmpeg([*args, "-c:v", "libx264", "-preset", "veryfast", str(dest)], 120, "concat")
    return dest


def per_frame(route: path.CropPath, seconds: float) -> list[float]:
    return [route.centre_at(i / FPS) for i in range(int(seconds * FPS))]


def raw_tracker(
    analysis_faces: list[list[object]], times: list[float], seconds: float
) -> list[float]:
    """An unsmoothed tracker: the window centred on the latest detection, every frame."""
    positions, current = [], 320.0
    for i in range(int(seconds * FPS)):
        t = i / FPS
        k = max(j for j, sample_t in enumerate(times) if sample_t <= t + 1e-9)
        found = analysis_faces[k]
        if found:
            current = max(found, key=lambda box: box.area).cx  # type: ignore[attr-defined]
        positions.append(current)
    return positions


def test_follow_keeps_the_face_in_the_crop_without_wobbling(media: Path, tmp_path: Path) -> None:
    video = face_video(media, "walk.mp4", "color=c=0x607080", WALK, 10.0)
    info = probe(video)
    found = analyse(video, 0.0, 10.0, info, tmp_path)
    chosen = plan(layouts.FOLLOW, found, 720, 1280)
    assert chosen.layout == layouts.FOLLOW and chosen.path is not None
    route, crop = chosen.path, chosen.crop_w
    assert crop == 202  # 360 * 9 / 16, even

    inside = 0
    frames = int(10.0 * FPS)
    for i in range(frames):
        t = i / FPS
        face_left = walk_x(t) + FACE_IN_PICTURE[0]
        left = route.left_at(t)
        inside += left <= face_left and face_left + FACE_IN_PICTURE[1] <= left + crop
    assert inside / frames >= 0.95

    bound = JITTER_BOUND * info.width
    assert path.jitter(per_frame(route, 10.0)) <= bound
    # the same detections without the dead zone, median and easing wobble far more
    raw = raw_tracker(found.faces, found.times, 10.0)
    assert path.jitter(raw) > 3 * bound


def test_a_scene_cut_is_a_hard_cut_in_the_path(media: Path, tmp_path: Path) -> None:
    video = two_scenes(media)
    info = probe(video)
    found = analyse(video, 0.0, 6.0, info, tmp_path)
    assert any(abs(cut - 3.0) <= 0.08 for cut in found.cuts)
    route = plan(layouts.FOLLOW, found, 720, 1280).path
    assert route is not None
    before, after = route.left_at(3.0 - 2 / FPS), route.left_at(3.0 + 2 / FPS)
    assert after - before > 250  # one frame apart: a jump, not a pan
    right_face = 470 + FACE_IN_PICTURE[0]
    for i in range(int(3.1 * FPS), 6 * FPS):  # the window sits on the new face and stays
        left = route.left_at(i / FPS)
        assert left == after
        assert left <= right_face and right_face + FACE_IN_PICTURE[1] <= left + route.crop_w


def colour_halves(folder: Path, faces: bool) -> Path:
    """640x360: red left half, blue right half; with `faces`, the face on each half."""
    name = "halves-faces.mp4" if faces else "halves.mp4"
    dest = folder / name
    if dest.is_file():
        return dest
    halves = "drawbox=x=320:y=0:w=320:h=360:c=blue:t=fill"
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", f"color=c=red:s=640x360:r={FPS}:d=3"]
    if faces:
        args += ["-loop", "1", "-framerate", str(FPS), "-i", str(folder / "face.png")]
        graph = (
            f"[0:v]{halves}[bg];[1:v]scale=105:119,split=2[f1][f2];"
            f"[bg][f1]overlay=x=90:y={FACE_Y}:shortest=1[one];"
            f"[one][f2]overlay=x=440:y={FACE_Y}:shortest=1,format=yuv420p"
        )
        args += ["-filter_complex", graph]
    else:
        args += ["-vf", f"{halves},format=yuv420p"]
    args += ["-t", "3", "-c:v", "libx264", "-preset", "veryfast", str(dest)]
    run_ffmpeg(args, 120, "Making a test video")
    return dest


def rgb(video: Path, at: float, width: int = 360, height: int = 640) -> np.ndarray:
    return np.frombuffer(frame_rgb(video, at, width, height), np.uint8).reshape(height, width, 3)


def render_layout(layout: str, video: Path, dest: Path, workdir: Path) -> str:
    info = probe(video)
    look = picture(layout, video, 0.0, 3.0, info, 360, 640, workdir)
    render_vertical(video, dest, 0.0, 3.0, info, 360, 640, picture=look.filter, workdir=workdir)
    out = probe(dest)
    assert (out.width, out.height) == (360, 640)
    return look.layout


def test_fit_shows_the_whole_picture_over_a_blurred_darker_copy(
    media: Path, tmp_path: Path
) -> None:
    video = colour_halves(media, faces=False)
    dest = tmp_path / "fit.mp4"
    assert render_layout(layouts.FIT, video, dest, tmp_path) == layouts.FIT
    frame = rgb(dest, 1.0).astype(float)
    middle = frame[320]  # the picture is 360x202 across the middle (rows 219-420)
    left, right = middle[10:170].mean(axis=0), middle[190:350].mean(axis=0)
    assert left[0] > 180 and left[2] < 70  # the source's red half, whole
    assert right[2] > 180 and right[0] < 70  # and its blue half
    top = frame[20:190]  # the enlarged, blurred copy
    assert 15 < top.mean() < frame[240:400].mean()  # there, and darker than the picture
    assert top[:, :100].mean(axis=(0, 1))[0] > top[:, :100].mean(axis=(0, 1))[2]  # its red side


def test_split_stacks_the_two_speakers(media: Path, tmp_path: Path) -> None:
    video = colour_halves(media, faces=True)
    dest = tmp_path / "split.mp4"
    assert render_layout(layouts.SPLIT, video, dest, tmp_path) == layouts.SPLIT
    frame = rgb(dest, 1.0)
    top, bottom = frame[:320].astype(float), frame[320:].astype(float)
    assert top[..., 0].mean() > 2 * top[..., 2].mean()  # the left speaker (red side) on top
    assert bottom[..., 2].mean() > 2 * bottom[..., 0].mean()  # the right one (blue) below
    detector = HaarFaceDetector()
    for half in (frame[:320], frame[320:]):
        assert detector.faces(cv2.cvtColor(np.ascontiguousarray(half), cv2.COLOR_RGB2GRAY))


def test_auto_follows_faces_and_fits_a_picture_without_any(media: Path, tmp_path: Path) -> None:
    with_face = face_video(media, "walk.mp4", "color=c=0x607080", WALK, 10.0)
    plain = colour_halves(media, faces=False)
    chosen = picture(layouts.AUTO, with_face, 0.0, 10.0, probe(with_face), 360, 640, tmp_path)
    assert chosen.layout == layouts.FOLLOW and "sendcmd" in chosen.filter
    assert chosen.analysis_s > 0
    chosen = picture(layouts.AUTO, plain, 0.0, 3.0, probe(plain), 360, 640, tmp_path)
    assert chosen.layout == layouts.FIT


def test_a_portrait_source_keeps_fit_and_pad_whatever_the_layout(tmp_path: Path) -> None:
    portrait = StreamInfo(duration=5.0, width=180, height=320, fps=25.0, has_audio=False)
    for layout in layouts.LAYOUTS:
        chosen = picture(
            layout, tmp_path / "never-read.mp4", 0.0, 5.0, portrait, 360, 640, tmp_path
        )
        assert chosen.layout == layouts.CENTRE and "pad=" in chosen.filter
        assert chosen.analysis_s == 0.0
