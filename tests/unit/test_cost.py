"""The cost model: this month's spend by component, the cost per hour of video processed and
one video's own cost, from the counters and the prices in the settings."""

from __future__ import annotations

import datetime

import pytest

from truss.analytics import cost, metrics
from truss.config import from_environ
from truss.data.analytics import DayFigures

PRICES = cost.Prices(
    ddb_read_per_m=0.25, ddb_write_per_m=1.25, s3_gb_month=0.02, s3_put_per_k=0.005,
    s3_get_per_k=0.0004, s3_out_per_gb=0.09, gemini_in_per_m=0.5, gemini_out_per_m=2.0,
)  # fmt: skip
GIB = 1024**3


def days(*counters: dict[str, float]) -> list[DayFigures]:
    first = datetime.date(2026, 11, 1)
    return [DayFigures(first + datetime.timedelta(days=n), c) for n, c in enumerate(counters)]


def test_month_spend_prices_each_component() -> None:
    month = days(
        {metrics.DDB_READ_UNITS: 2_000_000, metrics.GEMINI_IN_TOKENS: 1_000_000},
        {},
        {
            metrics.DDB_WRITE_UNITS: 400_000, metrics.S3_PUT_REQUESTS: 2000,
            metrics.S3_GET_REQUESTS: 10_000, metrics.S3_BYTES_OUT: 10 * GIB,
            metrics.GEMINI_OUT_TOKENS: 500_000,
        },
    )  # fmt: skip

    spend = cost.month_spend(month, PRICES, stored_bytes=30 * GIB)

    assert list(spend) == list(cost.COMPONENTS)
    assert spend[cost.DDB_READS] == pytest.approx(0.50)
    assert spend[cost.DDB_WRITES] == pytest.approx(0.50)
    assert spend[cost.S3_REQUESTS] == pytest.approx(0.01 + 0.004)
    assert spend[cost.S3_TRANSFER] == pytest.approx(0.90)
    assert spend[cost.GEMINI] == pytest.approx(0.50 + 1.00)
    # 30 GiB held for 3 of November's 30 days
    assert spend[cost.S3_STORAGE] == pytest.approx(30 * 0.02 * 3 / 30)


def test_cost_per_hour_processed() -> None:
    assert cost.cost_per_hour_processed(days({metrics.RENDERS: 3}), PRICES) is None
    month = days({metrics.SECONDS_ANALYSED: 1800, metrics.GEMINI_IN_TOKENS: 2_000_000})
    assert cost.cost_per_hour_processed(month, PRICES) == pytest.approx(1.00 / 0.5)


def test_a_videos_own_cost_splits_analysis_renders_and_storage() -> None:
    spent = {
        cost.stage_metric(cost.ANALYSIS, metrics.GEMINI_IN_TOKENS): 1_000_000,
        cost.stage_metric(cost.ANALYSIS, metrics.DDB_WRITE_UNITS): 800,
        cost.stage_metric(cost.RENDERS, metrics.S3_PUT_REQUESTS): 4000,
        cost.stage_metric(cost.RENDERS, metrics.RENDERS): 2,  # a count, not priced
    }
    own = cost.asset_cost(spent, PRICES, stored_bytes=2 * GIB)
    assert own.analysis == pytest.approx(0.5 + 800 * 1.25 / 1e6)
    assert own.renders == pytest.approx(0.02)
    assert own.storage_per_month == pytest.approx(0.04)
    assert own.total == pytest.approx(own.analysis + own.renders)


def test_prices_come_from_the_settings_and_the_local_stack_is_approximate() -> None:
    local = cost.Prices.from_config(
        from_environ({"TRUSS_ENV": "local", "TRUSS_PRICE_DDB_WRITE_PER_M": "2.5"})
    )
    assert local.ddb_write_per_m == 2.5 and local.ddb_read_per_m == 0.125
    assert local.approximate
    production = cost.Prices.from_config(
        {**from_environ({"TRUSS_ENV": "local"}), "TRUSS_ENV": "production"}
    )
    assert not production.approximate
