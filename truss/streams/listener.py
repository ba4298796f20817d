"""The live chat listener: `truss chat`, any number of processes, one listener per live stream.

Each `tick` (about once a second) the listener
- reads the live streams (live_store.live_streams) and takes a Redis lease on those nobody
  holds; a stream whose earlier listener stopped hearing chat (killed, deployed) gets a gap from
  that moment to the takeover;
- renews its leases (a lease it lost is given up) and stops streams that ended;
- takes the messages its capture threads received, drops those any listener already took
  (de-dup by message id in Redis), and folds them into per-second bins written to Redis for the
  live chart;
- every `flush_s` writes the stream's counters, gaps and spikes through the `StreamSink`
  (DynamoDB, S4's truss/data/streams.py) — never a write per message — and archives the raw
  messages to S3 as gzip JSON-lines chunks.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from truss.data import keys
from truss.streams import live_store
from truss.streams.live_store import LiveRef
from truss.streams.model import ChatMessage, SecondBin, Spike
from truss.streams.spikes import (
    BASELINE_S,
    DEFAULT_LEXICON,
    MAX_MESSAGE_WEIGHT,
    Binner,
    SpikeTracker,
    describe,
)
from truss.streams.twitch_irc import IrcSettings, TwitchChatClient
from truss.streams.youtube_chat import OFFLINE, QuotaBudget, YouTubeChatPoller, YouTubeSettings

log = logging.getLogger(__name__)

LATE_S = 3  # a second is given to the spike tracker once chat is this far past it
TRACK_CATCH_UP_S = 600  # after a long silence, the tracker gets at most this many empty seconds
RECENT_MESSAGES = 20000  # kept for a spike's samples and top emotes
RESTART_MAX_S = 60.0  # a source that raised is restarted after 1, 2, 4 … up to this many seconds


class StreamSink(Protocol):
    """Where the listener's few durable writes go (S4's TableSink in truss/data/streams.py)."""

    def add_counts(self, cid: str, sid: str, messages: int, chatters: int) -> None:
        """Add messages and *new* unique chatters since the last call."""

    def record_gap(self, cid: str, sid: str, start: float, end: float) -> None:
        """Chat was not captured from `start` to `end` (seconds since the stream started)."""

    def put_spike(self, cid: str, sid: str, spike: Spike) -> None:
        """A spike found while live (idempotent: keyed by its offset)."""

    def set_status(self, cid: str, sid: str, status: str, expected: str) -> None:
        """Move the stream from `expected` to `status` (the listener: live → ended when the
        platform says the broadcast is over)."""

    def set_quota_message(self, cid: str, sid: str, message: str) -> None:
        """A message the stream page shows (capture stopped: quota used up, key refused)."""


class Archive(Protocol):
    def put_bytes(self, key: str, body: bytes, content_type: str) -> None: ...


class Source(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class ListenerSettings:
    lease_ms: int = 15000
    tick_s: float = 1.0
    flush_s: float = 10.0
    archive_every_s: float = 60.0
    archive_max_messages: int = 20000
    irc: IrcSettings = field(default_factory=IrcSettings)
    youtube: YouTubeSettings = field(default_factory=lambda: YouTubeSettings(api_key=""))

    @classmethod
    def from_config(cls, config: Any) -> ListenerSettings:
        return cls(
            lease_ms=int(config["STREAM_LEASE_S"] * 1000),
            irc=IrcSettings(
                host=config["TWITCH_IRC_HOST"],
                port=config["TWITCH_IRC_PORT"],
                tls=config["TWITCH_IRC_TLS"],
            ),
            youtube=YouTubeSettings(
                api_key=config["YOUTUBE_API_KEY"],
                api_base=config["YOUTUBE_API_BASE"],
                daily_quota=config["YOUTUBE_DAILY_QUOTA"],
            ),
        )


def archive_key(cid: str, sid: str, seq: int) -> str:
    return f"{keys.stream_archive_prefix(cid, sid)}chat/{seq:06d}.jsonl.gz"


def archive_line(message: ChatMessage) -> str:
    return json.dumps(
        {
            "id": message.id,
            "offset_s": message.offset_s,
            "author_id": message.author_id,
            "author": message.author,
            "text": message.text,
            "emotes": list(message.emotes),
        },
        ensure_ascii=False,
    )


class Capture:
    """One stream this listener holds: its source thread's inbox and what's not written yet."""

    def __init__(
        self, ref: LiveRef, now: float, terms: Mapping[str, float] = DEFAULT_LEXICON
    ) -> None:
        self.ref = ref
        self.lock = threading.Lock()
        self.inbox: list[ChatMessage] = []
        self.gaps: list[tuple[float, float]] = []  # epoch seconds
        self.notice: tuple[bool, str] | None = None  # (ended, message) from the source
        self.crashed_at: float | None = None  # when the source raised (epoch seconds)
        self.crashes = 0
        self.source: Source | None = None
        self.thread: threading.Thread | None = None
        self.terms = terms  # the creator's lexicon, read once when the stream is taken
        self.binner = Binner(terms)
        self.tracker = SpikeTracker()
        self.tracked_to = -1  # the last second given to the tracker
        self.bins: dict[int, tuple[int, dict[str, float]]] = {}  # second → (messages, weights)
        self.recent: deque[ChatMessage] = deque(maxlen=RECENT_MESSAGES)  # for spike samples
        self.archive: list[str] = []
        self.archived_at = now
        self.flushed_at = now
        self.unflushed = 0
        self.new_authors: set[str] = set()
        self.spikes: list[Spike] = []

    # called from the source thread
    def accept(self, batch: list[ChatMessage]) -> None:
        with self.lock:
            self.inbox.extend(batch)

    def gap(self, start: float, end: float) -> None:
        with self.lock:
            self.gaps.append((start, end))

    def stopped(self, message: str, ended: bool = False) -> None:
        with self.lock:
            self.notice = (ended, message)

    def crashed(self, when: float) -> None:
        with self.lock:
            self.crashed_at = when
            self.crashes += 1

    def take(self) -> tuple[list[ChatMessage], list[tuple[float, float]], tuple[bool, str] | None]:
        with self.lock:
            inbox, gaps, notice = self.inbox, self.gaps, self.notice
            self.inbox, self.gaps, self.notice = [], [], None
        return inbox, gaps, notice

    def fold(self, messages: list[ChatMessage]) -> set[int]:
        """Add de-duplicated messages to the bins and the archive buffer; the seconds touched.

        Weights follow spikes.Binner: lexicon terms, a chatter counted once a second at their
        heaviest message, a chatter repeating themselves adds no chatter and no weight."""
        touched = set()
        for message in messages:
            second = math.floor(message.offset_s)
            count, weights = self.bins.get(second, (0, {}))
            if not self.binner.is_repeat(message):
                weight = min(MAX_MESSAGE_WEIGHT, sum(self.binner.lexicon.terms(message).values()))
                weights[message.author_id] = max(weights.get(message.author_id, 0.0), weight)
            self.bins[second] = (count + 1, weights)
            touched.add(second)
            self.archive.append(archive_line(message))
            self.recent.append(message)
            self.new_authors.add(message.author_id)
        self.unflushed += len(messages)
        return touched

    def second_bin(self, second: int) -> SecondBin:
        count, weights = self.bins.get(second, (0, {}))
        return SecondBin(second, count, len(weights), round(sum(weights.values()), 3))

    def track(self, until: int) -> list[Spike]:
        """Give the tracker every second up to `until` (seconds later than that may still get
        late messages); the spikes that ended, described from the recent messages."""
        found: list[Spike] = []
        for second in range(max(self.tracked_to + 1, until - TRACK_CATCH_UP_S), until + 1):
            found += self.tracker.add(self.second_bin(second))
        self.tracked_to = max(self.tracked_to, until)
        return [describe(spike, self.recent, self.terms) for spike in found]

    def prune(self, keep_after: int) -> None:
        for second in [s for s in self.bins if s < keep_after]:
            del self.bins[second]


SourceFactory = Callable[[LiveRef, Capture], Source]
LexiconLoader = Callable[[str], Mapping[str, float]]  # creator id → their chat lexicon


class Listener:
    def __init__(
        self,
        redis: Any,
        sink: StreamSink,
        archive: Archive,
        settings: ListenerSettings | None = None,
        source_factory: SourceFactory | None = None,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
        lexicons: LexiconLoader | None = None,
    ) -> None:
        self.redis = redis
        self.lexicons = lexicons
        self.sink = sink
        self.archive = archive
        self.settings = settings or ListenerSettings()
        self.source_factory = source_factory or self._default_source
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.captures: dict[str, Capture] = {}

    # --- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a Redis or AWS hiccup must not end the process
                log.exception("listener tick failed")
            stop.wait(self.settings.tick_s)
        self.shutdown()

    def tick(self) -> None:
        now = self.clock()
        live = {ref.name: ref for ref in live_store.live_streams(self.redis)}
        for name in list(self.captures):
            if name not in live:
                self._finish(self.captures.pop(name), release=True)
            elif not live_store.renew_lease(
                self.redis, self.captures[name].ref, self.owner, self.settings.lease_ms
            ):
                log.warning("lost the lease of %s: another listener has it", name)
                self._finish(self.captures.pop(name), release=False)
        for name, ref in live.items():
            if name not in self.captures:
                self._try_take(ref, now)
        for capture in list(self.captures.values()):
            self._restart_if_crashed(capture, now)
            self._process(capture, now)

    def shutdown(self) -> None:
        """Stop every capture, write what's pending, and let the leases go."""
        for name in list(self.captures):
            self._finish(self.captures.pop(name), release=True)

    # --- taking and giving up streams ---------------------------------------------------------
    def _try_take(self, ref: LiveRef, now: float) -> None:
        if not live_store.acquire_lease(self.redis, ref, self.owner, self.settings.lease_ms):
            return
        capture = Capture(ref, now, self._lexicon(ref.cid))
        heard = live_store.last_heard(self.redis, ref)
        if heard is not None and now > heard:  # a listener had it and stopped: a takeover
            capture.gaps.append((heard, now))
            self._seed_tracker(capture, now)
        live_store.mark_heard(self.redis, ref, now)
        self._start_source(capture)
        self.captures[ref.name] = capture
        log.info("listening to %s (%s %s)", ref.name, ref.source, ref.channel)

    def _lexicon(self, cid: str) -> Mapping[str, float]:
        """The creator's lexicon; the default one if it can't be read (capture goes on)."""
        if self.lexicons is None:
            return DEFAULT_LEXICON
        try:
            return self.lexicons(cid)
        except Exception:
            log.exception("could not read the chat lexicon of %s; using the default", cid)
            return DEFAULT_LEXICON

    def _start_source(self, capture: Capture) -> None:
        source = self.source_factory(capture.ref, capture)
        capture.source = source
        capture.thread = threading.Thread(
            target=self._run_source,
            args=(capture, source),
            daemon=True,
            name=f"chat-{capture.ref.name}",
        )
        capture.thread.start()

    def _run_source(self, capture: Capture, source: Source) -> None:
        """The source thread: an exception is noted (the tick restarts the source and records
        the gap) instead of silently ending capture while the lease is still renewed."""
        try:
            source.run()
        except Exception:
            log.exception("chat capture of %s failed; it will be restarted", capture.ref.name)
            capture.crashed(self.clock())

    def _restart_if_crashed(self, capture: Capture, now: float) -> None:
        with capture.lock:
            crashed_at, crashes = capture.crashed_at, capture.crashes
        if crashed_at is None or now < crashed_at + min(2.0 ** (crashes - 1), RESTART_MAX_S):
            return
        with capture.lock:
            capture.crashed_at = None
            capture.gaps.append((crashed_at, now))
        log.info("restarting the chat capture of %s", capture.ref.name)
        self._start_source(capture)

    def _seed_tracker(self, capture: Capture, now: float) -> None:
        """After a takeover the spike baseline goes on from the bins the last listener wrote."""
        ref = capture.ref
        since = int(now - ref.started_at) - BASELINE_S - LATE_S
        for b in live_store.recent_bins(self.redis, ref.cid, ref.sid, since):
            capture.tracker.add(b)
            capture.tracked_to = b.second

    def _finish(self, capture: Capture, release: bool) -> None:
        if capture.source is not None:
            capture.source.stop()
        if capture.thread is not None:
            capture.thread.join(timeout=5)
        with capture.lock:
            if capture.crashed_at is not None:  # down since then, never restarted
                capture.gaps.append((capture.crashed_at, self.clock()))
                capture.crashed_at = None
        self._process(capture, self.clock(), final=True)
        if release:
            live_store.release_lease(self.redis, capture.ref, self.owner)

    # --- messages -----------------------------------------------------------------------------
    def _process(self, capture: Capture, now: float, final: bool = False) -> None:
        ref = capture.ref
        inbox, gaps, notice = capture.take()
        fresh = live_store.first_seen(self.redis, ref, inbox)
        touched = capture.fold(fresh)
        live_store.write_bins(self.redis, ref, [capture.second_bin(s) for s in sorted(touched)])
        stream_second = math.floor(now - ref.started_at)
        spikes = capture.track(stream_second - LATE_S)
        if final:
            spikes += [describe(spike, capture.recent) for spike in capture.tracker.finish()]
        for spike in spikes:
            live_store.add_live_spike(self.redis, ref, spike)
            capture.spikes.append(spike)
        capture.prune(stream_second - 2 * TRACK_CATCH_UP_S)
        for start, end in gaps:
            self.sink.record_gap(ref.cid, ref.sid, start - ref.started_at, end - ref.started_at)
        if notice is not None:
            self._notice(capture, *notice)
        if not final and not self._source_down(capture):
            live_store.mark_heard(self.redis, ref, now)
        if final or now - capture.flushed_at >= self.settings.flush_s:
            self._flush_counts(capture, now)
        if capture.archive and (
            final
            or len(capture.archive) >= self.settings.archive_max_messages
            or now - capture.archived_at >= self.settings.archive_every_s
        ):
            self._flush_archive(capture, now)

    def _notice(self, capture: Capture, ended: bool, message: str) -> None:
        ref = capture.ref
        if not ended:
            self.sink.set_quota_message(ref.cid, ref.sid, message)
            return
        try:
            self.sink.set_status(ref.cid, ref.sid, "ended", "live")
        except Exception:  # the creator ended it meanwhile: nothing to do
            log.info("stream %s was no longer live when the platform ended it", ref.name)
        live_store.remove_live(self.redis, ref.cid, ref.sid)

    def _source_down(self, capture: Capture) -> bool:
        return capture.thread is None or not capture.thread.is_alive()

    def _flush_counts(self, capture: Capture, now: float) -> None:
        """One write for the counters, one per new spike: the stream's only DynamoDB writes."""
        ref = capture.ref
        capture.flushed_at = now
        if capture.unflushed:
            new_chatters = live_store.new_chatters(self.redis, ref, sorted(capture.new_authors))
            self.sink.add_counts(ref.cid, ref.sid, capture.unflushed, new_chatters)
            capture.unflushed, capture.new_authors = 0, set()
        for spike in capture.spikes:
            self.sink.put_spike(ref.cid, ref.sid, spike)
        capture.spikes = []

    def _flush_archive(self, capture: Capture, now: float) -> None:
        ref = capture.ref
        body = gzip.compress(("\n".join(capture.archive) + "\n").encode())
        seq = live_store.next_chunk_seq(self.redis, ref)
        self.archive.put_bytes(archive_key(ref.cid, ref.sid, seq), body, "application/gzip")
        capture.archive, capture.archived_at = [], now

    # --- sources ------------------------------------------------------------------------------
    def _default_source(self, ref: LiveRef, capture: Capture) -> Source:
        if ref.source == "twitch":
            return TwitchChatClient(
                ref.channel, ref.started_at, capture.accept, capture.gap, self.settings.irc
            )
        if ref.source == "youtube":
            return YouTubeChatPoller(
                ref.channel,
                ref.started_at,
                capture.accept,
                lambda message: capture.stopped(message, ended=message == OFFLINE),
                self.settings.youtube,
                QuotaBudget(self.redis, self.settings.youtube.daily_quota),
            )
        raise ValueError(f"no live capture for source {ref.source!r}")


def run_forever() -> None:
    """`truss chat` (inside the app context): listen until SIGTERM/SIGINT, then let go cleanly
    (pending counts and chat written, leases released so another process takes over at once)."""
    from flask import current_app

    from truss.data import lexicon
    from truss.data.streams import TableSink
    from truss.extensions import get_redis, get_storage, get_table

    logging.basicConfig(format="%(asctime)s chat %(levelname)s %(message)s")
    logging.getLogger("truss").setLevel(logging.INFO)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    listener = Listener(
        get_redis(),
        TableSink(get_table()),
        get_storage(),
        ListenerSettings.from_config(current_app.config),
        lexicons=lambda cid: lexicon.get(get_table(), cid),
    )
    log.info("chat listener %s started", listener.owner)
    listener.run(stop)
