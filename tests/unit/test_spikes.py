"""Spike detection on generated chat: planted spikes found, raids, spam and growth ignored."""

from __future__ import annotations

from functools import cache

import pytest

from tests.support.chat_traces import SPAM, Trace, chat_trace, match
from truss.streams.model import ChatMessage, SecondBin, Spike
from truss.streams.spikes import (
    DEFAULT_LEXICON,
    MERGE_S,
    SpikeTracker,
    bin_messages,
    describe,
    find_spikes,
)

SEEDS = range(1, 9)


@cache
def _trace(seed: int) -> Trace:
    return chat_trace(seed)


@cache
def _found(seed: int) -> tuple[Spike, ...]:
    return tuple(find_spikes(bin_messages(_trace(seed).messages)))


def _message(n: int, offset: float, author: str, text: str) -> ChatMessage:
    return ChatMessage(id=str(n), offset_s=offset, author_id=author, author=author, text=text)


def test_planted_spikes_are_found_at_their_time_and_little_else() -> None:
    hits = found = recalled = planted = 0
    for seed in SEEDS:
        spikes, trace = list(_found(seed)), _trace(seed)
        h, r = match(spikes, trace.planted, tolerance=2.0)
        hits, found, recalled, planted = hits + h, found + len(spikes), recalled + r, planted + 8
        assert r >= len(trace.planted) - 1, (seed, trace.planted, spikes)
    assert hits / found >= 0.9, f"precision {hits}/{found}"
    assert recalled / planted >= 0.9, f"recall {recalled}/{planted}"


def test_no_spike_where_the_raid_arrives_or_the_spam_bot_posts() -> None:
    for seed in SEEDS:
        trace = _trace(seed)
        assert trace.raid_at is not None and trace.spam_at is not None
        spam_from, spam_to = trace.spam_at
        for spike in _found(seed):
            assert not trace.raid_at - 5 <= spike.offset_s <= trace.raid_at + 90, (seed, spike)
            assert not spam_from - 5 <= spike.offset_s <= spam_to + 5, (seed, spike)


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_a_raid_a_spam_bot_and_a_growing_chat_make_no_spike(seed: int) -> None:
    trace = chat_trace(seed, spikes=0, bursts_on=False)
    assert find_spikes(bin_messages(trace.messages)) == []


def test_a_spam_bot_is_one_quiet_chatter() -> None:
    spam = [_message(n, 10 + n / 8, "bot", SPAM) for n in range(40)]  # 8 a second for 5 s
    real = [_message(100, 10.5, "ann", "KEKW"), _message(101, 11.5, "bob", "KEKW")]
    bins = {b.second: b for b in bin_messages(spam + real)}
    assert [bins[s].messages for s in range(10, 15)] == [9, 9, 8, 8, 8]
    assert [bins[s].chatters for s in range(10, 15)] == [2, 1, 0, 0, 0]
    first = DEFAULT_LEXICON["PogChamp"] + DEFAULT_LEXICON["clip it"]  # the bot's first message
    assert bins[10].weight == pytest.approx(first + DEFAULT_LEXICON["KEKW"])
    assert bins[12].weight == 0


def test_lexicon_weighs_reactions_over_talk() -> None:
    [laugh, clip, kappa, talk] = bin_messages(
        [
            _message(1, 0.1, "a", "KEKW KEKW KEKW"),
            _message(2, 1.1, "b", "someone CLIP   IT please"),
            _message(3, 2.1, "c", "Kappa"),
            _message(4, 3.1, "d", "what a nice day"),
        ]
    )
    assert laugh.weight == DEFAULT_LEXICON["KEKW"]  # a term counts once a message
    assert clip.weight == DEFAULT_LEXICON["clip it"]
    assert 0 < kappa.weight < laugh.weight
    assert talk.weight == 0
    assert [b.second for b in (laugh, clip, kappa, talk)] == [0, 1, 2, 3]


def test_platform_tagged_emotes_count() -> None:
    tagged = ChatMessage("1", 0.5, "a", "a", "pogchamp!", emotes=("PogChamp",))
    assert bin_messages([tagged])[0].weight == DEFAULT_LEXICON["PogChamp"]


def test_live_tracker_finds_the_same_spikes_once_each_has_ended() -> None:
    bins = bin_messages(_trace(3).messages)
    tracker, live = SpikeTracker(), []
    for b in bins:
        for spike in tracker.add(b):
            assert b.second >= spike.end_s + MERGE_S - 1  # only once it ended and can't merge
            assert b.second <= spike.end_s + MERGE_S + 1  # and not much later
            live.append(spike)
    live += tracker.finish()
    assert live == find_spikes(bins)
    assert len(live) >= 7


def test_live_tracker_takes_seconds_without_chat_as_silent() -> None:
    bins = bin_messages(_trace(5).messages)
    sparse = [b for b in bins if b.messages]  # a live aggregator may skip empty seconds
    assert find_spikes(sparse) == find_spikes(bins)


def test_a_spike_at_the_very_end_is_reported_when_the_stream_ends() -> None:
    quiet = [SecondBin(s, 3, 3, 0.0) for s in range(200)]
    burst = [SecondBin(s, 30, 30, 20.0) for s in range(200, 206)]
    tracker = SpikeTracker()
    assert [s for b in quiet + burst for s in tracker.add(b)] == []
    [spike] = tracker.finish()
    assert 199 <= spike.offset_s <= 202 and spike.end_s == 206
    assert spike.intensity == pytest.approx(10.0)


def test_a_few_messages_in_a_dead_chat_are_no_spike() -> None:
    bins = [SecondBin(s, 0, 0, 0.0) for s in range(300)]
    bins[150] = SecondBin(150, 2, 2, 1.0)
    assert find_spikes(bins) == []


def test_spike_figures_say_how_big_it_was() -> None:
    trace = _trace(2)
    spikes = _found(2)
    for spike in spikes:
        assert spike.start_s <= spike.offset_s < spike.end_s
        assert 0 <= spike.score <= 100
    planted = [s for s in spikes if any(abs(s.offset_s - t) <= 2 for t in trace.planted)]
    assert all(s.intensity >= 2 for s in planted)
    assert min(s.score for s in planted) >= 30
    big, small = max(planted, key=lambda s: s.intensity), min(planted, key=lambda s: s.intensity)
    assert big.score > small.score


def test_describe_names_the_top_emotes_and_quotes_the_peak() -> None:
    msgs = [
        _message(n, 50 + n / 10, f"u{n}", "KEKW" if n % 3 else "OMEGALUL clip it")
        for n in range(30)
    ]
    msgs += [_message(100 + n, 51 + n / 10, "bot", SPAM) for n in range(20)]
    msgs += [_message(200, 10.0, "early", "KEKW before the spike")]
    spike = Spike(offset_s=52.0, start_s=50.0, end_s=54.0, intensity=8.0, score=70)
    described = describe(spike, msgs)
    # the bot's message counts once: its first
    assert described.top_emotes[:3] == (("KEKW", 20), ("clip it", 11), ("OMEGALUL", 10))
    assert ("PogChamp", 1) in described.top_emotes
    assert 1 <= len(described.samples) <= 5
    assert len(set(described.samples)) == len(described.samples)
    assert "KEKW before the spike" not in described.samples
    assert described.offset_s == spike.offset_s and described.score == 70
