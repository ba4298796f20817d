"""Chat spikes merged into the analyzer's moments (truss.streams.moments, pure)."""

from __future__ import annotations

from truss.analysis.base import ClipLengths, Moment
from truss.streams.model import Spike
from truss.streams.moments import CHAT, TIMES, merge

LENGTHS = ClipLengths(15, 60)
X = TIMES  # the multiplication sign


def moment(start: float, end: float, score: int, reason: str = "Loud laugh.") -> Moment:
    return Moment(start, end, f"At {start}", "hook", score, reason)


def spike(offset: float, score: int, intensity: float = 14.0, marker: bool = False) -> Spike:
    return Spike(
        offset_s=offset,
        start_s=offset - 3,
        end_s=offset + 4,
        intensity=intensity,
        score=score,
        top_emotes=(("KEKW", 83), ("LUL", 20), ("PogChamp", 4)),
        samples=("KEKW no way", "clip it"),
        marker=marker,
    )


def test_a_moment_covering_a_spike_scores_higher_with_the_chats_evidence() -> None:
    merged = merge([moment(100, 130, 50), moment(300, 330, 60)], [spike(118, 70)], 8, LENGTHS, 8)
    first = merged[0]
    assert first.moment.start == 100 and first.source == ""  # still the analyzer's moment
    assert first.moment.score > 60  # now above the moment chat didn't react to
    assert first.moment.reason.startswith(f"Chat hit 14{X} its normal rate; KEKW {X}83; LUL {X}20.")
    assert "Loud laugh." in first.moment.reason
    assert merged[1].moment.reason == "Loud laugh."  # untouched
    assert len(merged) == 2  # a covered spike makes no clip of its own


def test_a_strong_lone_spike_becomes_a_chat_clip_just_before_the_reaction() -> None:
    merged = merge([moment(10, 40, 55)], [spike(608, 75, intensity=6.5)], 8, LENGTHS, 8)
    chat = [s for s in merged if s.source == CHAT]
    assert len(chat) == 1
    clip = chat[0].moment
    assert clip.start < 600 < clip.end  # the moment itself, 8 s before chat's peak
    assert 600 - clip.start > clip.end - 600  # mostly build-up, a few seconds after
    assert LENGTHS.min_s <= clip.end - clip.start <= LENGTHS.max_s
    assert clip.score == 75
    assert clip.reason == f"Chat hit 6.5{X} its normal rate; KEKW {X}83; LUL {X}20."
    assert clip.title == "Chat exploded at 10:00"
    assert [s.moment.score for s in merged] == [75, 55]  # ranked by score


def test_a_weak_lone_spike_makes_no_clip() -> None:
    merged = merge([moment(10, 40, 55)], [spike(608, 30, intensity=2.5)], 8, LENGTHS, 8)
    assert [s.source for s in merged] == [""]
    assert merged[0].moment.reason == "Loud laugh."


def test_the_lag_decides_which_moment_a_spike_belongs_to() -> None:
    moments = [moment(100, 120, 50), moment(125, 150, 50)]
    early = merge(moments, [spike(128, 70)], 12, LENGTHS, 8)  # points at 116
    late = merge(moments, [spike(128, 70)], 0, LENGTHS, 8)  # points at 128
    assert early[0].moment.start == 100 and early[0].moment.reason.startswith("Chat hit")
    assert late[0].moment.start == 125 and late[0].moment.reason.startswith("Chat hit")


def test_the_lag_shifts_a_chat_clips_window() -> None:
    no_lag = merge([], [spike(500, 80)], 0, LENGTHS, 8)[0].moment
    lagged = merge([], [spike(500, 80)], 10, LENGTHS, 8)[0].moment
    assert (no_lag.start - lagged.start, no_lag.end - lagged.end) == (10, 10)


def test_a_marker_is_a_strong_spike_and_ranks_high() -> None:
    marked = spike(200, 10, intensity=1.0, marker=True)
    merged = merge([moment(10, 40, 70)], [marked], 0, LENGTHS, 8)
    assert merged[0].source == CHAT and merged[0].moment.score >= 80
    assert merged[0].moment.reason == "You marked this moment while live."


def test_chat_clips_stay_inside_the_video_and_within_max_clips() -> None:
    near_end = merge([], [spike(99, 90)], 0, LENGTHS, 8, duration_s=100)[0].moment
    assert near_end.end == 100 and near_end.end - near_end.start >= LENGTHS.min_s
    near_start = merge([], [spike(3, 90)], 0, LENGTHS, 8, duration_s=100)[0].moment
    assert near_start.start == 0 and near_start.end - near_start.start >= LENGTHS.min_s
    past_end = merge([], [spike(130, 90)], 0, LENGTHS, 8, duration_s=100)
    assert past_end == []  # chat after the video ended has no picture to clip
    many = merge([moment(0, 20, 10)], [spike(100 * i, 90) for i in range(1, 20)], 0, LENGTHS, 5)
    assert len(many) == 5 and all(s.source == CHAT for s in many)


def test_spikes_close_together_make_one_chat_clip() -> None:
    merged = merge([], [spike(300, 70), spike(304, 90)], 0, LENGTHS, 8)
    assert len(merged) == 1 and merged[0].moment.score == 90
