"""One cheap ffmpeg pass over a clip's window for reframing: small grayscale frames a few
times a second (faces, motion) and tiny colour thumbnails of every frame (scene cuts).

Both come out of one decode (deblocking skipped: detection doesn't need it), scaled down
before anything else looks at them, so the analysis costs a small share of the render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from truss.analysis.base import StreamInfo
from truss.ffmpeg import MediaError, Source, input_args
from truss.media import run_ffmpeg

SAMPLE_FPS = 4.0  # analysed frames per second
SAMPLE_W = 320  # analysed frame width (height keeps the aspect ratio, even)
THUMB_FPS = 25.0  # tiny thumbnails per second, for placing cuts to 0.04 s
THUMB_W, THUMB_H = 32, 18
CUT_CHANGE = 0.1  # mean absolute change (0-1) of consecutive thumbnails that means a cut


@dataclass(frozen=True)
class Samples:
    """What the analysis pass saw of one window; times are seconds from the window's start."""

    frames: np.ndarray  # (n, h, w) uint8 grayscale, SAMPLE_FPS a second
    thumbs: np.ndarray  # (m, THUMB_H, THUMB_W * 3) uint8 RGB rows, THUMB_FPS a second
    scale: float  # source pixels per analysed pixel
    source_w: int
    source_h: int

    @property
    def times(self) -> list[float]:
        return [i / SAMPLE_FPS for i in range(len(self.frames))]


def sample_size(probe: StreamInfo) -> tuple[int, int]:
    """The analysed frame size: SAMPLE_W wide (or the source's width if smaller), even."""
    width = min(SAMPLE_W, probe.width - probe.width % 2)
    height = max(2, round(probe.height * width / probe.width / 2) * 2)
    return width, height


def sample(source: Source, start: float, duration: float, probe: StreamInfo, tmp: Path) -> Samples:
    """Decode [start, start + duration) once into analysed frames and cut thumbnails."""
    width, height = sample_size(probe)
    graph = (
        f"[0:v]split=2[a][b];[a]fps={SAMPLE_FPS},scale={width}:{height},format=gray[f];"
        f"[b]fps={THUMB_FPS},scale={THUMB_W}:{THUMB_H},format=rgb24[t]"
    )
    args = ["-y", "-v", "error", "-skip_loop_filter", "all", "-ss", f"{start:.3f}"]
    args += ["-t", f"{duration:.3f}", *input_args(source), "-filter_complex", graph]  # both outputs
    args += ["-map", "[f]", "-f", "rawvideo", "frames.gray"]
    args += ["-map", "[t]", "-f", "rawvideo", "thumbs.rgb"]
    run_ffmpeg(args, timeout=60 + 5 * duration, what="Looking for faces", cwd=str(tmp))
    frames = _read(tmp / "frames.gray", height, width)
    if not len(frames):
        raise MediaError("Looking for faces failed: no picture could be read from the clip.")
    return Samples(
        frames=frames,
        thumbs=_read(tmp / "thumbs.rgb", THUMB_H, THUMB_W * 3),
        scale=probe.width / width,
        source_w=probe.width,
        source_h=probe.height,
    )


def _read(path: Path, height: int, width: int) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, np.uint8)
    count = len(data) // (height * width)
    return data[: count * height * width].reshape(count, height, width)


def cut_times(thumbs: np.ndarray) -> list[float]:
    """Times of hard cuts: a thumbnail that differs sharply from the one before, and more
    than its neighbours' changes (a fast pan changes every frame, a cut one)."""
    if len(thumbs) < 2:
        return []
    change = np.abs(np.diff(thumbs.astype(np.int16), axis=0)).mean(axis=(1, 2)) / 255.0
    cuts = []
    for i, value in enumerate(change):
        around = np.concatenate([change[max(0, i - 3) : i], change[i + 1 : i + 4]])
        usual = float(np.median(around)) if len(around) else 0.0
        if value >= CUT_CHANGE and value >= 3 * usual:
            cuts.append(round((i + 1) / THUMB_FPS, 3))
    return cuts
