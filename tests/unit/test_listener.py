"""The live chat listener: one listener per stream, nothing lost or counted twice, gaps shown."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator

import fakeredis
import pytest

from tests.support.fake_twitch_irc import FakeTwitchIrc
from tests.support.fake_youtube_chat import FakeYouTubeChat
from tests.support.listener_fakes import (
    STARTED,
    Clock,
    MemoryArchive,
    MemorySink,
    ScriptedSource,
    scripted,
)
from tests.support.waits import wait_until
from truss.streams import live_store
from truss.streams.listener import Capture, Listener, ListenerSettings
from truss.streams.live_store import LiveRef
from truss.streams.model import ChatMessage
from truss.streams.twitch_irc import IrcSettings
from truss.streams.youtube_chat import YouTubeSettings


def ticking(listener: Listener, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Tick the listener until the condition holds (chat arrives on real sockets)."""

    def ticked() -> bool:
        listener.tick()
        return condition()

    wait_until(ticked, timeout, "the listener's condition", poll_s=0.01)


@pytest.fixture
def server() -> Iterator[FakeTwitchIrc]:
    with FakeTwitchIrc() as fake:
        yield fake


def twitch_listener(redis: object, server: FakeTwitchIrc, **kw: object) -> Listener:
    irc = IrcSettings(host="127.0.0.1", port=server.port, tls=False, backoff_initial_s=0.05)
    settings = ListenerSettings(flush_s=0, irc=irc)
    return Listener(redis, MemorySink(), MemoryArchive(), settings, **kw)  # type: ignore[arg-type]


def test_reconnect_mid_stream_loses_nothing_and_counts_nothing_twice(
    server: FakeTwitchIrc,
) -> None:
    redis = fakeredis.FakeRedis()
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=time.time())
    listener = twitch_listener(redis, server)
    ticking(listener, lambda: server.joined("streamer") == 1)
    sent = []
    old = server.open_clients()
    for i in range(300):
        if i == 100:
            server.reconnect(grace_s=30)
        if i >= 100:  # the old and the new connection both hear these for a while
            time.sleep(0.002)
        assert server.say("streamer", "KEKW", user=f"u{i % 7}", message_id=f"m{i}") >= 1
        sent.append(f"m{i}")
        listener.tick()
    ticking(listener, lambda: not set(old) & set(server.open_clients()))  # switched over
    for i in range(300, 320):
        assert server.say("streamer", "KEKW", user=f"u{i % 7}", message_id=f"m{i}") == 1
        sent.append(f"m{i}")
    sink = listener.sink
    assert isinstance(sink, MemorySink)
    ticking(listener, lambda: sink.messages.get("c1:s1") == 320)
    listener.shutdown()
    assert server.connections == 2
    assert sink.messages == {"c1:s1": 320}
    assert sink.gaps == {}
    assert sink.chatters == {"c1:s1": 7}
    archived = [line["id"] for line in listener.archive.lines()]  # type: ignore[attr-defined]
    assert sorted(archived) == sorted(sent)
    assert sum(b.messages for b in live_store.recent_bins(redis, "c1", "s1")) == 320


def test_lines_the_old_connection_still_gets_after_the_switch_are_kept(
    server: FakeTwitchIrc,
) -> None:
    """Twitch's connections aren't ordered with each other: the old one can deliver a line
    after the new one has joined and is being read."""
    redis = fakeredis.FakeRedis()
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=time.time())
    listener = twitch_listener(redis, server)
    sink = listener.sink
    assert isinstance(sink, MemorySink)
    ticking(listener, lambda: server.joined("streamer") == 1)
    old = server.open_clients()
    server.reconnect(grace_s=30)
    ticking(listener, lambda: server.joined("streamer") == 2)
    new = [c for c in server.open_clients() if c not in old]
    assert server.say("streamer", "on the new one", message_id="n1", to=new) == 1
    ticking(listener, lambda: sink.messages.get("c1:s1") == 1)  # the new one is being read
    assert server.say("streamer", "late on the old one", message_id="o1", to=old) == 1
    ticking(listener, lambda: sink.messages.get("c1:s1") == 2)
    ticking(listener, lambda: not set(old) & set(server.open_clients()))  # then it is closed
    listener.shutdown()
    assert sorted(line["id"] for line in listener.archive.lines()) == ["n1", "o1"]  # type: ignore[attr-defined]


def test_a_dropped_connection_records_the_gap_and_counts_nothing_twice(
    server: FakeTwitchIrc,
) -> None:
    redis = fakeredis.FakeRedis()
    started = time.time()
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=started)
    listener = twitch_listener(redis, server)
    sink = listener.sink
    assert isinstance(sink, MemorySink)
    ticking(listener, lambda: server.joined("streamer") == 1)
    for i in range(50):
        server.say("streamer", "before", message_id=f"a{i}")
    ticking(listener, lambda: sink.messages.get("c1:s1") == 50)
    server.drop_all()
    ticking(listener, lambda: server.joined("streamer") == 1)
    for i in range(50):
        server.say("streamer", "after", message_id=f"b{i}")
    ticking(listener, lambda: sink.messages.get("c1:s1") == 100 and "c1:s1" in sink.gaps)
    listener.shutdown()
    ((start, end),) = sink.gaps["c1:s1"]
    assert 0 <= start <= end <= time.time() - started  # seconds since the stream started
    assert sink.messages == {"c1:s1": 100}
    assert len(listener.archive.lines()) == 100  # type: ignore[attr-defined]


