"""Shared by the pipeline tests: a small generated video and an asset that is `uploaded`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

from truss.data import assets
from truss.data.assets import Asset
from truss.extensions import get_storage, get_table


def make_video(path: Path, seconds: int, size: str = "320x180") -> Path:
    """A small test video: moving test pattern, a hard cut to red halfway, a tone."""
    half = seconds // 2
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [
            ffmpeg, "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc=size={size}:rate=15:duration={half}",
            "-f", "lavfi", "-i", f"color=c=red:size={size}:rate=15:duration={seconds - half}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]",
            "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "veryfast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
        timeout=120,
    )  # fmt: skip
    return path


def uploaded_asset(
    source: Path | bytes, cid: str = "C1", aid: str = "01AAAAAAAAAAAAAAAAAAAAAAAA"
) -> Asset:
    table, storage = get_table(), get_storage()
    asset = assets.create(
        table, cid, aid, title="My talk", file_name="talk.mp4", expected_size=10,
        declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
    )  # fmt: skip
    body = source if isinstance(source, bytes) else source.read_bytes()
    storage.put_bytes(asset.source_key, body, "video/mp4")
    return assets.transition(table, cid, aid, assets.UPLOADING, assets.UPLOADED, size=len(body))
