"""ffmpeg reads untrusted files fenced in: no secrets in its environment, only the container
formats and protocols an input needs (no playlist or manifest can send it elsewhere), and CPU
and memory limits that end in a clear MediaError."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from tests.support.media import Spec, synth_args, synth_video
from truss import ffmpeg, media
from truss.analysis.base import StreamInfo
from truss.ffmpeg import MediaError, RemoteSource
from truss.range_source import serve_object
from truss.storage import Storage

SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "very-secret",
    "AWS_SESSION_TOKEN": "session-secret",
    "GEMINI_API_KEY": "gemini-secret",
    "GOOGLE_API_KEY": "google-secret",
    "SECRET_KEY": "flask-secret",
    "TRUSS_SECRET_KEY": "truss-secret",
    "http_proxy": "http://user:pass@proxy.example:3128",
}
PROBE = StreamInfo(duration=10.0, width=320, height=180, fps=10.0, has_audio=False)


class Canary:
    """A TCP port on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hits: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.hits.append(conn.recv(1000))
                except OSError:
                    self.hits.append(b"")


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.sock.close()


def tiny_ts(path: Path) -> Path:
    """A real two-second MPEG-TS file."""
    spec = Spec(2.0, "160x90", cut_at=None, audio=False, rate=10, container="mpegts")
    return synth_video(path, spec)


def dash_manifest(url: str) -> bytes:
    """A DASH manifest whose media lives at `url` (ffmpeg detects it by its content)."""
    return (
        '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        'mediaPresentationDuration="PT10S" minBufferTime="PT1S" '
        'profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period>'
        '<AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" '
        'codecs="avc1.64001f" width="320" height="180">'
        f'<BaseURL>{url}</BaseURL><SegmentBase indexRange="0-100"/>'
        "</Representation></AdaptationSet></Period></MPD>"
    ).encode()


def every_reader(source: media.Source, tmp: Path) -> list[str]:
    """Run probe, thumbnail and render on a source; what each raised (all must raise)."""
    raised = []
    for step in (
        lambda: media.probe(source),
        lambda: media.make_thumbnail(source, tmp / "poster.jpg", 1.0),
        lambda: media.render_vertical(source, tmp / "clip.mp4", 0.0, 5.0, PROBE),
    ):
        with pytest.raises(MediaError) as caught:
            step()
        raised.append(str(caught.value))
    return raised


