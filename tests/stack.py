"""Start the real local stack (`truss dev`) as a subprocess on free ports, for tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def descendants(pid: int) -> set[int]:
    """Every process below pid (by walking /proc parent links)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class LocalStack:
    """One `truss dev` process tree with its own data directory and ports."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port, self.moto_port, self.redis_port = free_port(), free_port(), free_port()
        self.fake_platforms_port = free_port()
        self.env = {
            **os.environ,
            "TRUSS_DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "TRUSS_MOTO_PORT": str(self.moto_port),
            "TRUSS_REDIS_PORT": str(self.redis_port),
            "TRUSS_READINESS_CACHE_S": "1",  # see a worker come up within a second
            "TRUSS_FAKE_TWITCH_PORT": str(free_port()),  # the fake live channel
            "TRUSS_FAKE_PLATFORMS_PORT": str(self.fake_platforms_port),  # publishing's fakes
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def fake_platforms_url(self) -> str:
        """`truss fake-platforms` (GET /_fake/received, /_fake/endpoints, POST /_fake/faults)."""
        return f"http://127.0.0.1:{self.fake_platforms_port}"

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self, timeout: float = 120.0) -> LocalStack:
        log = open(self.data_dir / "launcher.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "truss.cli", "dev"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_healthy(timeout)
        return self

    def health(self) -> dict[str, Any]:
        """The readiness report: {"status": ..., "checks": {"dynamodb": {"ok": ...}, ...}}."""
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=5) as response:
                return dict(json.load(response))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"truss dev exited early:\n{self.log_tail()}")
            try:
                last = self.health()
                worker = last.get("checks", {}).get("worker", {})
                if last.get("status") == "ok" and worker.get("ok"):  # ready, and a worker runs
                    return
            except OSError as exc:
                last = exc
            time.sleep(0.5)
        raise RuntimeError(f"stack not healthy after {timeout:.0f} s: {last}\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        path = self.data_dir / "launcher.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _children(self) -> dict[str, int]:
        return dict(json.loads((self.data_dir / "stack.json").read_text())["children"])

    def child_pid(self, name: str) -> int:
        """The pid of one of the launcher's children ("worker", "chat", ...) as it is now."""
        return int(self._children()[name])

    def child_pids(self) -> set[int]:
        assert self.proc is not None
        return set(self._children().values()) | descendants(self.proc.pid)

    def client_env(self) -> dict[str, str]:
        """What an app in another process needs to talk to this stack's backends."""
        return {
            "TRUSS_ENV": "local",
            "TRUSS_DATA_DIR": str(self.data_dir),
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "REDIS_URL": self.redis_url,
        }

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C the launcher and wait for it; returns its exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)
