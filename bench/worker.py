"""One worker's media work on one video, in this (fresh) process: what `analyze` and one
`render` job do with the downloaded source (probe, thumbnail, signal analyzer, 9:16 render).

    python -m bench.worker VIDEO CLIP_START CLIP_S WIDTHxHEIGHT [--no-analysis]

Prints one JSON line: seconds per step (and the CPU seconds its ffmpeg children used), this
process's peak RSS (VmHWM) and the largest peak RSS of any ffmpeg child (RUSAGE_CHILDREN).
Imports what `truss worker` imports, so the Python side weighs what a real worker weighs.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import truss.jobs  # noqa: F401  (a real worker's imports: Flask, RQ, boto3, the pipeline)
from bench.common import emit, status_kb
from truss import media
from truss.analysis.base import ClipLengths
from truss.analysis.signals import SignalAnalyzer


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def work(video: Path, start: float, length: float, size: str, analysis: bool) -> dict[str, Any]:
    width, height = (int(n) for n in size.split("x"))
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    found = 0
    analysis_peaks = (0.0, 0.0)
    with tempfile.TemporaryDirectory(prefix="truss-bench-") as tmp:
        began = time.perf_counter()
        info = media.probe(video)
        seconds["probe"] = time.perf_counter() - began
        if analysis:
            began = time.perf_counter()
            media.make_thumbnail(video, Path(tmp, "t.jpg"), min(info.duration * 0.1, 10.0))
            seconds["thumbnail"] = time.perf_counter() - began
            began, cpu_before = time.perf_counter(), _children_cpu()
            found = len(SignalAnalyzer().analyze(video, info, ClipLengths()).moments)
            seconds["analyzer"] = time.perf_counter() - began
            cpu["analyzer"] = _children_cpu() - cpu_before
        analysis_peaks = (status_kb("VmHWM") / 1024, _children_peak_mb())
        began, cpu_before = time.perf_counter(), _children_cpu()
        out = Path(tmp, "clip.mp4")
        media.render_vertical(video, out, start, start + length, info, width, height)
        seconds["render"] = time.perf_counter() - began
        cpu["render"] = _children_cpu() - cpu_before
        rendered = media.probe(out)
    return {
        "duration": info.duration,
        "seconds": seconds,
        "ffmpeg_cpu_seconds": cpu,
        "moments": found,
        "render_size": f"{rendered.width}x{rendered.height}",
        "render_duration": rendered.duration,
        "python_peak_mb": status_kb("VmHWM") / 1024,
        "ffmpeg_peak_mb": _children_peak_mb(),
        "analysis_python_peak_mb": analysis_peaks[0],  # before the render
        "analysis_ffmpeg_peak_mb": analysis_peaks[1],
    }


if __name__ == "__main__":
    video, start, length, size, *flags = sys.argv[1:]
    emit(work(Path(video), float(start), float(length), size, "--no-analysis" not in flags))