def test_only_one_of_two_listeners_captures_a_stream() -> None:
    shared = fakeredis.FakeServer()
    first, second = fakeredis.FakeRedis(server=shared), fakeredis.FakeRedis(server=shared)
    live_store.add_live(first, "c1", "s1", "twitch", "streamer", started_at=STARTED)
    log = [ChatMessage(f"m{i}", 1.0 + i / 10, f"u{i}", f"u{i}", "hi") for i in range(40)]
    listeners = [
        Listener(r, MemorySink(), MemoryArchive(), source_factory=scripted(log), owner=name)
        for r, name in ((first, "one"), (second, "two"))
    ]
    ScriptedSource.starts = []
    for _ in range(3):
        for listener in listeners:
            listener.tick()
    assert [len(listener.captures) for listener in listeners] == [1, 0]
    assert ScriptedSource.starts == ["c1:s1"]
    for listener in listeners:
        listener.shutdown()
    counted = [listener.sink.messages for listener in listeners]  # type: ignore[attr-defined]
    assert counted == [{"c1:s1": 40}, {}]


def test_a_killed_listeners_stream_is_taken_over_after_the_lease_with_the_gap() -> None:
    shared = fakeredis.FakeServer()
    clock = Clock(STARTED + 100)
    settings = ListenerSettings(lease_ms=300, flush_s=0)
    killed = Listener(
        fakeredis.FakeRedis(server=shared),
        MemorySink(),
        MemoryArchive(),
        settings,
        source_factory=scripted([]),
        clock=clock,
        owner="killed",
    )
    heir = Listener(
        fakeredis.FakeRedis(server=shared),
        MemorySink(),
        MemoryArchive(),
        settings,
        source_factory=scripted([]),
        clock=clock,
        owner="heir",
    )
    live_store.add_live(killed.redis, "c1", "s1", "twitch", "streamer", started_at=STARTED)
    killed.tick()
    heir.tick()
    assert list(killed.captures) == ["c1:s1"] and heir.captures == {}
    # SIGKILL: `killed` never ticks again and never releases its lease.
    clock.now = STARTED + 112
    ticking(heir, lambda: "c1:s1" in heir.captures, timeout=5)
    heir.shutdown()
    assert heir.sink.gaps == {"c1:s1": [(100.0, 112.0)]}  # type: ignore[attr-defined]
    assert live_store.lease_owner(heir.redis, LiveRef("c1", "s1", "", "", 0)) is None


def test_an_ended_stream_is_flushed_and_let_go() -> None:
    redis = fakeredis.FakeRedis()
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=STARTED)
    log = [ChatMessage(f"m{i}", i / 4, "a", "a", "hi") for i in range(10)]
    listener = Listener(redis, MemorySink(), MemoryArchive(), source_factory=scripted(log))
    ticking(listener, lambda: bool(listener.captures))
    live_store.remove_live(redis, "c1", "s1")
    listener.tick()
    assert listener.captures == {}
    assert listener.sink.messages == {"c1:s1": 10}  # type: ignore[attr-defined]
    assert len(listener.archive.lines()) == 10  # type: ignore[attr-defined]


def chat_trace(seconds: int, spike_at: int, seed: int = 7) -> list[ChatMessage]:
    rng = random.Random(seed)
    log = []
    for second in range(seconds):
        burst = spike_at <= second < spike_at + 6
        for n in range(40 if burst else rng.randint(1, 4)):
            text = "KEKW KEKW" if burst else rng.choice(["hi", "gg", "what", "lol ok"])
            author = f"v{rng.randint(0, 400)}"
            log.append(ChatMessage(f"{second}-{n}", second + rng.random(), author, author, text))
    return log


def test_spikes_are_found_live_and_written_in_batches() -> None:
    redis = fakeredis.FakeRedis()
    clock = Clock(STARTED)
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=STARTED)
    log = chat_trace(300, spike_at=150)
    settings = ListenerSettings(flush_s=10)
    listener = Listener(
        redis, MemorySink(), MemoryArchive(), settings, source_factory=scripted([]), clock=clock
    )
    listener.tick()
    capture = listener.captures["c1:s1"]
    for second in range(300):  # a second of chat each tick, as it would arrive
        clock.now = STARTED + second + 1
        capture.accept([m for m in log if second <= m.offset_s < second + 1])
        listener.tick()
    clock.now = STARTED + 320
    listener.tick()
    listener.shutdown()
    sink = listener.sink
    assert isinstance(sink, MemorySink)
    (spike,) = sink.spikes["c1:s1"]
    assert 148 <= spike.offset_s <= 156
    assert spike.top_emotes[0][0] == "KEKW"
    assert [s.offset_s for s in live_store.live_spikes(redis, "c1", "s1")] == [spike.offset_s]
    assert sink.messages == {"c1:s1": len(log)}
    # one counters write per 10 s of chat, one per spike: never one per message
    assert sink.writes <= 300 / 10 + 2 + 1


