"""Generated benchmark videos (bundled ffmpeg, lavfi sources), made once and cached in /tmp.

- the 1-minute 720p30 H.264/AAC piece: 3 testsrc2 scenes of 20 s over a faint tone, with an
  applause-like burst (clapping-rate noise) at 41-47 s: its highlight;
- the 5-minute video: that piece looped 5 times (stream copy);
- the evaluation set: short 320x180 videos with loud bursts and bursts of cuts planted at
  known times over a background with slow motion, varying noise and a few ordinary cuts.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

from truss import media

PIECE_S = 60
LOOPS = 5
PIECE = Path(tempfile.gettempdir(), "bench_piece_applause.mp4")  # a cached copy is reused
LONG = Path(tempfile.gettempdir(), "truss_bench_applause.mp4")
EVAL_DIR = Path(tempfile.gettempdir(), "truss-bench", "eval")


def _atomic(dest: Path, make: Callable[[Path], None]) -> Path:
    """Make dest through a temporary name, so an interrupted run leaves no half file."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.stem}.{os.getpid()}.part{dest.suffix}")
    try:
        make(part)
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def one_minute() -> Path:
    """The 60 s 720p30 piece (3 scenes, an applause-like burst)."""

    def make(out: Path) -> None:
        scenes = [f"testsrc2=s=1280x720:r=30:d=20,hue=h={h}" for h in (0, 120, 240)]
        graph = ";".join(f"{s}[v{i}]" for i, s in enumerate(scenes))
        graph += ";[v0][v1][v2]concat=n=3:v=1:a=0,format=yuv420p[v]"
        claps = "if(between(t,41,47),0.5+0.4*sin(2*PI*9*t),0)"
        tone = f"sine=f=330:d={PIECE_S},volume=0.05[t];anoisesrc=c=white:a=0.8:d={PIECE_S}:seed=7,"
        tone += f"volume='{claps}':eval=frame[n];[t][n]amix=inputs=2:normalize=0[a]"
        args = ["-y", "-v", "error", "-filter_complex", f"{graph};{tone}"]
        args += ["-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast"]
        media.run_ffmpeg([*args, "-c:a", "aac", str(out)], 1800, "Making the 1-minute video")

    return _atomic(PIECE, make)


def five_minutes() -> Path:
    """The piece looped five times: a 5-minute 720p30 H.264/AAC video."""

    def make(out: Path) -> None:
        loop = ["-y", "-v", "error", "-stream_loop", str(LOOPS - 1), "-i", str(one_minute())]
        media.run_ffmpeg([*loop, "-c", "copy", str(out)], 600, "Looping the piece")

    return _atomic(LONG, make)


# --- the evaluation set ------------------------------------------------------------------

BURST_PICTURES = [
    "smptebars",
    "color=c=0xd02020",
    "rgbtestsrc",
    "color=c=0x1030a0",
    "pal75bars",
    "color=c=0xe0e040",
    "testsrc",
]
BURST_SHOT_S = 0.8


@dataclass(frozen=True)
class EvalVideo:
    """A short video and the events planted in it."""

    name: str
    duration: float
    loud: list[tuple[float, float]] = field(default_factory=list)  # bursts of loud sound
    cut_bursts: list[tuple[float, float]] = field(default_factory=list)  # a cut every 0.8 s
    ordinary_cuts: list[float] = field(default_factory=list)  # single scene changes (no event)
    audio: bool = True
    stream_keyframes: bool = False  # a keyframe every 2 s and none on cuts (like OBS)

    def events(self) -> list[tuple[str, float, float]]:
        spans = [("loud", a, b) for a, b in self.loud]
        spans += [("cuts", a, b) for a, b in self.cut_bursts]
        return sorted(spans, key=lambda e: e[1])

    def path(self) -> Path:
        digest = hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()
        return EVAL_DIR / f"{self.name}-{digest[:10]}.mp4"


EVAL_SET = [
    EvalVideo("talk", 75, loud=[(18, 22)], cut_bursts=[(50, 54)], ordinary_cuts=[35]),
    EvalVideo(
        "stream",
        90,
        loud=[(62, 66)],
        cut_bursts=[(25, 29)],
        ordinary_cuts=[45, 80],
        stream_keyframes=True,
    ),
    EvalVideo("one-shout", 60, loud=[(40, 44)], ordinary_cuts=[20]),
    EvalVideo(
        "silent-montage",
        80,
        cut_bursts=[(30, 34), (60, 63)],
        ordinary_cuts=[12],
        audio=False,
        stream_keyframes=True,
    ),
    EvalVideo("two-shouts", 90, loud=[(15, 18), (70, 74)], ordinary_cuts=[40, 55]),
]


def _picture_graph(video: EvalVideo) -> str:
    """Concatenated shots: background scenes (testsrc2, hue per scene) and burst shots."""
    size, rate = "320x180", 25
    marks = sorted(
        {0.0, video.duration, *video.ordinary_cuts, *(t for s in video.cut_bursts for t in s)}
    )
    shots: list[tuple[float, str]] = []
    scene = 0
    for start, end in pairwise(marks):
        if any(a <= start < b for a, b in video.cut_bursts):
            t, k = start, 0
            while t < end - 1e-6:
                length = min(BURST_SHOT_S, end - t)
                shots.append((length, BURST_PICTURES[k % len(BURST_PICTURES)]))
                t, k = t + length, k + 1
        else:
            shots.append((end - start, f"testsrc2,hue=h={(scene * 97) % 360}"))
            scene += 1
    parts, labels = [], []
    for i, (length, source) in enumerate(shots):
        head, _, tail = source.partition(",")
        sep = ":" if "=" in head else "="
        chain = f"{head}{sep}s={size}:r={rate}:d={length:.3f}" + (f",{tail}" if tail else "")
        parts.append(f"{chain},format=yuv420p,setsar=1[s{i}]")
        labels.append(f"[s{i}]")
    return ";".join(parts) + f";{''.join(labels)}concat=n={len(shots)}:v=1:a=0[v]"


def _audio_graph(video: EvalVideo) -> str:
    """Pink noise whose level wanders like speech, about 18 dB louder during the bursts."""
    wander = "(0.55+0.45*sin(2*PI*0.37*t)*sin(2*PI*1.3*t))"
    loud = "+".join(f"between(t,{a},{b})" for a, b in video.loud) or "0"
    gain = f"volume='{wander}*if({loud},8,1)':eval=frame"
    return f"anoisesrc=c=pink:a=0.04:r=44100:d={video.duration},{gain}[a]"


def eval_video(video: EvalVideo) -> Path:
    def make(out: Path) -> None:
        graph = _picture_graph(video)
        maps = ["-map", "[v]"]
        if video.audio:
            graph += ";" + _audio_graph(video)
            maps += ["-map", "[a]", "-c:a", "aac"]
        args = ["-y", "-v", "error", "-filter_complex", graph, *maps]
        args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
        if video.stream_keyframes:
            args += ["-g", "50", "-keyint_min", "50", "-sc_threshold", "0"]
        media.run_ffmpeg([*args, "-t", str(video.duration), str(out)], 600, "Making an eval video")

    return _atomic(video.path(), make)
