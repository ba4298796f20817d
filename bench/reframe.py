"""Reframing figures (issue 15): what following the speaker costs next to the render, and how
steady the path is.

    .venv/bin/python -m bench.reframe

A 30 s 1280x720 video of scikit-image's astronaut photo (a real face) swaying and walking
across a noisy background is made once (cached under /tmp). In one run, one after the other:
- the reframe analysis of the whole clip (one ffmpeg pass + face detection on 320 px frames);
- a plain centre-crop render at 720x1280 (the render before issue 15);
- a `follow` render with word-by-word captions burned in (the analysis's filter, an .ass file
  of a word every 0.4 s drawn by libass).
Printed: the analysis time as a share of the follow render's (target <= 25 %), both renders'
speed in x real time and their ratio, the face-in-crop share and the path's jitter beside an
unsmoothed per-frame tracker's on the same detections."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from truss.captions.burn import write_overlay
from truss.captions.model import Word
from truss.media import probe, render_vertical, run_ffmpeg
from truss.reframe import layouts, path
from truss.reframe.filters import picture_filter
from truss.reframe.plan import analyse, plan

SECONDS = 30.0
FPS = 30
SIZE = (720, 1280)
CACHE = Path("/tmp/truss-bench-reframe")
FACE_SCALE = 1.4  # the 150x170 face picture drawn at this size (a face ~137 px wide)
FACE_LEFT, FACE_W = 26 * FACE_SCALE, 98 * FACE_SCALE
TARGET_SHARE = 0.25

Figure = tuple[str, str, str, bool | None, str]


def face_x(t: float) -> float:
    """The face picture's left edge: sways ±15 px, walks right 6-12 s, back 20-26 s."""
    walk = 100 * min(max(t - 6, 0.0), 6.0) - 100 * min(max(t - 20, 0.0), 6.0)
    return 200 + 15 * np.sin(2 * np.pi * 1.3 * t) + walk


def make_video() -> Path:
    dest = CACHE / "walk720.mp4"
    if dest.is_file():
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    import cv2
    from skimage import data

    face = data.astronaut()[30:200, 150:300]
    cv2.imwrite(str(CACHE / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    x = "200+15*sin(2*PI*1.3*t)+100*clip(t-6\\,0\\,6)-100*clip(t-20\\,0\\,6)"
    w, h = round(150 * FACE_SCALE), round(170 * FACE_SCALE)
    graph = (
        f"[1:v]scale={w}:{h}[f];[0:v]noise=alls=10:allf=t[bg];"
        f"[bg][f]overlay=x='{x}':y=220:shortest=1,format=yuv420p"
    )
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", f"color=c=0x607080:s=1280x720:r={FPS}"]
    args += ["-loop", "1", "-framerate", str(FPS), "-i", str(CACHE / "face.png")]
    args += ["-f", "lavfi", "-i", "sine=f=220:r=48000", "-filter_complex", graph]
    args += ["-map", "2:a", "-c:a", "aac", "-c:v", "libx264", "-preset", "veryfast", "-g", "60"]
    run_ffmpeg([*args, "-t", str(SECONDS), str(dest)], 600, "Making the bench video")
    return dest


def words() -> list[Word]:
    text = [
        "this",
        "is",
        "how",
        "a",
        "talk",
        "looks",
        "when",
        "every",
        "word",
        "lights",
        "up",
        "as",
        "it",
        "is",
        "spoken",
    ]
    return [Word(0.4 * i, 0.4 * i + 0.35, text[i % len(text)]) for i in range(int(SECONDS / 0.4))]


def reframe_figures() -> list[Figure]:
    video = make_video()
    info = probe(video)
    width, height = SIZE
    with tempfile.TemporaryDirectory(prefix="truss-bench-reframe-") as tmp:
        work = Path(tmp)
        began = time.perf_counter()
        found = analyse(video, 0.0, SECONDS, info, work)
        chosen = plan(layouts.FOLLOW, found, width, height)
        follow = picture_filter(chosen, info, width, height, work)
        analysis_s = time.perf_counter() - began

        began = time.perf_counter()
        render_vertical(video, work / "centre.mp4", 0.0, SECONDS, info, width, height)
        centre_s = time.perf_counter() - began

        overlay = write_overlay(words(), "words", work, width, height)
        began = time.perf_counter()
        render_vertical(
            video, work / "follow.mp4", 0.0, SECONDS, info, width, height,
            picture=follow, overlay=overlay, workdir=work,
        )  # fmt: skip
        follow_s = time.perf_counter() - began
    assert chosen.path is not None
    frames = [i / FPS for i in range(int(SECONDS * FPS))]
    inside = sum(
        chosen.path.left_at(t) <= face_x(t) + FACE_LEFT
        and face_x(t) + FACE_LEFT + FACE_W <= chosen.path.left_at(t) + chosen.crop_w
        for t in frames
    ) / len(frames)
    smooth = path.jitter([chosen.path.centre_at(t) for t in frames])
    raw = path.jitter(raw_positions(found.faces, found.times, frames))
    share = analysis_s / follow_s
    return [
        ("reframe analysis / follow+captions render", f"{100 * share:.0f}%",
         f"<= {100 * TARGET_SHARE:.0f}%", share <= TARGET_SHARE,
         f"{analysis_s:.1f} s analysis, {follow_s:.1f} s render of {SECONDS:.0f} s 720p30"),
        ("render speed, centre crop", f"{SECONDS / centre_s:.1f}x real time", "-", None,
         f"{width}x{height}, {centre_s:.1f} s"),
        ("render speed, follow + word captions", f"{SECONDS / follow_s:.1f}x real time", "-",
         None, f"{follow_s / centre_s:.2f}x the centre crop's time (analysis not included)"),
        ("face inside the follow crop", f"{100 * inside:.0f}% of frames", ">= 95%",
         inside >= 0.95, f"crop {chosen.crop_w} px of 1280"),
        ("follow path jitter", f"{smooth:.0f} px", f"<= {0.02 * info.width:.0f} px",
         smooth <= 0.02 * info.width, f"an unsmoothed per-frame tracker: {raw:.0f} px"),
    ]  # fmt: skip


def raw_positions(faces: list, times: list[float], frames: list[float]) -> list[float]:
    """The window centred on the latest detection at each frame (no smoothing)."""
    positions, current = [], 640.0
    for t in frames:
        k = max(j for j, sample_t in enumerate(times) if sample_t <= t + 1e-9)
        if faces[k]:
            current = max(faces[k], key=lambda box: box.area).cx
        positions.append(current)
    return positions


def main() -> None:
    for figure in reframe_figures():
        print(" | ".join(str(part) for part in figure))


if __name__ == "__main__":
    main()
