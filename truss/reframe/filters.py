"""The ffmpeg picture filter of each layout: from the source picture to width x height.

`follow` renders along its crop path with `sendcmd`: a small file in the render's folder
sets the `crop` filter's x at each frame where it changes (one crop, no per-segment renders to
concatenate, no expression that grows with the clip's length). The caption overlay is
appended after this chain by the caller."""

from __future__ import annotations

from pathlib import Path

from truss.analysis.base import StreamInfo
from truss.reframe import layouts
from truss.reframe.detect import Box
from truss.reframe.plan import Plan

PATH_FILE = "crop_path.cmd"
FACE_HEIGHTS = 3.2  # a split half shows about this many face heights of picture
BACKGROUND_SHRINK = 8  # fit: the background is blurred at 1/8 of the output size (cheap)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def centre_filter(probe: StreamInfo, width: int, height: int) -> str:
    """Landscape: crop the centre to 9:16 and scale; portrait/square: fit and pad (the
    layout of every render before issue 15, and of every portrait source still)."""
    from truss.media import vertical_filter

    return vertical_filter(probe, width, height)


def picture_filter(
    plan: Plan, probe: StreamInfo, width: int, height: int, workdir: Path,
    frozen_at: float | None = None,
) -> str:  # fmt: skip
    """The filter chain for `plan` (`frozen_at`: one still at that time, for a preview)."""
    if probe.width <= probe.height or plan.layout == layouts.CENTRE:
        return centre_filter(probe, width, height)
    if plan.layout == layouts.FIT:
        return fit_filter(width, height)
    if plan.layout == layouts.SPLIT and len(plan.speakers) == 2:
        return split_filter(plan.speakers, probe, width, height)
    if plan.layout == layouts.FOLLOW and plan.path is not None:
        return follow_filter(plan, probe, width, height, workdir, frozen_at)
    return centre_filter(probe, width, height)


def fit_filter(width: int, height: int) -> str:
    """The whole picture across the width in the middle, over a blurred, darkened, enlarged
    copy of itself (blurred small, then scaled up)."""
    bw, bh = _even(width / BACKGROUND_SHRINK), _even(height / BACKGROUND_SHRINK)
    background = (
        f"scale={bw}:{bh}:force_original_aspect_ratio=increase,crop={bw}:{bh},"
        f"boxblur=4:2,eq=brightness=-0.12,scale={width}:{height},setsar=1"
    )
    front = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
    return (
        f"split=2[bg][fg];[bg]{background}[b];[fg]{front},setsar=1[f];"
        f"[b][f]overlay=(W-w)/2:(H-h)/2,setsar=1"
    )


def split_region(face: Box, probe: StreamInfo, width: int, half: int) -> tuple[int, int, int, int]:
    """(w, h, x, y) of the source region shown in a half: the output half's aspect ratio,
    about FACE_HEIGHTS face heights tall, the face in its upper middle, inside the picture."""
    aspect = width / half
    h = min(float(probe.height), max(probe.height * 0.4, FACE_HEIGHTS * face.h))
    w = h * aspect
    if w > probe.width:
        w, h = float(probe.width), probe.width / aspect
    w_even, h_even = _even(w), _even(h)
    x = min(max(0.0, face.cx - w_even / 2), probe.width - w_even)
    y = min(max(0.0, face.cy - 0.42 * h_even), probe.height - h_even)
    return w_even, h_even, _even(x) if x >= 2 else 0, _even(y) if y >= 2 else 0


def split_filter(speakers: tuple[Box, ...], probe: StreamInfo, width: int, height: int) -> str:
    """The two speakers stacked: the first on top, the second below, each width x height/2."""
    half = height // 2
    parts = []
    for label, face in zip(("top", "bottom"), speakers, strict=True):
        w, h, x, y = split_region(face, probe, width, half)
        parts.append(f"[{label}in]crop={w}:{h}:{x}:{y},scale={width}:{half},setsar=1[{label}]")
    return f"split=2[topin][bottomin];{';'.join(parts)};[top][bottom]vstack,setsar=1"


def follow_filter(
    plan: Plan, probe: StreamInfo, width: int, height: int, workdir: Path,
    frozen_at: float | None = None,
) -> str:  # fmt: skip
    """A full-height crop whose x follows the plan's path (a still crop when frozen)."""
    assert plan.path is not None
    crop_w = plan.crop_w
    scale = f"scale={width}:{height},setsar=1"
    if frozen_at is not None:
        return f"crop={crop_w}:ih:{plan.path.left_at(frozen_at)}:0,{scale}"
    fps = probe.fps if 1 <= probe.fps <= 120 else 30.0
    (workdir / PATH_FILE).write_text(path_commands(plan, fps), encoding="ascii")
    first = plan.path.left_at(0.0)
    return f"sendcmd=f={PATH_FILE},crop={crop_w}:ih:{first}:0,{scale}"


def path_commands(plan: Plan, fps: float) -> str:
    """sendcmd lines setting crop's x at each frame time where the path's left edge moves."""
    assert plan.path is not None
    end = max(piece.t1 for piece in plan.path.pieces)
    lines, last = [], None
    for frame in range(int(end * fps) + 1):
        t = frame / fps
        left = plan.path.left_at(t)
        if left != last:
            lines.append(f"{max(0.0, t - 0.0005):.4f} crop x {left};")  # never a frame late
            last = left
    return "\n".join(lines) + "\n"
