"""ffmpeg (the imageio-ffmpeg binary, there is no ffprobe): probe, signals, thumbnails, render.

Every call runs ffmpeg through truss.ffmpeg (no secrets in its environment, only the
formats and protocols each input needs, CPU and memory limits, a timeout); a failure raises
`MediaError` with a short reason a creator can act on, never ffmpeg's full log. A source is a
local file or a RemoteSource (a render reads only the byte ranges of its clip).

`measure_signals` avoids a full decode (the cost, DESIGN.md "Known traps"). One ffmpeg pass
writes three outputs: (1) audio as 8 kHz mono 16-bit PCM to a file, read in chunks by numpy for
the level and the sound features of each bin (truss.analysis.features), (2) every video
packet's size without decoding (bytes per bin ~ motion), (3) only the intra frames, decoded to
16x9 RGB. A big change between consecutive intra frames means a cut in between: if the intra
frame is off the keyframe rhythm the encoder put it on the cut; otherwise that gap alone is
decoded (reference frames only, no deblocking, tiny) to place the cut to ~0.1 s. At most
REFINE_SHARE of the video is decoded that way (biggest changes first); past that budget only
very big changes (SURE_CHANGE) count, placed on the keyframe after them.
"""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from truss.analysis import features
from truss.analysis.base import StreamInfo
from truss.analysis.features import AudioFeatures
from truss.ffmpeg import MediaError, RemoteSource, Source, input_args, run, threads

EXPORT_HINT = "Export it as MP4 (H.264) and upload it again."
BIN_S = 0.5
PCM_RATE = 8000
SILENCE_DB = -90.0
QUIET_DB = -50.0  # at or below this a bin is always quiet; louder videos have a higher bar
THUMB_W, THUMB_H = 16, 9
CUT_CHANGE = 0.08  # mean absolute RGB difference (0-1) between intra frames that means a cut
SURE_CHANGE = 0.2  # a change this big is a cut even when there is no budget left to place it
REFINE_SHARE = 0.15  # at most this share of the video is decoded to place cuts between keyframes
MIN_REFINE_S = 60.0  # ...but short videos with long keyframe gaps may always decode this much


@dataclass(frozen=True)
class Signals:
    """Per-bin measurements of one video (bin i covers [i*bin_s, (i+1)*bin_s))."""

    duration: float
    bin_s: float
    loudness_db: list[float]  # RMS level in dBFS, SILENCE_DB for digital silence / no audio
    visual_change: list[float]  # encoded bytes in the bin over the median bin (1.0 = usual)
    cuts: list[float]  # hard cut times, seconds
    quiet: list[float]  # centres of quiet bins, seconds
    has_audio: bool
    sound: AudioFeatures | None = None  # flatness, flux, pitch, frame levels (with audio)

    def bin_at(self, t: float) -> int:
        """The bin index holding time t (clamped)."""
        return max(0, min(len(self.loudness_db) - 1, int(t / self.bin_s)))


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*[^\s:.,]", re.IGNORECASE)  # not a trailing ":"


def _reason(stderr: str) -> str:
    """The last meaningful ffmpeg error line, short, without URLs (a render's input is the
    range server's loopback URL, with its token: no business of the creator's)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "rror" in ln or "nvalid" in ln or "not found" in ln]
    last = (errors or lines or ["unknown error"])[-1]
    return _URL.sub("the video", re.sub(r"^\[[^\]]*\]\s*", "", last))[:160]


def run_ffmpeg(
    args: Sequence[str], timeout: float, what: str, cwd: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg (fenced in, see truss.ffmpeg); MediaError saying what failed."""
    done = run(args, timeout, what, cwd)
    if done.returncode != 0:
        raise MediaError(f"{what} failed: {_reason(done.stderr.decode(errors='replace'))}")
    return subprocess.CompletedProcess(args, done.returncode, done.stdout, done.stderr)


# --- probe -------------------------------------------------------------------------------

_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})[ ,]")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_TIME = re.compile(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)")


def _hms(match: re.Match[str]) -> float:
    return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])


def _unreadable(why: str) -> MediaError:
    return MediaError(f"This file isn't a video we can read ({why}). {EXPORT_HINT}")


