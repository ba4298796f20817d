"""What /analytics shows, built from one range read: the charts, top clips, publish success
rates, how fresh the platform figures are, and this month's cost.

`load` reads the days with ONE Query (truss.data.analytics.read_days, from the earlier of the
range's first day and the month's first day, so the cost panel needs no second read), and the
top clips' titles with one BatchGetItem. `build` is pure: the tests feed it generated days.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from truss.analytics import cost, metrics
from truss.analytics.charts import BarChart, stacked_bars
from truss.analytics.platform_stats import STATS_PLATFORMS
from truss.data import keys, usage
from truss.data import platform_stats as platform_store
from truss.data.analytics import DayFigures, read_days
from truss.data.platform_stats import FetchNote
from truss.data.table import Table
from truss.publishing.adapters.stats import NO_STATS, Figures
from truss.publishing.platforms import name_of

RANGES = (7, 30, 90)
DEFAULT_RANGE = 30
TOP_CLIPS = 5
PUBLISH_PLATFORMS = ("youtube", "tiktok", "discord")
SOURCE_WORDS = {  # where clips came from (truss.data.clips SOURCES), as a chart series
    "gemini": "found by Gemini",
    "signals": "found by the built-in analyzer",
    "chat": "from chat spikes",
    "manual": "picked by hand",
}


@dataclass(frozen=True)
class TopClip:
    platform: str
    clip_id: str
    title: str
    figures: Figures
    deleted: bool = False  # the clip is gone; its figures stay

    @property
    def name(self) -> str:
        return name_of(self.platform)


@dataclass(frozen=True)
class Rate:
    """Posts that published and failed on one platform in the range."""

    platform: str
    ok: int
    failed: int

    @property
    def name(self) -> str:
        return name_of(self.platform)

    @property
    def percent(self) -> int | None:
        attempts = self.ok + self.failed
        return round(100 * self.ok / attempts) if attempts else None


@dataclass(frozen=True)
class Freshness:
    """How old one platform's figures are, and why if the latest pull failed."""

    platform: str
    note: FetchNote
    now: float

    @property
    def words(self) -> str:
        name = name_of(self.platform)
        if not self.note.ok_at:
            fetched = f"No {name} figures yet"
        else:
            fetched = f"{name} figures from {age_words(self.now - self.note.ok_at)}"
        if self.note.failing:
            return f"{fetched}: {self.note.error}"
        return fetched

    @property
    def failing(self) -> bool:
        return self.note.failing


COMPONENT_NAMES = {
    cost.DDB_READS: "DynamoDB reads",
    cost.DDB_WRITES: "DynamoDB writes",
    cost.S3_STORAGE: "S3 storage",
    cost.S3_REQUESTS: "S3 requests",
    cost.S3_TRANSFER: "S3 transfer out",
    cost.GEMINI: "Gemini tokens",
}


@dataclass(frozen=True)
class CostPanel:
    """This month's estimated spend by component, and per hour of video analysed."""

    month: str  # yyyy-mm, UTC
    spend: dict[str, float]
    per_hour: float | None
    approximate: bool

    @property
    def total(self) -> float:
        return sum(self.spend.values())

    def lines(self) -> list[tuple[str, float]]:
        return [(COMPONENT_NAMES.get(k, k), v) for k, v in self.spend.items()]


def cost_panel(
    month_days: Sequence[DayFigures], prices: cost.Prices, stored_bytes: float
) -> CostPanel:
    month = month_days[-1].day.strftime("%Y-%m") if month_days else ""
    return CostPanel(
        month=month,
        spend=cost.month_spend(month_days, prices, stored_bytes),
        per_hour=cost.cost_per_hour_processed(month_days, prices, stored_bytes),
        approximate=prices.approximate,
    )


def dollars(value: float) -> str:
    """$0.0042, $1.25, $1,234.50: small amounts keep enough digits to mean something."""
    if value == 0:
        return "$0.00"
    if abs(value) < 0.01:
        return f"${value:.4f}"
    return f"${value:,.2f}"


@dataclass
class Dashboard:
    range_days: int
    first: date
    last: date
    views: BarChart
    clips_made: BarChart
    publishes: BarChart
    top: dict[str, list[TopClip]] = field(default_factory=dict)
    rates: list[Rate] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    no_stats: list[str] = field(default_factory=list)
    cost: CostPanel | None = None

    @property
    def charts(self) -> tuple[BarChart, ...]:
        return (self.views, self.clips_made, self.publishes)


def age_words(seconds: float) -> str:
    """ "just now", "5 minutes ago", "3 hours ago", "2 days ago"."""
    seconds = max(seconds, 0)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def range_of(value: str | None) -> int:
    """The range asked for (?days=7|30|90); anything else is the default."""
    try:
        days = int(value or DEFAULT_RANGE)
    except ValueError:
        return DEFAULT_RANGE
    return days if days in RANGES else DEFAULT_RANGE


def utc_today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def load(
    table: Table, cid: str, range_days: int, prices: cost.Prices, now: float | None = None
) -> Dashboard:
    """The signed-in creator's dashboard: one Query for the days (the range and this month),
    one BatchGet for the top clips' titles, the storage counter's GetItems."""
    now = time.time() if now is None else now
    last = utc_today(now)
    first = last - timedelta(days=range_days - 1)
    month_first = last.replace(day=1)
    days = read_days(table, cid, min(first, month_first), last)
    in_range = [d for d in days if d.day >= first]
    dashboard = build(in_range, range_days, now, titles=lambda ids: clip_titles(table, cid, ids))
    stored = usage.read(table, cid, last.strftime("%Y-%m")).stored_bytes
    month_days = [d for d in days if d.day >= month_first]
    dashboard.cost = cost_panel(month_days, prices, stored)
    return dashboard