def fake_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Stand in for the binary: print what the child sees (once its limits are set: without
    util-linux's prlimit they are set just after the start); returns the file where each
    run's limits and arguments are written too, a line a run."""
    script, seen = tmp_path / "fake-ffmpeg", tmp_path / "seen.txt"
    script.write_text(
        '#!/bin/sh\nwhile [ "$(ulimit -t)" = unlimited ]; do :; done\nenv\n'
        f'echo "cpu=$(ulimit -t) hard=$(ulimit -Ht) as=$(ulimit -v) args=$*" | tee -a {seen}\n'
    )
    script.chmod(0o755)
    monkeypatch.setattr(ffmpeg, "ffmpeg_exe", lambda: str(script))
    return seen


@pytest.mark.parametrize("prlimit", ["util-linux prlimit", "none"])
def test_the_ffmpeg_child_gets_no_secrets_and_runs_under_limits(
    prlimit: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    fake_ffmpeg(monkeypatch, tmp_path)
    if prlimit == "none":
        monkeypatch.setattr(ffmpeg, "prlimit_exe", lambda: None)
    else:
        assert ffmpeg.prlimit_exe(), "util-linux's prlimit is not installed"

    seen = media.run_ffmpeg(["-version"], timeout=30, what="Printing").stdout.decode()

    for name, value in SECRETS.items():
        assert name not in seen and value not in seen
    assert f"cpu={ffmpeg.cpu_limit_for(30)} hard={ffmpeg.cpu_limit_for(30) + 2} " in seen
    assert f"as={ffmpeg.memory_limit() // 1024}" in seen


def test_ffmpeg_starts_without_python_code_in_the_forked_child(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A preexec_fn runs in the fork of a multi-threaded worker (the range server, timers):
    a lock another thread held at the fork never opens in the child, which then hangs."""
    fake_ffmpeg(monkeypatch, tmp_path)
    started: list[dict[str, object]] = []
    real_popen = subprocess.Popen

    def spy(*args: object, **kwargs: object) -> object:
        started.append(kwargs)
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(ffmpeg.subprocess, "Popen", spy)

    seen = media.run_ffmpeg(["-version"], timeout=30, what="Printing").stdout.decode()

    assert [kwargs.get("preexec_fn") for kwargs in started] == [None]
    assert f"cpu={ffmpeg.cpu_limit_for(30)} " in seen


def test_a_manifest_served_for_a_render_cannot_reach_another_host(
    canary: Canary, tmp_path: Path, aws: None
) -> None:
    """A render reads the source over loopback HTTP; a DASH manifest uploaded as the video
    would make an unfenced ffmpeg fetch any URL it names (e.g. a cloud metadata endpoint)."""
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="fence-bucket")
    storage = Storage("fence-bucket", client)
    target = f"http://127.0.0.1:{canary.port}/latest/meta-data/iam/security-credentials/"
    storage.put_bytes("source", dash_manifest(target), "video/mp4")
    with serve_object(storage, "source") as served:
        every_reader(served.source, tmp_path)
    assert canary.hits == []


@pytest.mark.parametrize("kind", ["hls", "dash", "concat"])
def test_local_playlists_and_manifests_are_refused(
    kind: str, canary: Canary, tmp_path: Path
) -> None:
    """Playlists naming another local file (which ffmpeg would read) or a URL are not videos."""
    tiny_ts(tmp_path / "other.ts")
    bodies = {
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile:{tmp_path}/other.ts\n"
        f"#EXTINF:2,\nhttp://127.0.0.1:{canary.port}/seg.ts\n#EXT-X-ENDLIST\n",
        "dash": dash_manifest(f"http://127.0.0.1:{canary.port}/seg.mp4").decode(),
        "concat": f"ffconcat version 1.0\nfile other.ts\nfile http://127.0.0.1:{canary.port}/a\n",
    }
    source = tmp_path / "upload.m3u8"  # the name ffmpeg wants before it treats text as HLS
    source.write_text(bodies[kind])

    raised = every_reader(source, tmp_path)

    assert canary.hits == []
    assert "isn't a video we can read" in raised[0]


def test_a_run_over_its_cpu_allowance_is_a_clear_media_error(tmp_path: Path) -> None:
    heavy = Spec(60.0, "1280x720", cut_at=None, audio=False, rate=30, preset="medium")
    args = synth_args(tmp_path / "heavy.mp4", replace(heavy, picture="testsrc2", pix_fmt=None))

    with pytest.raises(MediaError) as caught:
        ffmpeg.run(args, timeout=120, what="Rendering the clip", cpu_s=1)

    message = str(caught.value)
    assert message.startswith("Rendering the clip needed more than its 1 s of processing time")
    assert "upload it again" in message


@pytest.fixture
def one_cpu() -> Iterator[None]:
    """This thread (and the children it starts) may run on one CPU only, as under
    `taskset -c 0` or `docker --cpuset-cpus 0` on a host with more cores."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def test_a_render_on_one_cpu_uses_one_thread_and_one_cpu_of_time(
    one_cpu: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not the host's cores: a worker pinned to one CPU (a small container on a big host)
    starts ffmpeg with one decoder, filter and encoder thread, and CPU time for one core."""
    record = fake_ffmpeg(monkeypatch, tmp_path)

    media.render_vertical(tmp_path / "in.mp4", tmp_path / "out.mp4", 0.0, 30.0, PROBE)

    seen = record.read_text().splitlines()[0]
    args = seen.split("args=", 1)[1].split()
    assert f"cpu={120 + 20 * 30} " in seen  # the render's timeout x 1 core
    assert args[args.index("-filter_threads") + 1] == "1"
    threads = [args[i + 1] for i, arg in enumerate(args) if arg == "-threads"]
    assert threads == ["1", "1"]  # decoder (before -i) and encoder (before the output)
    assert args.index("-threads") < args.index("-i") < len(args) - 1 - args[::-1].index("-threads")


def test_a_container_cpu_quota_bounds_the_threads_and_the_cpu_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`docker --cpus 1` leaves the affinity at every host core; the cgroup says 1 CPU."""
    record = fake_ffmpeg(monkeypatch, tmp_path)
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cpu.max").write_text("100000 100000\n")
    monkeypatch.setattr(ffmpeg, "CGROUP", cgroup)

    with pytest.raises(MediaError):  # the fake makes no picture
        media.make_thumbnail(tmp_path / "in.mp4", tmp_path / "poster.jpg", 1.0)

    seen = record.read_text().splitlines()[0]
    assert "cpu=60 " in seen  # the thumbnail's 60 s timeout x 1 core
    args = seen.split("args=", 1)[1].split()
    assert args[args.index("-threads") + 1] == "1"


def test_inputs_name_only_the_protocols_they_need(tmp_path: Path) -> None:
    local = ffmpeg.input_args(tmp_path / "source")
    remote = ffmpeg.input_args(RemoteSource("http://127.0.0.1:1/token"))
    assert local[local.index("-protocol_whitelist") + 1] == "file"
    assert remote[remote.index("-protocol_whitelist") + 1] == "http,tcp"
    for args in (local, remote):
        assert args[args.index("-format_whitelist") + 1] == ffmpeg.ALLOWED_DEMUXERS
        assert args[-2] == "-i"
