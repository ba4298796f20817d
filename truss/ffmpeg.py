"""Run the bundled ffmpeg on untrusted videos, fenced in.

- Environment: only PATH and a C locale. No AWS_*, GEMINI_*, SECRET_KEY or proxy settings
  reach the child (ffmpeg needs none; it never talks to S3 itself, see truss.range_source).
- Inputs: every `-i` comes from `input_args`, which allows only the container formats of the
  upload allow-list (no HLS, concat, image sequences... that open other files or URLs) and
  only the protocols that input needs: `file` for a local file, `http,tcp` for the loopback
  range server. A crafted playlist pointing at http://anything or file:/etc/passwd is refused.
- Cores: what this process may really use (its CPU affinity, bounded by a container's CPU
  quota), not the host's: ffmpeg's decoder, filter and encoder threads are set to that, and
  the CPU allowance and memory cap follow it.
- Limits: CPU seconds scaled to the step's timeout and the cores it may use, and an
  address-space cap (decompression bombs), set by util-linux's `prlimit` before it execs
  ffmpeg (see `_limited`). A child stopped by its CPU limit or the wall-clock timeout raises
  MediaError saying so.
"""

from __future__ import annotations

import math
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from truss.analysis.base import AnalysisError

ALLOWED_DEMUXERS = "mov,matroska,avi,mpeg,mpegts,mpegvideo,flv,ogg"
CHILD_ENV = {"PATH": os.defpath, "LC_ALL": "C"}
CPU_CORES_PER_RUN = 4  # CPU seconds allowed = timeout x min(cores, this)
MEMORY_BASE_BYTES = 3 << 30  # a 1080p render peaks near 1.2 GB of address space on 2 cores
MEMORY_PER_CORE_BYTES = 256 << 20  # encoder and decoder threads each reserve stacks and frames
HTTP_REQUEST_BYTES = 2 << 20  # ffmpeg asks the range server for at most this much at a time
HTTP_FIRST_REQUEST_BYTES = 64 << 10  # ...and this much while it reads the header
CGROUP = Path("/sys/fs/cgroup")  # a container's own cgroup (v2 cpu.max, or v1 cpu/)


class MediaError(AnalysisError):
    """ffmpeg could not read or write a video; the message is shown to the creator."""


@dataclass(frozen=True)
class RemoteSource:
    """A video ffmpeg reads over loopback HTTP by byte ranges (truss.range_source)."""

    url: str

    def __str__(self) -> str:
        return self.url


Source = Path | RemoteSource


