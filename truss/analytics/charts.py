"""The dashboard's charts: stacked daily bars drawn on the server as inline SVG.

Like the live page's chat chart (truss/streams/chart.py) the template draws what this module
measures: no script, no `style` attribute (the CSP has no 'unsafe-inline'), only SVG geometry
attributes and classes that static/css/analytics.css colours. The numbers are also in a
table next to each chart, so a screen reader (and a test) reads the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 160
GAP = 0.2  # of a day's slot, left empty between bars
MIN_MARK = 0.5  # a non-zero value is drawn at least this tall, so it shows


@dataclass(frozen=True)
class Mark:
    """One rectangle: a series' share of one day's bar."""

    x: float
    y: float
    width: float
    height: float
    series: int  # which series (its CSS class: series-<n>)
    title: str  # "2026-11-30: 12 views"


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]

    @property
    def total(self) -> float:
        return sum(self.values)


@dataclass(frozen=True)
class BarChart:
    """What the template draws, and the words around it."""

    title: str
    unit: str
    days: tuple[str, ...]
    series: tuple[Series, ...]
    marks: tuple[Mark, ...]
    top: float
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.marks

    @property
    def total(self) -> float:
        return sum(s.total for s in self.series)

    @property
    def description(self) -> str:
        """The chart in one sentence (the SVG's <desc>)."""
        if self.empty:
            return f"No {self.unit} from {self.days[0]} to {self.days[-1]} (UTC days)."
        parts = ", ".join(f"{s.name} {number(s.total)}" for s in self.series if s.total)
        peak = number(self.top)
        return (
            f"{self.title} per UTC day from {self.days[0]} to {self.days[-1]}: {parts} in all; "
            f"the busiest day had {peak} {self.unit}."
        )

    def rows(self) -> list[tuple[str, list[float], float]]:
        """The table under the chart: (day, each series' value, the day's total)."""
        return [
            (day, [s.values[i] for s in self.series], sum(s.values[i] for s in self.series))
            for i, day in enumerate(self.days)
        ]


def number(value: float) -> str:
    """12, 1.5, 1,234: whole numbers without a decimal point."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def stacked_bars(
    title: str, unit: str, days: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> BarChart:
    """One bar per day, each series stacked on the one before it; heights scale to the
    busiest day (an all-zero chart has no marks)."""
    if not days:
        raise ValueError("a chart needs at least one day")
    all_series = tuple(Series(name, tuple(float(v) for v in values)) for name, values in series)
    for s in all_series:
        if len(s.values) != len(days):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(days)} days")
    totals = [sum(s.values[i] for s in all_series) for i in range(len(days))]
    top = max(totals, default=0.0)
    slot = WIDTH / len(days)
    marks = []
    for i, day in enumerate(days):
        base = float(HEIGHT)
        for n, s in enumerate(all_series):
            value = s.values[i]
            if value <= 0 or top <= 0:
                continue
            height = max(value / top * (HEIGHT - 2), MIN_MARK)
            base -= height
            marks.append(
                Mark(
                    x=round(i * slot + slot * GAP / 2, 2),
                    y=round(base, 2),
                    width=round(slot * (1 - GAP), 2),
                    height=round(height, 2),
                    series=n,
                    title=f"{day}: {number(value)} {s.name}",
                )
            )
    return BarChart(title, unit, tuple(days), all_series, tuple(marks), top)