def test_youtube_going_offline_ends_the_stream() -> None:
    redis = fakeredis.FakeRedis()
    with FakeYouTubeChat(polling_ms=50) as youtube:
        youtube.say("hello")
        settings = ListenerSettings(
            flush_s=0, youtube=YouTubeSettings(api_key="k", api_base=youtube.base)
        )
        listener = Listener(redis, MemorySink(), MemoryArchive(), settings)
        live_store.add_live(redis, "c1", "s1", "youtube", youtube.video_id, started_at=STARTED)
        sink = listener.sink
        assert isinstance(sink, MemorySink)
        ticking(listener, lambda: youtube.list_calls >= 1)
        youtube.go_offline()
        ticking(listener, lambda: "c1:s1" in sink.statuses)
    assert sink.statuses == {"c1:s1": [("live", "ended")]}
    assert live_store.live_streams(redis) == []
    listener.tick()
    assert listener.captures == {}
    assert sink.messages == {"c1:s1": 1}


def test_the_stream_item_gets_counters_and_gaps_through_the_table_sink(app: object) -> None:
    from truss.data import streams as data
    from truss.data.streams import TableSink
    from truss.extensions import get_table

    with app.app_context():  # type: ignore[attr-defined]
        table = get_table()
        stream = data.create(table, "c1", "twitch", "streamer")
        data.set_status(table, "c1", stream.id, data.LIVE, data.WAITING)
        redis = fakeredis.FakeRedis()
        clock = Clock(STARTED + 5)
        live_store.add_live(redis, "c1", stream.id, "twitch", "streamer", started_at=STARTED)
        live_store.mark_heard(redis, LiveRef("c1", stream.id, "", "", STARTED), STARTED + 2)
        log = [ChatMessage(f"m{i}", 3 + i / 10, f"u{i % 3}", "u", "hi") for i in range(12)]
        listener = Listener(
            redis, TableSink(table), MemoryArchive(), source_factory=scripted(log), clock=clock
        )
        ticking(listener, lambda: bool(listener.captures))
        listener.shutdown()
        stored = data.get(table, "c1", stream.id)
    assert (stored.messages, stored.chatters) == (12, 3)
    assert [(g.start_s, g.end_s) for g in stored.gaps] == [(2.0, 5.0)]


def test_youtube_over_its_daily_budget_stops_with_a_message_on_the_stream() -> None:
    redis = fakeredis.FakeRedis()
    with FakeYouTubeChat(polling_ms=50) as youtube:
        youtube.say("hello")
        settings = ListenerSettings(
            flush_s=0,
            youtube=YouTubeSettings(api_key="k", api_base=youtube.base, daily_quota=11),
        )
        listener = Listener(redis, MemorySink(), MemoryArchive(), settings)
        live_store.add_live(redis, "c1", "s1", "youtube", youtube.video_id, started_at=STARTED)
        sink = listener.sink
        assert isinstance(sink, MemorySink)
        ticking(listener, lambda: "c1:s1" in sink.notices)
        listener.shutdown()
    (notice,) = sink.notices["c1:s1"]
    assert "(11 units) is used up" in notice
    assert youtube.list_calls == 2  # 1 + 2 * 5 = 11 units; a third call would pass the budget
    assert sink.messages == {"c1:s1": 1}
    assert "c1:s1" not in sink.statuses  # still live: the creator ends it


class FlakySource:
    """Raises on its first run (a bug on some odd input); the restarted source reads chat."""

    runs = 0

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.stopped = threading.Event()

    def run(self) -> None:
        FlakySource.runs += 1
        if FlakySource.runs == 1:
            raise ValueError("invalid literal for int() with base 10: '²'")
        self.capture.accept([ChatMessage("m1", 106.0, "a", "a", "back")])
        self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


def test_a_source_that_raises_is_restarted_and_the_gap_recorded() -> None:
    redis = fakeredis.FakeRedis()
    clock = Clock(STARTED + 100)
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=STARTED)
    FlakySource.runs = 0
    listener = Listener(
        redis,
        MemorySink(),
        MemoryArchive(),
        ListenerSettings(flush_s=0),
        source_factory=lambda ref, capture: FlakySource(capture),
        clock=clock,
    )
    listener.tick()
    capture = listener.captures["c1:s1"]
    assert capture.thread is not None
    capture.thread.join(timeout=5)
    clock.now = STARTED + 105
    ticking(listener, lambda: listener.sink.messages.get("c1:s1") == 1)  # type: ignore[attr-defined]
    assert FlakySource.runs == 2
    listener.shutdown()
    assert listener.sink.gaps == {"c1:s1": [(100.0, 105.0)]}  # type: ignore[attr-defined]
