"""Small synthetic videos made with the bundled ffmpeg (the one synthesiser of the tests):
planted cuts, a highlight (an applause-like burst: clapping-rate noise over a tone), no
audio; the unit tests share them through `Videos` (made once per
session in one folder)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from truss.media import run_ffmpeg

CUT_AT = 37.0  # testsrc switches to a solid colour here
LOUD = (40.0, 48.0)  # an applause-like burst between these times over a faint tone


@dataclass(frozen=True)
class Spec:
    """What to plant in a synthetic video."""

    duration: float = 90.0
    size: str = "320x180"
    cut_at: float | None = CUT_AT
    loud: tuple[float, float] | None = LOUD  # the applause-like burst (the highlight)
    audio: bool = True
    x264_params: str = ""
    rate: int = 25
    cut_to: str = "0x2050e0"  # the solid colour after the cut
    quiet: float = 0.004  # the tone's volume outside the loud part
    preset: str = "veryfast"
    faststart: bool = False  # the index first, as a browser streaming it wants
    picture: str = "testsrc"  # the lavfi source: testsrc, testsrc2, or "color=c=navy" (a still)
    drawn: str = ""  # filters drawn over the picture, e.g. "drawbox=c=red:t=12"
    video_codec: str = "libx264"
    audio_codec: str = "aac"
    pix_fmt: str | None = "yuv420p"
    container: str | None = None  # the muxer (-f); None: the one dest's extension names
    tone_hz: int = 440
    keyframe_every: int | None = None  # frames between keyframes (-g)
    bitrate: str | None = None  # the video's bitrate (-b:v), e.g. "2M"
    output_args: tuple[str, ...] = ()  # anything else for the output, e.g. the muxer's options


def synth_video(dest: Path, spec: Spec) -> Path:
    """Write the video `spec` describes (by default H.264 + AAC in MP4 with the planted cut and
    loud section); reuse if present."""
    if dest.is_file():
        return dest
    run_ffmpeg(synth_args(dest, spec), 120, "Making a test video")
    return dest


def synth_args(dest: Path, spec: Spec) -> list[str]:
    """The ffmpeg arguments that write `spec`'s video to `dest`."""
    args = ["-y", "-v", "error", "-f", "lavfi", "-i", _picture(spec)]
    maps = ["-map", "0:v"]
    if spec.audio:
        maps += ["-map", "1:a", "-c:a", spec.audio_codec]
        args += ["-f", "lavfi", "-i", _tone(spec)]
    out = [*_video_encoding(spec), *spec.output_args]
    if spec.faststart:
        out += ["-movflags", "+faststart"]
    if spec.container:
        out += ["-f", spec.container]
    return [*args, *maps, *out, "-t", str(spec.duration), str(dest)]


def _source(picture: str, size: str, rate: int, seconds: float) -> str:
    joint = ":" if "=" in picture else "="
    return f"{picture}{joint}s={size}:r={rate}:d={seconds}"


def _picture(spec: Spec) -> str:
    d = spec.duration
    drawn = f",{spec.drawn}" if spec.drawn else ""
    if spec.cut_at is None:
        return _source(spec.picture, spec.size, spec.rate, d) + drawn
    before = _source(spec.picture, spec.size, spec.rate, spec.cut_at)
    after = _source(f"color=c={spec.cut_to}", spec.size, spec.rate, d - spec.cut_at)
    return f"{before}[a];{after}[b];[a][b]concat=n=2:v=1:a=0{drawn}"


def _tone(spec: Spec) -> str:
    """The tone at `quiet`, with an applause-like burst (white noise beating ~9 times a
    second) over it during `loud`."""
    d = spec.duration
    tone = f"sine=f={spec.tone_hz}:r=44100:d={d},volume={spec.quiet}"
    if spec.loud is None:
        return tone
    lo, hi = spec.loud
    claps = f"if(between(t,{lo},{hi}),0.5+0.4*sin(2*PI*9*t),0)"
    burst = f"anoisesrc=c=white:r=44100:a=0.8:d={d}:seed=7,volume='{claps}':eval=frame"
    return f"{tone}[t];{burst}[n];[t][n]amix=inputs=2:normalize=0:duration=first"


def _video_encoding(spec: Spec) -> list[str]:
    encode = ["-c:v", spec.video_codec]
    if spec.video_codec == "libx264":
        encode += ["-preset", spec.preset]
        if spec.x264_params:
            encode += ["-x264-params", spec.x264_params]
    if spec.pix_fmt:
        encode += ["-pix_fmt", spec.pix_fmt]
    if spec.keyframe_every:
        encode += ["-g", str(spec.keyframe_every)]
    if spec.bitrate:
        encode += ["-b:v", spec.bitrate]
    return encode


def make_video(dest: Path, seconds: int, size: str = "320x180") -> Path:
    """A small test video: moving test pattern, a hard cut to red halfway, a steady tone, and
    (20 s or longer) an applause-like burst in the 4 s around the cut: its highlight."""
    half = float(seconds // 2)
    loud = (half - 2, half + 2) if seconds >= 20 else None
    spec = Spec(float(seconds), size, cut_at=half, loud=loud, rate=15, cut_to="red", quiet=0.3)
    return synth_video(dest, spec)


def synth_portrait(dest: Path, size: str = "180x320", border: int = 12) -> Path:
    """A 4-second portrait video: blue with a red border on every side, with a tone."""
    spec = Spec(4.0, size, cut_at=None, loud=None, quiet=1.0, preset="ultrafast")
    return synth_video(
        dest, replace(spec, picture="color=c=blue", drawn=f"drawbox=c=red:t={border}")
    )


def audio_only(dest: Path) -> Path:
    """An AAC file with no picture."""
    run_ffmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "sine=d=3", str(dest)], 60, "audio")
    return dest


def frame_rgb(video: Path, at: float, width: int, height: int) -> bytes:
    """One frame of video as width x height RGB bytes."""
    args = ["-v", "error", "-ss", str(at), "-i", str(video), "-frames:v", "1"]
    args += ["-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    return run_ffmpeg(args, 60, "Reading a frame").stdout


class Videos:
    """Test videos made once per session in one shared folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def main(self) -> Path:
        """90 s, cut at 37 s (keyframe placed by x264), an applause-like burst 40-48 s."""
        return synth_video(self.root / "main.mp4", Spec())

    def fixed_gop(self) -> Path:
        """Like main but keyframes only every 4 s (no scene-cut keyframes), cut at 37.3 s."""
        spec = Spec(cut_at=37.3, x264_params="keyint=100:min-keyint=100:scenecut=0")
        return synth_video(self.root / "fixed_gop.mp4", spec)

    def silent_picture(self) -> Path:
        """40 s with no audio track, cut at 20 s."""
        spec = Spec(duration=40.0, cut_at=20.0, loud=None, audio=False)
        return synth_video(self.root / "no_audio.mp4", spec)

    def short(self) -> Path:
        """A 10-second video."""
        return synth_video(self.root / "short.mp4", Spec(duration=10.0, cut_at=None, loud=None))

    def cut_halfway(self, seconds: int, size: str = "320x180") -> Path:
        """make_video's video (test pattern, red from halfway, a steady tone)."""
        return make_video(self.root / f"cut_halfway_{seconds}s_{size}.mp4", seconds, size)

    def portrait(self) -> Path:
        return synth_portrait(self.root / "portrait_9x16.mp4")

    def narrow(self) -> Path:
        """3:4 portrait, narrower than 16:9 but wider than 9:16."""
        return synth_portrait(self.root / "portrait_3x4.mp4", size="240x320")
