"""The `platform` part of a creator's day: what the platforms said about the published clips.

One item per creator and UTC day, `CREATOR#<cid>` / `ANALYTICS#DAILY#<yyyy-mm-dd>#platform`,
beside the day's counter shards, so the dashboard's one range Query reads it too. It holds:

- `fig:<platform>:<clip id>`: that day's views, likes, comments, shares and seconds watched
  (YouTube's own daily figures; for TikTok the growth of its running totals that day);
- `tot:tiktok:<clip id>`: TikTok's running totals at the day's last snapshot (the next day's
  growth is counted from them);
- `fetch:<platform>`: when the platform last answered (`ok_at`), and the last error and when
  (`error`, `error_at`; cleared by the next answer). Written on the day the job ran, so the
  newest day in a range says how old the figures are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from truss.data import keys
from truss.data.analytics import PLATFORM_PART, DayFigures, read_days
from truss.data.table import Item, Table
from truss.publishing.adapters.stats import Figures

PART = PLATFORM_PART
TYPE = "analytics_platform"
FIGURES = "fig"
TOTALS = "tot"
FETCH = "fetch"
SEP = ":"
# DynamoDB refuses an UpdateExpression over 4 KB (about 250 "#s1 = :s1" SETs; moto doesn't
# check): a day's figures of many clips go in several updates of at most this many.
MAX_SETS_PER_UPDATE = 100


@dataclass(frozen=True)
class FetchNote:
    """When a platform last answered, and its last error (if the latest call failed)."""

    ok_at: float = 0.0
    error: str = ""
    error_at: float = 0.0

    @property
    def failing(self) -> bool:
        return bool(self.error) and self.error_at >= self.ok_at


@dataclass(frozen=True)
class PlatformDay:
    """One day's platform figures: (platform, clip id) -> Figures."""

    day: date
    figures: dict[tuple[str, str], Figures] = field(default_factory=dict)
    totals: dict[tuple[str, str], Figures] = field(default_factory=dict)
    fetches: dict[str, FetchNote] = field(default_factory=dict)


def _key(cid: str, day: date) -> keys.Key:
    return keys.analytics_day_part(cid, day.isoformat(), PART)


def _name(kind: str, *parts: str) -> str:
    return SEP.join((kind, *parts))


def parse(day: date, item: Mapping[str, Any] | None) -> PlatformDay:
    """The day's platform figures from its item (None: an empty day)."""
    result = PlatformDay(day)
    for name, value in (item or {}).items():
        kind, _, rest = name.partition(SEP)
        if kind == FETCH and isinstance(value, dict):
            result.fetches[rest] = FetchNote(
                float(value.get("ok_at") or 0),
                str(value.get("error") or ""),
                float(value.get("error_at") or 0),
            )
        elif kind in (FIGURES, TOTALS) and isinstance(value, dict) and SEP in rest:
            platform, clid = rest.split(SEP, 1)
            target = result.figures if kind == FIGURES else result.totals
            target[(platform, clid)] = Figures.from_dict(value)
    return result


def of_day(figures: DayFigures) -> PlatformDay:
    """The platform part of a day read with truss.data.analytics.read_days."""
    return parse(figures.day, figures.parts.get(PART))


def read_range(table: Table, cid: str, first: date, last: date) -> list[PlatformDay]:
    """Every day first..last's platform figures (one Query, shared with the counters')."""
    return [of_day(day) for day in read_days(table, cid, first, last)]


def _upsert(table: Table, cid: str, day: date, changes: Mapping[str, Any]) -> None:
    """SET attributes on the day's item, made if missing (one UpdateItem)."""
    own = {"type": TYPE, "day": day.isoformat(), "part": PART}
    table.upsert(_key(cid, day), {**own, **changes})


def write_figures(
    table: Table,
    cid: str,
    day: date,
    figures: Mapping[tuple[str, str], Figures],
    totals: Mapping[tuple[str, str], Figures] | None = None,
) -> None:
    """Store (replace) the day's figures of these clips, and TikTok's running totals: one
    UpdateItem per MAX_SETS_PER_UPDATE attributes (a clip's figures and totals together)."""
    per_clip: dict[tuple[str, str], Item] = defaultdict(dict)
    for (p, c), f in figures.items():
        per_clip[(p, c)][_name(FIGURES, p, c)] = f.as_dict()
    for (p, c), f in (totals or {}).items():
        per_clip[(p, c)][_name(TOTALS, p, c)] = f.as_dict()
    for changes in _batches(per_clip.values()):
        _upsert(table, cid, day, changes)


def _batches(groups: Iterable[Item]) -> Iterator[Item]:
    """The groups' attributes packed into batches of at most MAX_SETS_PER_UPDATE, a group
    never split."""
    batch: Item = {}
    for group in groups:
        if batch and len(batch) + len(group) > MAX_SETS_PER_UPDATE:
            yield batch
            batch = {}
        batch.update(group)
    if batch:
        yield batch


def note_fetch(table: Table, cid: str, day: date, platform: str, note: FetchNote) -> None:
    """Record on the day's item when the platform last answered and its last error."""
    value = {"ok_at": note.ok_at, "error": note.error, "error_at": note.error_at}
    _upsert(table, cid, day, {_name(FETCH, platform): value})


def latest_fetches(days: list[PlatformDay]) -> dict[str, FetchNote]:
    """Per platform, the newest fetch note of these days."""
    found: dict[str, FetchNote] = {}
    for day in sorted(days, key=lambda d: d.day):
        found.update(day.fetches)
    return found


def last_totals(days: list[PlatformDay], before: date) -> dict[tuple[str, str], Figures]:
    """Per (platform, clip), the running totals of the newest day before `before`."""
    found: dict[tuple[str, str], Figures] = {}
    for day in sorted(days, key=lambda d: d.day):
        if day.day < before:
            found.update(day.totals)
    return found