def clip_titles(table: Table, cid: str, clip_ids: Sequence[str]) -> dict[str, str]:
    """The titles of these clips (one BatchGetItem; a deleted clip has none)."""
    found = table.get_many([keys.clip(cid, clid) for clid in clip_ids], attributes=("title",))
    return {keys.clip_id_from_sk(item["SK"]): str(item.get("title") or "") for item in found}


def build(
    days: Sequence[DayFigures],
    range_days: int,
    now: float,
    titles: Callable[[Sequence[str]], Mapping[str, str]] = lambda ids: {},
) -> Dashboard:
    """The dashboard of these days (oldest first, every day present)."""
    platform_days = [platform_store.of_day(d) for d in days]
    labels = [d.day.isoformat() for d in days]
    top = top_clips(platform_days, titles)
    publish_rates = rates(days)
    return Dashboard(
        range_days=range_days,
        first=days[0].day,
        last=days[-1].day,
        views=views_chart(labels, days, platform_days),
        clips_made=clips_chart(labels, days),
        publishes=publishes_chart(labels, days),
        top=top,
        rates=publish_rates,
        freshness=[
            Freshness(platform, note, now)
            for platform, note in sorted(platform_store.latest_fetches(platform_days).items())
        ],
        no_stats=[NO_STATS[r.platform] for r in publish_rates if r.platform in NO_STATS],
    )


def views_chart(
    labels: list[str], days: Sequence[DayFigures], platform_days: Sequence[Any]
) -> BarChart:
    """Views per day: each platform's, and the share links' on Truss."""
    series = []
    for platform in STATS_PLATFORMS:
        values = [
            sum(f.views for (p, _), f in day.figures.items() if p == platform)
            for day in platform_days
        ]
        if any(values):
            series.append((f"{name_of(platform)} views", values))
    series.append(("share-link views", [d.counters.get(metrics.SHARE_VIEWS, 0.0) for d in days]))
    return stacked_bars("Views", "views", labels, series)


def clips_chart(labels: list[str], days: Sequence[DayFigures]) -> BarChart:
    """Clips made per day, by where they came from (Gemini, signals, chat, by hand)."""
    per_day = [metrics.by_qualifier(d.counters, metrics.CLIPS_MADE) for d in days]
    sources = sorted({source for made in per_day for source in made})
    series = [
        (SOURCE_WORDS.get(source, f"from {source}"), [made.get(source, 0.0) for made in per_day])
        for source in sources
    ]
    unqualified = [d.counters.get(metrics.CLIPS_MADE, 0.0) for d in days]
    if any(unqualified) or not series:
        series.append(("clips", unqualified))
    return stacked_bars("Clips made", "clips", labels, series)


def publishes_chart(labels: list[str], days: Sequence[DayFigures]) -> BarChart:
    ok = [metrics.total(d.counters, metrics.PUBLISH_OK) for d in days]
    failed = [metrics.total(d.counters, metrics.PUBLISH_FAILED) for d in days]
    return stacked_bars("Publishes", "posts", labels, [("published", ok), ("failed", failed)])


def rates(days: Sequence[DayFigures]) -> list[Rate]:
    """Per platform that had a post in the range: published and failed."""
    ok: dict[str, float] = defaultdict(float)
    failed: dict[str, float] = defaultdict(float)
    for d in days:
        for platform, n in metrics.by_qualifier(d.counters, metrics.PUBLISH_OK).items():
            ok[platform] += n
        for platform, n in metrics.by_qualifier(d.counters, metrics.PUBLISH_FAILED).items():
            failed[platform] += n
    platforms = sorted(set(ok) | set(failed), key=_platform_order)
    return [Rate(p, int(ok[p]), int(failed[p])) for p in platforms]


def _platform_order(platform: str) -> tuple[int, str]:
    order = PUBLISH_PLATFORMS
    return (order.index(platform) if platform in order else len(order), platform)


def top_clips(
    platform_days: Sequence[Any], titles: Callable[[Sequence[str]], Mapping[str, str]]
) -> dict[str, list[TopClip]]:
    """Per platform, the clips with the most views in the range (ties: more likes first)."""
    summed: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day in platform_days:
        for key, figures in day.figures.items():
            for name, value in figures.as_dict().items():
                summed[key][name] += value
    ranked: dict[str, list[tuple[str, Figures]]] = defaultdict(list)
    for (platform, clid), values in summed.items():
        ranked[platform].append((clid, Figures.from_dict(dict(values))))
    best = {
        platform: sorted(entries, key=lambda e: (-e[1].views, -e[1].likes, e[0]))[:TOP_CLIPS]
        for platform, entries in ranked.items()
    }
    ids = sorted({clid for entries in best.values() for clid, _ in entries})
    names = titles(ids) if ids else {}
    return {
        platform: [
            TopClip(platform, clid, names.get(clid, ""), figures, deleted=clid not in names)
            for clid, figures in best[platform]
        ]
        for platform in sorted(best, key=_platform_order)
    }