@cache
def ffmpeg_exe() -> str:
    """Path of the bundled ffmpeg binary."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def usable_cores() -> int:
    """CPUs this process may run on: its affinity (taskset, `docker --cpuset-cpus`), at most
    its container's CPU quota (`docker --cpus`), rounded up. os.cpu_count() is the host's."""
    cores = len(os.sched_getaffinity(0))
    quota = _cgroup_cpus()
    return max(1, min(cores, math.ceil(quota))) if quota else cores


def _cgroup_cpus() -> float | None:
    """The container's CPU quota in CPUs; None when it has none (or no cgroup is visible)."""
    try:
        quota, period = (CGROUP / "cpu.max").read_text().split()  # cgroup v2: "200000 100000"
    except (OSError, ValueError):
        try:
            quota = (CGROUP / "cpu" / "cpu.cfs_quota_us").read_text().strip()  # v1
            period = (CGROUP / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if not (quota.isdigit() and period.isdigit()) or int(period) == 0:
        return None  # "max" (v2) or -1 (v1): no quota
    return int(quota) / int(period)


def threads() -> list[str]:
    """ffmpeg's thread count for a decoder or an encoder: by default it starts one per host
    core it can run on, whatever the container's quota."""
    return ["-threads", str(min(usable_cores(), CPU_CORES_PER_RUN))]


def input_args(source: Source) -> list[str]:
    """`-i source`, preceded by what that input may use (formats, protocols, threads)."""
    fence = ["-format_whitelist", ALLOWED_DEMUXERS, *threads()]
    if isinstance(source, RemoteSource):
        fence += ["-protocol_whitelist", "http,tcp"]
        fence += ["-request_size", str(HTTP_REQUEST_BYTES)]
        fence += ["-initial_request_size", str(HTTP_FIRST_REQUEST_BYTES)]
        return [*fence, "-i", source.url]
    return [*fence, "-protocol_whitelist", "file", "-i", str(Path(source).resolve())]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu_s: float


def cpu_limit_for(timeout: float) -> int:
    """CPU seconds a step may use: what its cores could do in its wall-clock timeout."""
    return math.ceil(timeout * min(usable_cores(), CPU_CORES_PER_RUN))


def memory_limit() -> int:
    return MEMORY_BASE_BYTES + MEMORY_PER_CORE_BYTES * min(usable_cores(), CPU_CORES_PER_RUN)


def run(
    args: Sequence[str], timeout: float, what: str, cwd: str | None = None, cpu_s: int | None = None
) -> Finished:
    """Run ffmpeg fenced in; MediaError when stopped by the timeout or the CPU limit."""
    cpu = cpu_s if cpu_s is not None else cpu_limit_for(timeout)
    limits = _Limits(cpu, memory_limit())
    filters = ["-filter_threads", threads()[1]]
    cmd = [*_limited(limits), ffmpeg_exe(), "-hide_banner", "-nostdin", *filters, *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=CHILD_ENV,
            close_fds=True,
        )  # fmt: skip
        if prlimit_exe() is None:
            limits.apply_to(proc.pid)
        status, usage, timed_out = _wait(proc, timeout)
        out.seek(0)
        err.seek(0)
        done = Finished(status, out.read(), err.read(), usage.ru_utime + usage.ru_stime)
    if timed_out:
        raise MediaError(f"{what} took longer than {timeout:.0f} s and was stopped.")
    if status != 0 and done.cpu_s >= cpu - 1:
        raise MediaError(
            f"{what} needed more than its {cpu} s of processing time and was stopped; "
            "the video may be damaged or unusually heavy. Export it as MP4 (H.264) and "
            "upload it again."
        )
    return done


@dataclass(frozen=True)
class _Limits:
    """CPU: SIGXCPU at cpu_s (ffmpeg exits), SIGKILL 2 s later. Memory: address space."""

    cpu_s: int
    memory_bytes: int

    def apply_to(self, pid: int) -> None:
        try:
            resource.prlimit(pid, resource.RLIMIT_CPU, (self.cpu_s, self.cpu_s + 2))
            resource.prlimit(pid, resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        except ProcessLookupError:
            pass  # it already exited: nothing left to limit


@cache
def prlimit_exe() -> str | None:
    return shutil.which("prlimit")


def _limited(limits: _Limits) -> list[str]:
    """The command prefix that starts ffmpeg under its limits.

    Not a preexec_fn: that runs Python in the forked child of a worker whose other threads
    (the range server, timers, boto3's pools) may hold locks at the fork, which the child
    then waits on forever; it also stops subprocess from using vfork. util-linux's `prlimit`
    (present on every Debian/Ubuntu: util-linux is an essential package) sets the limits on
    itself, then execs ffmpeg, so they hold from ffmpeg's first instruction. Without it,
    `run` sets them with prlimit(2) right after the start: ffmpeg then runs unlimited for the
    microseconds it takes to load, before it has opened any input - acceptable, not ideal.
    """
    exe = prlimit_exe()
    if exe is None:
        return []
    cpu, memory = limits.cpu_s, limits.memory_bytes
    return [exe, f"--cpu={cpu}:{cpu + 2}", f"--as={memory}:{memory}", "--"]


def _wait(
    proc: subprocess.Popen[bytes], timeout: float
) -> tuple[int, resource.struct_rusage, bool]:
    """Reap the child with its own resource usage; kill it at the timeout."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        proc.send_signal(signal.SIGKILL)

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage, fired.is_set()
