"""Chromium on the real local stack opens /analytics for a creator with a month of history
(written through the data modules into the stack's DynamoDB): the three charts draw their
bars, coloured by the app's stylesheet, with no console error and no CSP violation; the range
links and the CSV download work; a screenshot is saved under the test's tmp dir."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack
from truss import create_app
from truss.analytics import metrics
from truss.config import from_environ
from truss.data import analytics as daily
from truss.data import creators
from truss.data import platform_stats as platform_store
from truss.extensions import get_table
from truss.publishing.adapters.stats import Figures

pytestmark = pytest.mark.e2e
EMAIL = "charts@example.com"
CLIP = "01J00000000000000000000E2E"


def app_on(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Flask:
    for name, value in stack.client_env().items():
        monkeypatch.setenv(name, value)
    return create_app(from_environ())


def seed_month(app: Flask, email: str) -> int:
    """30 days of counters and YouTube figures for the creator; the YouTube views in all."""
    today = datetime.now(UTC).date()
    views = 0
    with app.app_context():
        table = get_table()
        cid = creators.get_or_create_by_email(table, email).id
        for i in range(30):
            day = today - timedelta(days=29 - i)
            daily.apply_flush(table, cid, day, 0, f"e2e-{i}", {
                metrics.SHARE_VIEWS: float(i % 7),
                metrics.qualified(metrics.CLIPS_MADE, "signals"): float(i % 3),
                metrics.qualified(metrics.PUBLISH_OK, "youtube"): float(i % 2),
                metrics.qualified(metrics.PUBLISH_FAILED, "tiktok"): float(i % 5 == 0),
            })  # fmt: skip
            figures = Figures(10 + i * 4, i, i // 2, 1, 600)
            platform_store.write_figures(table, cid, day, {("youtube", CLIP): figures})
            views += figures.views
    return views


def test_the_dashboard_draws_its_charts_in_chromium_under_the_csp(
    local_stack: LocalStack, page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, local_stack, EMAIL)
    youtube_views = seed_month(app_on(local_stack, monkeypatch), EMAIL)

    page.get_by_role("link", name="Analytics").click()
    expect(page.get_by_role("heading", name="Analytics", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute("aria-current", "page")

    for chart in ("#chart-views", "#chart-clips", "#chart-publishes"):
        marks = page.locator(f"{chart} svg.chart rect.mark")
        expect(marks.first).to_be_visible()
        assert marks.count() >= 10
        box = marks.first.bounding_box()
        assert box is not None and box["height"] > 0 and box["width"] > 0
    fill = page.locator("#chart-views rect.mark.series-0").first.evaluate(
        "rect => getComputedStyle(rect).fill"
    )
    assert fill == "rgb(75, 63, 224)"  # static/css/analytics.css applied under the CSP
    legend = page.locator("#chart-views .legend")
    expect(legend).to_contain_text(f"YouTube views: {youtube_views:,}")
    expect(page.locator("#top-youtube")).to_contain_text(f"{youtube_views:,}")

    expect(page.locator("main #cost-panel")).to_contain_text("What Truss cost this month")
    assert page.locator("#cost-panel").count() == 1
    shot = tmp_path / "analytics.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.get_by_role("link", name="Last 7 days").click()
    expect(page.locator("#range-words")).to_contain_text("UTC days from")
    assert page.locator("#chart-views svg.chart rect.mark").count() >= 7

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download these numbers")).click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][0] == "day (UTC)" and len(rows) == 8
    assert problems == []  # no console error: no CSP violation, no missing file
