"""Chromium on the real local stack opens /analytics for a creator with a month of history
(written through the data modules into the stack's DynamoDB): the three charts draw their
bars, coloured by the app's stylesheet, with no console error and no CSP violation; the range
links and the CSV download work; a screenshot is saved under the test's tmp dir."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.helpers import sign_in
from tests.stack import LocalStack
from tests.support.app import app_on_stack
from tests.support.waits import page_sleep, wait_until
from truss import jobs
from truss.analytics import metrics, platform_stats
from truss.data import analytics as daily
from truss.data import creators, publications
from truss.data import platform_stats as platform_store
from truss.data.publications import Publication
from truss.extensions import get_redis, get_table, get_token_service
from truss.local.dev import fake_platforms_env
from truss.publishing import providers
from truss.publishing.adapters import Post, adapter_for, no_progress
from truss.publishing.adapters.stats import Figures
from truss.queue import get_queue

pytestmark = pytest.mark.e2e
EMAIL = "charts@example.com"
CLIP = "01J00000000000000000000E2E"


def app_on(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """An app in this process on the stack's backends, its platforms the stack's fakes."""
    return app_on_stack(stack, monkeypatch, fake_platforms_env(stack.fake_platforms_url, {}))


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


def test_a_published_youtube_video_gets_its_figures_from_the_fake_through_the_worker(
    local_stack: LocalStack, page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real path on the local stack: YouTube connected on the consent page, a video
    uploaded to the fake, its post published; the statistics job runs on the stack's worker
    and the dashboard shows the fake's figures."""
    email = "stats@example.com"
    sign_in(page, local_stack, email)
    page.goto(local_stack.url + "/connections")
    page.get_by_role("button", name=re.compile(r"^Connect YouTube\b")).click()
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"/connections"))

    app = app_on(local_stack, monkeypatch)
    with app.app_context():
        cid = creators.get_or_create_by_email(get_table(), email).id
        video_id = upload_to_youtube(app, cid, tmp_path / "clip.mp4")
        publish_record(cid, video_id)
        platform_stats.track(get_redis(), cid)
        get_queue("default").enqueue(jobs.collect_platform_stats, cid)

    def youtube_figures() -> bool:
        page.goto(local_stack.url + "/analytics?days=7")
        return page.locator("#top-youtube").count() > 0

    wait_until(youtube_figures, 120, "YouTube figures on /analytics", poll_s=2,
               sleep=page_sleep(page))  # fmt: skip
    expect(page.locator(".freshness")).to_contain_text("YouTube figures from")
    expect(page.locator("#chart-views .legend")).to_contain_text("YouTube views")
    expect(page.locator("#top-youtube")).to_contain_text("(a deleted clip)")  # no clip item


def upload_to_youtube(app: Flask, cid: str, path: Path) -> str:
    """Upload a small file to the fake YouTube with the creator's connection; its video id."""
    path.write_bytes(b"\0" * 4096)
    token = get_token_service().access_token(
        cid, "youtube", providers.refresher("youtube", app.config)
    )
    adapter = adapter_for("youtube", app.config)
    post = Post(path, 4096, "video/mp4", 5.0, "Statistics", privacy="private")
    session = adapter.upload(token, post, adapter.start(token, post), no_progress)
    return str(session["video_id"])


def publish_record(cid: str, video_id: str) -> None:
    """The post as the publish job leaves it: claimed, then published with the remote id."""
    table, now = get_table(), time.time()
    publications.create(
        table, Publication(creator_id=cid, platform="youtube", clip_id=CLIP, scheduled_at=int(now),
                           text="Statistics", created=int(now)),
    )  # fmt: skip
    pub = publications.claim(table, cid, CLIP, "youtube", "e2e", 60, now)
    assert pub is not None
    publications.mark_published(table, pub, "e2e", video_id, f"https://youtu.be/{video_id}", now)
