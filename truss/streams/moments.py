"""Chat spikes become clips: merge a stream's spikes into the analyzer's moments (pure).

Chat reacts a few seconds after what it reacts to, so a spike whose peak is at chat time
`offset_s` points at the video time `offset_s - lag_s`.

- A moment whose window holds that time gets a higher score and the chat's evidence at the
  front of its reason ("Chat hit 14x its normal rate; KEKW x83.", with the
  multiplication sign); it stays the analyzer's.
- A strong spike (score ≥ STRONG_SCORE, or a creator's marker) that no moment covers becomes
  a moment of its own (source `chat`): a window of the configured clip length with most of it
  before the moment (the build-up) and a few seconds after (the payoff and the reaction).
- A weak spike no moment covers is left out.

Everything is ranked by score and cut to `max_clips`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from truss.analysis.base import ClipLengths, Moment
from truss.streams.model import Spike

CHAT = "chat"
STRONG_SCORE = 60  # a lone spike at least this strong becomes a clip
MARKER_SCORE = 80  # a creator's marker ranks at least this high
CHAT_CLIP_S = 20.0  # a chat clip's length, within the configured clip lengths
AFTER_S = 5.0  # seconds of a chat clip after the moment itself
BOOST_SHARE = 0.35  # a covered moment gains this share of the spike's score
MIN_BOOST = 5
TOP_EMOTES = 2
TIMES = "\u00d7"  # the multiplication sign, as in "14x its normal rate"


@dataclass(frozen=True)
class Sourced:
    """A moment and who found it: `chat`, or "" for the analyzer that ran."""

    moment: Moment
    source: str = ""


def moment_time(spike: Spike, lag_s: float) -> float:
    """The video time a spike points at: its peak minus the reaction lag."""
    return spike.offset_s - lag_s


def is_strong(spike: Spike) -> bool:
    return spike.marker or spike.score >= STRONG_SCORE


def evidence(spike: Spike) -> str:
    """The chat's evidence, as the clip's reason starts: what a creator can check."""
    if spike.marker:
        return "You marked this moment while live."
    parts = [f"Chat hit {_times(spike.intensity)} its normal rate"]
    parts += [f"{emote} {TIMES}{count}" for emote, count in spike.top_emotes[:TOP_EMOTES]]
    return "; ".join(parts) + "."


def _times(intensity: float) -> str:
    text = f"{intensity:.0f}" if intensity >= 10 else f"{intensity:.1f}".removesuffix(".0")
    return text + TIMES


def merge(
    moments: Sequence[Moment],
    spikes: Iterable[Spike],
    lag_s: float,
    lengths: ClipLengths,
    max_clips: int,
    duration_s: float | None = None,
) -> list[Sourced]:
    """The analyzer's moments boosted by the spikes they cover, plus a moment for each
    strong spike none covers; best score first, at most `max_clips`."""
    boosts: dict[int, Spike] = {}
    lone: list[Sourced] = []
    for spike in sorted(spikes, key=lambda s: (-int(s.marker), -s.score, s.offset_s)):
        at = moment_time(spike, lag_s)
        if at < 0 or (duration_s is not None and at > duration_s):
            continue  # chat from before or after the video
        covering = _covering(moments, at)
        if covering is not None:
            boosts.setdefault(covering, spike)  # the strongest spike it covers
        elif is_strong(spike) and not any(_covers(s.moment, at) for s in lone):
            lone.append(Sourced(chat_moment(spike, at, lengths, duration_s), CHAT))
    merged = [
        Sourced(boosted(moment, boosts[i]) if i in boosts else moment)
        for i, moment in enumerate(moments)
    ]
    merged += lone
    merged.sort(key=lambda s: (-s.moment.score, s.moment.start))
    return merged[:max_clips]


def _covers(moment: Moment, at: float) -> bool:
    return moment.start <= at <= moment.end


def _covering(moments: Sequence[Moment], at: float) -> int | None:
    """The index of the best-scored moment whose window holds `at`."""
    found = [i for i, moment in enumerate(moments) if _covers(moment, at)]
    return max(found, key=lambda i: moments[i].score) if found else None


def boosted(moment: Moment, spike: Spike) -> Moment:
    """The moment with a higher score and the chat's evidence first in its reason."""
    gain = max(MIN_BOOST, round(spike.score * BOOST_SHARE))
    score = max(moment.score + gain, MARKER_SCORE if spike.marker else 0)
    reason = f"{evidence(spike)} {moment.reason}".strip()
    return replace(moment, score=min(100, score), reason=reason)


def chat_window(at: float, lengths: ClipLengths, duration_s: float | None) -> tuple[float, float]:
    """A clip-length window around video time `at`: a few seconds after it, the rest before;
    moved (not shortened) to fit inside the video where it can."""
    length = min(max(CHAT_CLIP_S, lengths.min_s), lengths.max_s)
    after = min(AFTER_S, length / 3)
    start, end = at - (length - after), at + after
    if duration_s is not None and end > duration_s:
        start, end = start - (end - duration_s), duration_s
    if start < 0:
        start, end = 0.0, end - start
    if duration_s is not None:
        end = min(end, duration_s)
    return round(start, 3), round(end, 3)


def chat_moment(spike: Spike, at: float, lengths: ClipLengths, duration_s: float | None) -> Moment:
    """A moment of its own for a strong spike no analyzer moment covers."""
    start, end = chat_window(at, lengths, duration_s)
    minutes, seconds = divmod(int(at), 60)
    what = "Your marked moment" if spike.marker else "Chat exploded"
    score = max(spike.score, MARKER_SCORE) if spike.marker else spike.score
    return Moment(
        start=start,
        end=end,
        title=f"{what} at {minutes}:{seconds:02d}",
        hook=spike.samples[0] if spike.samples else "",
        score=score,
        reason=evidence(spike),
    )


def chat_rate(
    spikes: Iterable[Spike], bin_s: float, count: int, pulse_s: float = 2.0
) -> list[float]:
    """A chat-rate curve rebuilt from spikes alone (the per-second counts live only while the
    stream is live), on the video's bin grid (count bins of bin_s seconds): the usual rate
    (1) everywhere, and each spike's intensity for `pulse_s` from its peak, so the curve's
    rises are at the spikes' peaks (the offsets the lag is measured from). Markers say
    nothing about chat and are left out."""
    rate = [1.0] * count
    for spike in spikes:
        if spike.marker or spike.intensity <= 1:
            continue
        first = max(0, int(spike.offset_s / bin_s))
        last = min(count, int((spike.offset_s + pulse_s) / bin_s))
        for i in range(first, last):
            rate[i] = max(rate[i], spike.intensity)
    return rate
