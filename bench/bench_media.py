"""Benchmark the media pipeline on a ~5-minute 720p30 video: probe, signals, analyzer, render.

Usage: .venv/bin/python bench/bench_media.py [video]   (without a video, one is made once
and cached under the system temp folder). Each stage runs in its own child process so the
peak memory of its ffmpeg children can be reported separately.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from truss import media  # noqa: E402
from truss.analysis.base import ClipLengths  # noqa: E402
from truss.analysis.signals import SignalAnalyzer  # noqa: E402

PIECE_S = 60
LOOPS = 5


def make_video(dest: Path) -> Path:
    """A 5-minute 720p30 H.264/AAC video: a 60 s piece (3 scenes, a loud part) looped 5 times."""
    if dest.is_file():
        return dest
    piece = dest.with_name("bench_piece.mp4")
    scenes = [f"testsrc2=s=1280x720:r=30:d=20,hue=h={h}" for h in (0, 120, 240)]
    graph = ";".join(f"{s}[v{i}]" for i, s in enumerate(scenes))
    graph += ";[v0][v1][v2]concat=n=3:v=1:a=0,format=yuv420p[v]"
    tone = f"sine=f=330:d={PIECE_S},volume='if(between(t,41,50),0.8,0.05)':eval=frame[a]"
    args = ["-y", "-v", "error", "-filter_complex", f"{graph};{tone}", "-map", "[v]", "-map", "[a]"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(piece)]
    media.run_ffmpeg(args, 1800, "Making the piece")
    loop = ["-y", "-v", "error", "-stream_loop", str(LOOPS - 1), "-i", str(piece), "-c", "copy"]
    media.run_ffmpeg([*loop, str(dest)], 600, "Looping the piece")
    return dest


def stage(name: str, video: Path) -> dict[str, float]:
    """Run one stage in this process; its seconds and the peak RSS of its ffmpeg children."""
    info = media.probe(video)
    start = time.perf_counter()
    if name == "probe":
        media.probe(video)
    elif name == "signals":
        media.measure_signals(video, info)
    elif name == "analyzer":
        SignalAnalyzer().analyze(video, info, ClipLengths())
    elif name == "render":
        with tempfile.TemporaryDirectory() as tmp:
            media.render_vertical(video, Path(tmp, "clip.mp4"), 60.0, 90.0, info)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "peak_mb": peak_kb / 1024, "duration": info.duration}


def in_child(name: str, video: Path) -> dict[str, float]:
    """Run a stage in a fresh Python process and read its figures."""
    cmd = [sys.executable, __file__, "--stage", name, str(video)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(done.stdout)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--stage"]:
        print(json.dumps(stage(argv[1], Path(argv[2]))))
        return
    video = Path(argv[0]) if argv else make_video(Path(tempfile.gettempdir(), "truss_bench.mp4"))
    info = media.probe(video)
    print(f"video: {video} ({info.duration:.0f} s, {info.width}x{info.height}, {info.fps:g} fps)")
    for name in ("probe", "signals", "analyzer", "render"):
        got = in_child(name, video)
        seconds = got["seconds"]
        media_s = 30.0 if name == "render" else info.duration
        what = "of a 30 s clip" if name == "render" else "pass"
        print(
            f"{name} {what}: {media_s / seconds:.0f}x real time "
            f"({seconds:.2f} s), ffmpeg peak RSS {got['peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
