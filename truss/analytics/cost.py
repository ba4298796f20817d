"""What Truss costs to run, estimated from the daily counters and the prices in the settings.

Components: DynamoDB on-demand reads and writes (from the consumed capacity every call reports),
S3 storage (GB-month), S3 requests (PUT/GET), S3 transfer out, Gemini input and output tokens.
On the local stack moto reports a fixed capacity per call (1 unit, whatever the item size),
so `approximate` is True there and the pages say the figure is approximate.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truss.analytics import metrics
from truss.data.analytics import DayFigures

GIB = 1024**3  # AWS bills storage and transfer per GiB ("GB" on the price list)

# Components of the spend (keys of month_spend's answer, in display order)
DDB_READS = "dynamodb_reads"
DDB_WRITES = "dynamodb_writes"
S3_STORAGE = "s3_storage"
S3_REQUESTS = "s3_requests"
S3_TRANSFER = "s3_transfer"
GEMINI = "gemini"
COMPONENTS = (DDB_READS, DDB_WRITES, S3_STORAGE, S3_REQUESTS, S3_TRANSFER, GEMINI)

# Stages of one video's own cost (its cost item's counters are `<stage>.<metric>`)
ANALYSIS = "analysis"
RENDERS = "renders"


@dataclass(frozen=True)
class Prices:
    """USD list prices (AWS us-east-1 on-demand; Gemini per million tokens)."""

    ddb_read_per_m: float = 0.125
    ddb_write_per_m: float = 0.625
    s3_gb_month: float = 0.023
    s3_put_per_k: float = 0.005
    s3_get_per_k: float = 0.0004
    s3_out_per_gb: float = 0.09
    gemini_in_per_m: float = 0.75
    gemini_out_per_m: float = 3.75
    approximate: bool = False  # moto's capacity figures: one fixed unit a call

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Prices:
        return cls(
            ddb_read_per_m=config["PRICE_DDB_READ_PER_M"],
            ddb_write_per_m=config["PRICE_DDB_WRITE_PER_M"],
            s3_gb_month=config["PRICE_S3_GB_MONTH"],
            s3_put_per_k=config["PRICE_S3_PUT_PER_K"],
            s3_get_per_k=config["PRICE_S3_GET_PER_K"],
            s3_out_per_gb=config["PRICE_S3_OUT_PER_GB"],
            gemini_in_per_m=config["GEMINI_INPUT_PRICE_PER_M"],
            gemini_out_per_m=config["GEMINI_OUTPUT_PRICE_PER_M"],
            approximate=config.get("TRUSS_ENV") == "local",
        )


def stage_metric(stage: str, metric: str) -> str:
    """`analysis.gemini_in_tokens`, `renders.ddb_write_units`: one stage's share of a video."""
    return f"{stage}.{metric}"


def summed(figures: Sequence[DayFigures]) -> dict[str, float]:
    """Every counter summed over the days."""
    total: dict[str, float] = {}
    for day in figures:
        for name, value in day.counters.items():
            total[name] = total.get(name, 0.0) + value
    return total


def usage_cost(counters: Mapping[str, float], prices: Prices) -> dict[str, float]:
    """Dollars by component of what these counters consumed (storage not included: it is
    paid for time held, see storage_cost)."""
    get = counters.get
    return {
        DDB_READS: get(metrics.DDB_READ_UNITS, 0.0) * prices.ddb_read_per_m / 1e6,
        DDB_WRITES: get(metrics.DDB_WRITE_UNITS, 0.0) * prices.ddb_write_per_m / 1e6,
        S3_REQUESTS: get(metrics.S3_PUT_REQUESTS, 0.0) * prices.s3_put_per_k / 1e3
        + get(metrics.S3_GET_REQUESTS, 0.0) * prices.s3_get_per_k / 1e3,
        S3_TRANSFER: get(metrics.S3_BYTES_OUT, 0.0) / GIB * prices.s3_out_per_gb,
        GEMINI: get(metrics.GEMINI_IN_TOKENS, 0.0) * prices.gemini_in_per_m / 1e6
        + get(metrics.GEMINI_OUT_TOKENS, 0.0) * prices.gemini_out_per_m / 1e6,
    }


def storage_cost(stored_bytes: float, prices: Prices, month_fraction: float = 1.0) -> float:
    """Dollars for holding stored_bytes in S3 Standard for that fraction of a month."""
    return max(stored_bytes, 0.0) / GIB * prices.s3_gb_month * month_fraction


def month_fraction(today: datetime.date) -> float:
    """How much of today's UTC month has gone by, today included."""
    return today.day / calendar.monthrange(today.year, today.month)[1]


def month_spend(
    figures: Sequence[DayFigures], prices: Prices, stored_bytes: float = 0.0
) -> dict[str, float]:
    """This month's estimated spend by component (COMPONENTS order) from the month's days
    so far; storage is what is stored now, held since the month began."""
    spend = usage_cost(summed(figures), prices)
    today = figures[-1].day if figures else datetime.datetime.now(datetime.UTC).date()
    spend[S3_STORAGE] = storage_cost(stored_bytes, prices, month_fraction(today))
    return {component: spend[component] for component in COMPONENTS}


def cost_per_hour_processed(
    figures: Sequence[DayFigures], prices: Prices, stored_bytes: float = 0.0
) -> float | None:
    """Dollars spent per hour of video analysed over these days (None: nothing analysed)."""
    seconds = summed(figures).get(metrics.SECONDS_ANALYSED, 0.0)
    if seconds <= 0:
        return None
    return sum(month_spend(figures, prices, stored_bytes).values()) / (seconds / 3600)


@dataclass(frozen=True)
class AssetCost:
    analysis: float  # dollars, once
    renders: float  # dollars, every render so far (trims and re-renders included)
    storage_per_month: float  # dollars a month while the files are kept
    approximate: bool

    @property
    def total(self) -> float:
        return self.analysis + self.renders


def _stage(counters: Mapping[str, float], stage: str) -> dict[str, float]:
    head = stage + "."
    return {k[len(head) :]: v for k, v in counters.items() if k.startswith(head)}


def asset_cost(counters: Mapping[str, float], prices: Prices, stored_bytes: float) -> AssetCost:
    """One video's own cost from its cost item (truss.data.analytics.read_asset_cost) and
    the bytes its source and renders hold in S3 now."""
    return AssetCost(
        analysis=sum(usage_cost(_stage(counters, ANALYSIS), prices).values()),
        renders=sum(usage_cost(_stage(counters, RENDERS), prices).values()),
        storage_per_month=storage_cost(stored_bytes, prices),
        approximate=prices.approximate,
    )