def _probe_text(source: Source) -> str:
    """ffmpeg's description of the input (its stderr when given no output)."""
    if not isinstance(source, RemoteSource) and not Path(source).is_file():
        raise MediaError("The video file is missing; upload it again.")
    try:
        done = run(input_args(source), timeout=60, what="Reading the video")
    except MediaError as exc:
        raise _unreadable("reading it took too long") from exc
    text = done.stderr.decode(errors="replace")
    if "Error opening input" in text or "Invalid data found" in text:
        raise _unreadable("it is damaged or not a video")
    return text


def _decoded_duration(source: Source) -> float:
    """Duration by reading every video packet (for files whose header has none)."""
    args = ["-stats", *input_args(source), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    done = run_ffmpeg(args, timeout=300, what="Reading the video's length")
    times = list(_TIME.finditer(done.stderr.decode(errors="replace")))
    return _hms(times[-1]) if times else 0.0


def probe(source: Source, duration: float | None = None) -> StreamInfo:
    """Duration, display size, fps, audio and codecs of a video, or MediaError.

    `duration`: already measured (a render passes the asset's): used as is, so only the
    header is read, never the whole file (which a header without a duration would need,
    e.g. a browser-recorded WebM, over HTTP for a render)."""
    text = _probe_text(source)
    video = next((m for m in _VIDEO.finditer(text) if "attached pic" not in _line(text, m)), None)
    if video is None:
        raise _unreadable("no video stream found")
    if duration:
        duration = float(duration)  # a DynamoDB number is a Decimal
    else:
        duration_match = _DURATION.search(text)
        duration = _hms(duration_match) if duration_match else _decoded_duration(source)
    if duration <= 0:
        raise _unreadable("it has no length")
    width, height = int(video[2]), int(video[3])
    rotation = _ROTATION.search(text)
    if rotation and abs(float(rotation[1])) % 180 == 90:
        width, height = height, width
    fps = _FPS.search(_line(text, video))
    audio = _AUDIO.search(text)
    return StreamInfo(
        duration=duration,
        width=width,
        height=height,
        fps=float(fps[1]) if fps else 0.0,
        has_audio=audio is not None,
        video_codec=video[1],
        audio_codec=audio[1] if audio else "",
    )


def _line(text: str, match: re.Match[str]) -> str:
    """The whole line of text a match starts on."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.start())
    return text[start : end if end >= 0 else len(text)]


# --- signals -----------------------------------------------------------------------------


def measure_signals(path: Path, probe: StreamInfo, bin_s: float = BIN_S) -> Signals:
    """Loudness, visual change, cuts and quiet moments per bin, from one coarse ffmpeg pass."""
    bins = max(1, math.ceil(probe.duration / bin_s))
    with tempfile.TemporaryDirectory(prefix="truss-signals-") as tmp:
        args = ["-skip_frame", "nointra", *input_args(Path(path)), *_THUMB_OUTPUT]
        args += [*_PACKET_OUTPUT, *(_pcm_output() if probe.has_audio else [])]
        done = run_ffmpeg(args, 120 + probe.duration / 4, "Reading the video", cwd=tmp)
        times, sizes = _read_packets(Path(tmp, "packets.txt"))
        stderr = done.stderr.decode(errors="replace")
        thumbs = _frames(Path(tmp, "thumbs.rgb").read_bytes(), stderr)
        sound = _read_features(Path(tmp, "audio.pcm"), bins, bin_s) if probe.has_audio else None
    levels = sound.level_db if sound else []
    return Signals(
        duration=probe.duration,
        bin_s=bin_s,
        loudness_db=levels or [SILENCE_DB] * bins,
        visual_change=_bytes_per_bin(times, sizes, bins, bin_s),
        cuts=_find_cuts(path, thumbs, probe.duration),
        quiet=_quiet_times(levels, bin_s) if levels else [],
        has_audio=probe.has_audio,
        sound=sound,
    )


_TINY = f"scale={THUMB_W}:{THUMB_H},showinfo"
_THUMB_FILTER = f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,0.5)',{_TINY}"
# intra frames only (the input skips the rest), at most two a second, as tiny RGB pictures
_THUMB_OUTPUT = ["-map", "0:v:0", "-vf", _THUMB_FILTER, "-fps_mode", "passthrough"]
_THUMB_OUTPUT += ["-f", "rawvideo", "-pix_fmt", "rgb24", "thumbs.rgb"]
# every video packet's time, size and key flag, without decoding
_PACKET_OUTPUT = ["-map", "0:v:0", "-c", "copy", "-f", "framecrc", "packets.txt"]


def _pcm_output() -> list[str]:
    """An output writing the audio as 8 kHz mono 16-bit PCM (the sound features' input)."""
    chain = f"aresample={PCM_RATE},aformat=sample_fmts=s16:channel_layouts=mono"
    return ["-map", "0:a:0", "-af", chain, "-f", "s16le", "audio.pcm"]


def _read_features(path: Path, bins: int, bin_s: float) -> AudioFeatures:
    """The sound features of the PCM file (truss.analysis.features), read a chunk at a time."""
    count = path.stat().st_size // 2 if path.is_file() else 0  # no file: no audio decoded
    samples = np.memmap(path, dtype="<i2", mode="r", shape=(count,)) if count else _NO_PCM
    return features.from_pcm(samples, bins, bin_s)


_NO_PCM = np.zeros(0, dtype="<i2")


def _read_packets(path: Path) -> tuple[list[float], list[int]]:
    """Video packet times and sizes in time order, from a framecrc file."""
    scale = 1.0
    rows = []
    with open(path, encoding="ascii", errors="replace") as lines:
        for line in lines:
            if line.startswith("#tb 0:"):
                num, den = line.split(":", 1)[1].strip().split("/")
                scale = int(num) / int(den)
            elif line.startswith("0,"):
                cols = [c.strip() for c in line.split(",")]
                rows.append((int(cols[2]) * scale, int(cols[4])))
    rows.sort()
    return [r[0] for r in rows], [r[1] for r in rows]


def _frames(data: bytes, stderr: str) -> list[tuple[float, bytes]]:
    """(time, 16x9 RGB picture) pairs from raw video bytes and showinfo's log."""
    times = [float(t) for t in re.findall(r"pts_time:(-?[\d.]+)", stderr)]
    size = THUMB_W * THUMB_H * 3
    return list(zip(times, (data[i : i + size] for i in range(0, len(data), size)), strict=False))


def _find_cuts(path: Path, thumbs: list[tuple[float, bytes]], duration: float) -> list[float]:
    """Cut times: a big change between intra frames, located by decoding just that gap."""
    thumbs = sorted((t, pic) for t, pic in thumbs if 0 <= t <= duration)  # showinfo can misorder
    usual_gap = _usual_gap([t for t, _ in thumbs])
    cuts: list[float] = []
    gaps: list[tuple[float, float, float]] = []
    for (t0, a), (t1, b) in pairwise(thumbs):
        change = _difference(a, b)
        if change < CUT_CHANGE:
            continue
        if usual_gap and abs(t1 - t0 - usual_gap) > 0.1 * usual_gap:
            cuts.append(t1)  # off the keyframe rhythm: the encoder put a keyframe on the cut
        else:
            gaps.append((change, t0, t1))
    budget, chosen = max(REFINE_SHARE * duration, MIN_REFINE_S), []
    for change, t0, t1 in sorted(gaps, reverse=True):
        if t1 - t0 <= budget:
            budget -= t1 - t0
            chosen.append((t0, t1))
        elif change >= SURE_CHANGE:
            cuts.append(t1)  # over the decoding budget: the keyframe after the cut will do
    with ThreadPoolExecutor(max_workers=2) as pool:
        for found in pool.map(lambda gap: _cuts_between(path, *gap), chosen):
            cuts.extend(found)
    return sorted({round(c, 3) for c in cuts})


def _usual_gap(intra_times: list[float]) -> float:
    """The most common spacing of intra frames (the encoder's keyframe interval)."""
    gaps = [round(b - a, 1) for a, b in pairwise(intra_times)]
    return statistics.mode(gaps) if len(gaps) >= 3 else 0.0


def _cuts_between(path: Path, t0: float, t1: float) -> list[float]:
    """Frames in (t0, t1] that differ sharply from the one before (reference frames only)."""
    fast = ["-skip_frame", "noref", "-skip_loop_filter", "all"]  # ~0.1 s accuracy is plenty
    args = [*fast, "-ss", f"{t0:.3f}", "-t", f"{t1 - t0 + 0.01:.3f}"]
    args += ["-copyts", *input_args(path), "-map", "0:v:0", "-vf", _TINY]
    args += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    done = run_ffmpeg(args, 60 + (t1 - t0), "Reading the video")
    frames = _frames(done.stdout, done.stderr.decode(errors="replace"))
    jumps = [(t, _difference(a, b)) for (_, a), (t, b) in pairwise(frames)]
    return [
        t
        for i, (t, d) in enumerate(jumps)
        if d >= CUT_CHANGE and d >= max(x for _, x in jumps[max(0, i - 2) : i + 3])
    ]


def _difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference of two same-size images, 0-1."""
    if len(a) != len(b) or not a:
        return 0.0
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / (255 * len(a))


def _bytes_per_bin(times: list[float], sizes: list[int], bins: int, bin_s: float) -> list[float]:
    """Encoded bytes per bin over the median bin: a cheap motion / visual change measure."""
    totals = [0.0] * bins
    for t, size in zip(times, sizes, strict=True):
        totals[max(0, min(bins - 1, int(t / bin_s)))] += size
    usual = statistics.median(totals) or 1.0
    return [round(total / usual, 3) for total in totals]


def _quiet_times(levels: list[float], bin_s: float) -> list[float]:
    """Centres of bins well below the video's usual level (pauses, silence)."""
    usual = statistics.median(levels)
    limit = max(QUIET_DB, min(usual - 15.0, -35.0))
    return [(i + 0.5) * bin_s for i, level in enumerate(levels) if level <= limit]


# --- thumbnails and vertical clips -------------------------------------------------------


def make_thumbnail(src: Source, dest: Path, at_seconds: float, width: int = 720) -> None:
    """Write a JPEG poster of src's frame at at_seconds (else its first frame), <= width wide."""
    Path(dest).unlink(missing_ok=True)
    for at in dict.fromkeys((max(0.0, at_seconds), 0.0)):
        args = ["-y", "-v", "error", "-ss", f"{at:.3f}", *input_args(src), "-frames:v", "1"]
        args += ["-vf", f"scale='min({width},iw)':-2", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg"]
        try:
            run_ffmpeg([*args, str(dest)], timeout=60, what="Making a thumbnail")
        except MediaError:
            continue  # past the end (or a bad frame there): try the first frame
        if Path(dest).is_file() and Path(dest).stat().st_size > 0:
            return
    raise MediaError("Making a thumbnail failed: no picture could be read from the video.")


def vertical_filter(probe: StreamInfo, width: int = 720, height: int = 1280) -> str:
    """Landscape: crop the centre to 9:16 and scale it; portrait/square: fit and pad."""
    if probe.width > probe.height:  # cropping before scaling is the same picture, cheaper
        return f"crop=trunc(ih*{width}/{height}/2)*2:ih,scale={width}:{height},setsar=1"
    fit = f"scale={width}:{height}:force_original_aspect_ratio=decrease"
    return f"{fit},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black,setsar=1"


def render_vertical(
    src: Source,
    dest: Path,
    start: float,
    end: float,
    probe: StreamInfo,
    width: int = 720,
    height: int = 1280,
    picture: str | None = None,
    overlay: str | None = None,
    workdir: Path | None = None,
) -> None:
    """Render [start, end) of src as a width x height H.264/AAC MP4 ready for streaming.

    `-ss` before the input seeks by the container's index: only the clip (from the keyframe
    before it) is read, which for a RemoteSource is all that is fetched. `picture`: the
    layout's filter to width x height (truss.reframe; default the centre crop); `overlay`: a
    filter appended once the picture is width x height (the burned-in captions); ffmpeg runs
    in `workdir`, where the files those filters name are."""
    if end <= start:
        raise MediaError("This clip has no length; pick an end after its start.")
    duration = end - start
    chain = picture or vertical_filter(probe, width, height)
    if overlay:
        chain = f"{chain},{overlay}"
    args = ["-y", "-v", "error", "-ss", f"{start:.3f}", *input_args(src), "-t", f"{duration:.3f}"]
    args += ["-map", "0:v:0", "-vf", chain]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    if probe.has_audio:
        args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2"]
    args += [*threads(), "-movflags", "+faststart", str(Path(dest).resolve())]
    cwd = str(workdir) if workdir else None
    run_ffmpeg(args, timeout=120 + 20 * duration, what="Rendering the clip", cwd=cwd)
