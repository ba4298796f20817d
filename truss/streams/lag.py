"""Reaction lag: how many seconds chat reacts after the moment, estimated from the video.

Chat types after it sees something, and the stream reaches viewers a few seconds late, so a
chat spike comes some seconds after its moment. Without the video we use `DEFAULT_LAG_S`. With
it, the lag is the shift that best lines the chat-rate curve up with the video's loudness curve
(the signal analyzer's `Signals.loudness_db`, one value per `bin_s`):

1. Both curves become *onset* curves: how far each bin rises above the mean of the
   `ONSET_S` seconds before it (a laugh, a scream, an explosion; chat bursting), never below 0.
   Chat's rate is taken as log(1 + rate) so one giant spike doesn't decide alone.
2. Each onset curve is normalised (mean 0, spread 1), and their correlation computed at every
   shift of chat against the video within +-`max_lag_s`.
3. The lag is the best shift with chat *after* the video (lag >= 0). The confidence says how
   far that correlation stands above the correlations at the other shifts (in spreads: a
   clear, isolated peak is confident; a flat or noisy curve is not) and is 0 when the best
   correlation is weak (unrelated curves reach about `NOISE_Z` spreads by chance; an aligned
   pair `CONFIDENT_Z` and more). Below `MIN_CONFIDENCE`, callers keep the default lag
   (`lag_to_use`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from truss.streams.model import SecondBin

DEFAULT_LAG_S = 6.0
MAX_LAG_S = 30.0
MIN_CONFIDENCE = 0.5
ONSET_S = 3.0  # an onset is a rise over the mean of this many seconds before
MIN_CORRELATION = 0.1  # weaker than this at the best shift: no confidence at all
EXCLUDE_S = 3.0  # shifts this close to the best are its own peak, not the background
NOISE_Z = 4.0  # unrelated curves' best shift stands up to about this many spreads out
CONFIDENT_Z = 8.0  # the peak this many spreads above the other shifts: full confidence
MIN_BINS = 60  # fewer overlapping bins than this: no estimate


@dataclass(frozen=True)
class LagEstimate:
    lag_s: float  # chat comes this many seconds after the moment
    confidence: float  # 0-1; below MIN_CONFIDENCE keep the default


def lag_to_use(estimate: LagEstimate | None, default: float = DEFAULT_LAG_S) -> float:
    """The estimated lag when it is confident enough, else the default."""
    if estimate is None or estimate.confidence < MIN_CONFIDENCE:
        return default
    return estimate.lag_s


def chat_rate(bins: Sequence[SecondBin], bin_s: float, count: int) -> list[float]:
    """Messages per second on the video's bin grid (count bins of bin_s seconds), from 1-second
    chat bins (a 1-second bin spreads evenly over the video bins it covers)."""
    rate = [0.0] * count
    for b in bins:
        first, last = int(b.second / bin_s), int((b.second + 1) / bin_s - 1e-9)
        for i in range(max(0, first), min(count - 1, last) + 1):
            rate[i] += b.messages
    return rate


def estimate_lag(
    chat_rate: Sequence[float],
    loudness: Sequence[float],
    bin_s: float,
    max_lag_s: float = MAX_LAG_S,
) -> LagEstimate:
    """The shift (seconds, chat after the video) that best aligns chat with loudness."""
    n = min(len(chat_rate), len(loudness))
    max_shift = round(max_lag_s / bin_s)
    if n - max_shift < MIN_BINS:
        return LagEstimate(DEFAULT_LAG_S, 0.0)
    back = max(1, round(ONSET_S / bin_s))
    chat = _normalised(_onsets([math.log1p(max(0.0, r)) for r in chat_rate[:n]], back))
    loud = _normalised(_onsets(list(loudness[:n]), back))
    if chat is None or loud is None:
        return LagEstimate(DEFAULT_LAG_S, 0.0)
    shifts = range(-max_shift, max_shift + 1)
    corr = {s: _correlation(chat, loud, s) for s in shifts}
    best = max((s for s in shifts if s >= 0), key=lambda s: (corr[s], -s))
    return LagEstimate(round(best * bin_s, 2), _confidence(corr, best, bin_s))


def _onsets(values: list[float], back: int) -> list[float]:
    """How far each value rises above the mean of the `back` values before it (>= 0)."""
    out = [0.0] * len(values)
    window = sum(values[:back])
    for i in range(back, len(values)):
        out[i] = max(0.0, values[i] - window / back)
        window += values[i] - values[i - back]
    return out


def _normalised(values: list[float]) -> list[float] | None:
    """Mean 0, standard deviation 1; None for a flat curve (nothing to align)."""
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if spread < 1e-9:
        return None
    return [(v - mean) / spread for v in values]


def _correlation(chat: list[float], loud: list[float], shift: int) -> float:
    """Correlation of chat[i + shift] with loud[i] over their overlap."""
    n = len(chat)
    lo, hi = max(0, -shift), min(n, n - shift)
    if hi - lo < 2:
        return 0.0
    return sum(chat[i + shift] * loud[i] for i in range(lo, hi)) / (hi - lo)


def _confidence(corr: dict[int, float], best: int, bin_s: float) -> float:
    """How far the best shift's correlation stands above the others', 0-1."""
    peak = corr[best]
    if peak < MIN_CORRELATION:
        return 0.0
    near = EXCLUDE_S / bin_s
    others = [c for s, c in corr.items() if abs(s - best) > near]
    if len(others) < 2:
        return 0.0
    mean = sum(others) / len(others)
    spread = math.sqrt(sum((c - mean) ** 2 for c in others) / len(others))
    z = (peak - mean) / max(spread, 1e-6)
    return round(max(0.0, min(1.0, (z - NOISE_Z) / (CONFIDENT_Z - NOISE_Z))), 2)
