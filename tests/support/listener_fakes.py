"""In-memory stand-ins for a listener's DynamoDB sink and S3 archive (tests and the bench), a
clock the test sets, and a chat source that replays a fixed log."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from truss.streams.listener import Capture
from truss.streams.live_store import LiveRef
from truss.streams.model import ChatMessage, Spike

STARTED = 1_700_000_000.0  # when the tests' streams went live


@dataclass
class MemorySink:
    """A StreamSink in memory (tests, and to see what a listener would write)."""

    messages: dict[str, int] = field(default_factory=dict)
    chatters: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    spikes: dict[str, list[Spike]] = field(default_factory=dict)
    statuses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (from, to)
    notices: dict[str, list[str]] = field(default_factory=dict)
    writes: int = 0

    def add_counts(self, cid: str, sid: str, messages: int, chatters: int) -> None:
        key = f"{cid}:{sid}"
        self.messages[key] = self.messages.get(key, 0) + messages
        self.chatters[key] = self.chatters.get(key, 0) + chatters
        self.writes += 1

    def record_gap(self, cid: str, sid: str, start: float, end: float) -> None:
        self.gaps.setdefault(f"{cid}:{sid}", []).append((start, end))
        self.writes += 1

    def put_spike(self, cid: str, sid: str, spike: Spike) -> None:
        self.spikes.setdefault(f"{cid}:{sid}", []).append(spike)
        self.writes += 1

    def set_status(self, cid: str, sid: str, status: str, expected: str) -> None:
        self.statuses.setdefault(f"{cid}:{sid}", []).append((expected, status))
        self.writes += 1

    def set_quota_message(self, cid: str, sid: str, message: str) -> None:
        self.notices.setdefault(f"{cid}:{sid}", []).append(message)
        self.writes += 1


class MemoryArchive:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        assert content_type == "application/gzip"
        self.objects[key] = body

    def lines(self) -> list[dict[str, object]]:
        return [
            json.loads(line)
            for key in sorted(self.objects)
            for line in gzip.decompress(self.objects[key]).decode().splitlines()
        ]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedSource:
    """A source that hands the capture a fixed chat log, then idles until stopped."""

    starts: list[str] = []

    def __init__(self, ref: LiveRef, capture: Capture, log: list[ChatMessage]) -> None:
        self.ref, self.capture, self.log = ref, capture, log
        self.stopped = threading.Event()

    def run(self) -> None:
        ScriptedSource.starts.append(self.ref.name)
        if self.log:
            self.capture.accept(self.log)
        self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


def scripted(log: list[ChatMessage]) -> Callable[[LiveRef, Capture], ScriptedSource]:
    return lambda ref, capture: ScriptedSource(ref, capture, log)
