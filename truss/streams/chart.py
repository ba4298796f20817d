"""The live page's chat-rate chart: an inline SVG drawn on the server (no script, CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from truss.streams.model import SecondBin, Spike

WINDOW_S = 600  # the last 10 minutes
WIDTH = 600
HEIGHT = 120
BUCKET_S = 5  # one point per 5 seconds keeps the path short


@dataclass(frozen=True)
class Chart:
    """What the template draws: a polyline's points, spike marks, and words for screen readers."""

    points: str
    marks: tuple[float, ...]
    peak_per_min: int
    latest_per_min: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.points


def rates(bins: Sequence[SecondBin], now_s: int) -> list[float]:
    """Messages per minute in each BUCKET_S bucket of the window ending at now_s."""
    start = now_s - WINDOW_S
    buckets = [0] * (WINDOW_S // BUCKET_S)
    for b in bins:
        index = (b.second - start) // BUCKET_S
        if 0 <= index < len(buckets):
            buckets[index] += b.messages
    return [count * 60 / BUCKET_S for count in buckets]


def _y(value: float, top: float) -> float:
    return HEIGHT - value / top * (HEIGHT - 4)


def draw(bins: Sequence[SecondBin], spikes: Sequence[Spike] = ()) -> Chart:
    """The chart of the last WINDOW_S seconds of chat (ending at the newest second seen)."""
    if not bins:
        return Chart("", (), 0, 0)
    now_s = max(b.second for b in bins) + 1
    values = rates(bins, now_s)
    top = max(max(values), 1.0)
    step = WIDTH / max(len(values) - 1, 1)
    points = " ".join(f"{i * step:.1f},{_y(value, top):.1f}" for i, value in enumerate(values))
    start = now_s - WINDOW_S
    marks = tuple(
        round((spike.offset_s - start) / WINDOW_S * WIDTH, 1)
        for spike in spikes
        if start <= spike.offset_s <= now_s
    )
    return Chart(points, marks, round(max(values)), round(values[-1]))
