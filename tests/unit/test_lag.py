"""Reaction lag: chat's rate lined up with the video's loudness recovers how late chat reacts."""

from __future__ import annotations

import math
import random

import pytest

from truss.media import BIN_S, SILENCE_DB
from truss.streams.lag import (
    DEFAULT_LAG_S,
    MIN_CONFIDENCE,
    LagEstimate,
    chat_rate,
    estimate_lag,
    lag_to_use,
)
from truss.streams.model import SecondBin


def _curves(
    seed: int, lag_s: float, bin_s: float = BIN_S, minutes: int = 20, related: bool = True
) -> tuple[list[float], list[float]]:
    """A video's loudness (loud moments over a noisy floor) and chat's rate: bursts some
    seconds after most loud moments (or, unrelated, at times of their own)."""
    rng = random.Random(seed)
    n = int(minutes * 60 / bin_s)
    moments = sorted(rng.uniform(30, minutes * 60 - 40) for _ in range(minutes * 2))
    loud = [-30 + rng.gauss(0, 2) for _ in range(n)]
    for t in moments:
        for i in range(int(t / bin_s), min(n, int((t + rng.uniform(1, 3)) / bin_s))):
            loud[i] += 15
    if related:
        reactions = [t + lag_s + rng.uniform(-1, 1) for t in moments if rng.random() < 0.8]
    else:
        reactions = [rng.uniform(30, minutes * 60 - 40) for _ in moments]
    rate = [max(0.0, 3 + rng.gauss(0, 1.5)) for _ in range(n)]
    for t in reactions:
        size = rng.uniform(5, 20)
        for i in range(int(t / bin_s), min(n, int((t + 20) / bin_s))):
            rate[i] += size * math.exp(-(i * bin_s - t) / 4)
    return rate, loud


@pytest.mark.parametrize("seed", range(4))
def test_a_planted_8_second_lag_is_recovered(seed: int) -> None:
    rate, loud = _curves(seed, 8.0)
    estimate = estimate_lag(rate, loud, BIN_S)
    assert estimate.lag_s == pytest.approx(8.0, abs=1.0)
    assert estimate.confidence >= MIN_CONFIDENCE
    assert lag_to_use(estimate) == estimate.lag_s


def test_other_lags_and_one_second_bins() -> None:
    for lag in (2.0, 15.0, 27.0):
        rate, loud = _curves(7, lag, bin_s=1.0)
        assert estimate_lag(rate, loud, 1.0).lag_s == pytest.approx(lag, abs=1.0)


@pytest.mark.parametrize("seed", range(6))
def test_unrelated_curves_give_low_confidence_and_the_default_lag(seed: int) -> None:
    rate, loud = _curves(seed, 8.0, related=False)
    estimate = estimate_lag(rate, loud, BIN_S)
    assert estimate.confidence < MIN_CONFIDENCE
    assert lag_to_use(estimate) == DEFAULT_LAG_S


def test_a_silent_video_or_a_short_one_gives_no_estimate() -> None:
    rate, _ = _curves(1, 8.0)
    assert estimate_lag(rate, [SILENCE_DB] * len(rate), BIN_S).confidence == 0
    assert estimate_lag(rate[:100], rate[:100], BIN_S).confidence == 0
    assert lag_to_use(None) == DEFAULT_LAG_S
    assert lag_to_use(LagEstimate(12.0, 0.9), default=4.0) == 12.0


def test_chat_rate_lands_on_the_videos_bins() -> None:
    bins = [SecondBin(0, 4, 4, 0.0), SecondBin(2, 6, 5, 1.0)]
    assert chat_rate(bins, 0.5, 6) == [4.0, 4.0, 0.0, 0.0, 6.0, 6.0]
    assert chat_rate(bins, 1.0, 2) == [4.0, 0.0]  # bins past the video are left out
