"""How much of the source one render reads: a clip rendered the way a render job does it
(the source in S3, ffmpeg reading byte ranges through truss.range_source), with S3 being
moto's in-process mock.

    python -m bench.ranges VIDEO CLIP_START CLIP_S

Prints one JSON line: the source size, the bytes S3 sent (the Content-Length of every
GetObject), the GETs, and the render's wall-clock seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bench.common import emit
from truss import media
from truss.range_source import serve_object
from truss.storage import Storage

BUCKET = "truss-bench-ranges"


def work(video: Path, start: float, length: float) -> dict[str, Any]:
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    with mock_aws(), tempfile.TemporaryDirectory(prefix="truss-bench-") as tmp:
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.upload_file(str(video), BUCKET, "source")
        sent = {"bytes": 0, "gets": 0}

        def count(parsed: dict[str, Any], **_: Any) -> None:
            sent["bytes"] += int(parsed.get("ContentLength", 0))
            sent["gets"] += 1

        client.meta.events.register("after-call.s3.GetObject", count)
        began = time.perf_counter()
        with serve_object(Storage(BUCKET, client), "source") as served:
            info = media.probe(served.source)
            out = Path(tmp, "clip.mp4")
            media.render_vertical(served.source, out, start, start + length, info)
        seconds = time.perf_counter() - began
        rendered = media.probe(out)
    return {
        "source_bytes": video.stat().st_size,
        "source_duration": info.duration,
        "sent_bytes": sent["bytes"],
        "gets": sent["gets"],
        "seconds": seconds,
        "render_duration": rendered.duration,
    }


if __name__ == "__main__":
    video, start, length = sys.argv[1:]
    emit(work(Path(video), float(start), float(length)))
