"""/analytics on a generated 90-day history written through the data modules: the charts'
tables, the CSV, the top clips and the publish success rates match the history exactly; a
range is ONE Query that reads only that range's items; the platform figures' age and error
are shown; the charts are SVG with no style attribute or script."""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.clips import make_clip, ready_asset
from truss.analytics import cost, metrics
from truss.analytics.charts import stacked_bars
from truss.analytics.dashboard import age_words, dollars
from truss.data import analytics as daily
from truss.data import platform_stats as platform_store
from truss.data.platform_stats import FetchNote
from truss.extensions import get_table
from truss.publishing.adapters.stats import Figures

CLIPS = ("01J0000000000000000000000A", "01J0000000000000000000000B", "01J0000000000000000000000C")


@dataclass
class History:
    today: date
    days: list[date]  # the 90 days, oldest first
    counters: dict[date, dict[str, float]]
    figures: dict[date, dict[tuple[str, str], Figures]]
    items_per_day: dict[date, int]


def day_counters(i: int) -> dict[str, float]:
    """Day i's counters (some zero), split over two flushes to check the shards are summed."""
    return {
        metrics.SHARE_VIEWS: float((i * 7) % 13),
        metrics.qualified(metrics.CLIPS_MADE, "gemini"): float(i % 4),
        metrics.qualified(metrics.CLIPS_MADE, "signals"): float((i * 5) % 3),
        metrics.qualified(metrics.PUBLISH_OK, "youtube"): float(i % 2),
        metrics.qualified(metrics.PUBLISH_OK, "tiktok"): float(i % 3 == 0),
        metrics.qualified(metrics.PUBLISH_FAILED, "tiktok"): float(i % 5 == 0),
        metrics.qualified(metrics.PUBLISH_FAILED, "discord"): float(i % 11 == 0),
    }


def day_figures(i: int) -> dict[tuple[str, str], Figures]:
    found = {}
    for n, clid in enumerate(CLIPS):
        views = (i * (n + 3)) % 50 + 10 * n
        if views:
            found[("youtube", clid)] = Figures(views, views // 4, views // 10, n, views * 30)
    if i % 2 == 0:
        found[("tiktok", CLIPS[2])] = Figures(i + 1, i // 2, 0, 1, 0)
    return found


def write_history(app: Flask, cid: str, other: str) -> History:
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=89 - i) for i in range(90)]
    history = History(today, days, {}, {}, {})
    with app.app_context():
        table = get_table()
        for i, day in enumerate([today - timedelta(days=90), *days]):  # one day before too
            counters = {k: v for k, v in day_counters(i).items() if v}
            split = i % 10 == 0  # some days' counters come in two shards
            half = dict(list(counters.items())[::2]) if split else counters
            rest = {k: v for k, v in counters.items() if k not in half}
            items = 0
            for shard, amounts in ((0, half), (3, rest)):
                if amounts:
                    daily.apply_flush(table, cid, day, shard, f"f-{i}-{shard}", amounts)
                    items += 1
            figures = day_figures(i)
            platform_store.write_figures(table, cid, day, figures)
            items += 1
            if day in days:
                history.counters[day] = counters
                history.figures[day] = figures
                history.items_per_day[day] = items
            if i % 15 == 0:  # another creator's days, in the same range: never read
                daily.apply_flush(table, other, day, 0, f"o-{i}", {metrics.SHARE_VIEWS: 1000.0})
    return history


@pytest.fixture
def signed_in(app: Flask, client: FlaskClient, auth: AuthActions) -> tuple[str, History]:
    creator = auth.login()
    other = auth.login("other@example.com", client=app.test_client())
    for n, clid in enumerate(CLIPS):
        asset = ready_asset(app, creator.id, title=f"Talk {n}")
        make_clip(app, creator.id, asset.id, clid, title=f"Moment {n}")
    return creator.id, write_history(app, creator.id, other.id)


def reads(app: Flask) -> list[tuple[dict[str, int], dict[str, int]]]:
    seen: list[tuple[dict[str, int], dict[str, int]]] = []

    @app.after_request
    def count(response: Any) -> Any:
        table = g.get("truss_table")
        if table is not None:
            seen.append((dict(table.calls), dict(table.items_read)))
        return response

    return seen


def chart_rows(page: str, chart_id: str) -> list[list[str]]:
    """The day rows of a chart's numbers table: [day, value..., total]."""
    figure = page.split(f'id="{chart_id}"', 1)[1].split("</figure>", 1)[0]
    body = figure.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        rows.append([cell for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)])
    return rows


def expected_views(history: History, day: date) -> list[int]:
    figures = history.figures[day]
    youtube = sum(f.views for (p, _), f in figures.items() if p == "youtube")
    tiktok = sum(f.views for (p, _), f in figures.items() if p == "tiktok")
    share = int(history.counters[day].get(metrics.SHARE_VIEWS, 0))
    return [youtube, tiktok, share, youtube + tiktok + share]


def expected_clips(history: History, day: date) -> list[int]:
    c = history.counters[day]
    gemini = int(c.get(metrics.qualified(metrics.CLIPS_MADE, "gemini"), 0))
    signals = int(c.get(metrics.qualified(metrics.CLIPS_MADE, "signals"), 0))
    return [gemini, signals, gemini + signals]


def expected_publishes(history: History, day: date) -> list[int]:
    c = history.counters[day]
    ok = int(metrics.total(c, metrics.PUBLISH_OK))
    failed = int(metrics.total(c, metrics.PUBLISH_FAILED))
    return [ok, failed, ok + failed]


def test_the_dashboard_shows_exactly_the_history_of_the_range_read_in_one_query(
    app: Flask, client: FlaskClient, signed_in: tuple[str, History]
) -> None:
    _, history = signed_in
    seen = reads(app)
    for days in (7, 30, 90):
        page = client.get(f"/analytics?days={days}").get_data(as_text=True)
        check_range(page, history, days, seen[-1])


def check_range(
    page: str, history: History, days: int, read: tuple[dict[str, int], dict[str, int]]
) -> None:

    in_range = history.days[-days:]
    month_first = history.today.replace(day=1)
    read_from = min(in_range[0], month_first)  # the cost panel's month comes in the same Query
    calls, items_read = read
    assert calls.get("query") == 1
    assert items_read["query"] == sum(
        n for day, n in history.items_per_day.items() if day >= read_from
    )
    assert f"UTC days from {in_range[0].isoformat()} to {history.today.isoformat()}" in page

    expected_rows = {
        "chart-views": lambda d: expected_views(history, d),
        "chart-clips": lambda d: expected_clips(history, d),
        "chart-publishes": lambda d: expected_publishes(history, d),
    }
    for chart_id, expect in expected_rows.items():
        rows = chart_rows(page, chart_id)
        assert [row[0] for row in rows] == [d.isoformat() for d in in_range]
        assert [[int(v.replace(",", "")) for v in row[1:]] for row in rows] == [
            expect(d) for d in in_range
        ], chart_id


def test_the_csv_has_the_same_numbers_per_utc_day(
    client: FlaskClient, signed_in: tuple[str, History]
) -> None:
    _, history = signed_in
    response = client.get("/analytics.csv?days=30")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "day (UTC)", "Views: YouTube views", "Views: TikTok views", "Views: share-link views",
        "Clips made: found by Gemini", "Clips made: found by the built-in analyzer",
        "Publishes: published",
        "Publishes: failed",
    ]  # fmt: skip
    in_range = history.days[-30:]
    assert [row[0] for row in rows[1:]] == [d.isoformat() for d in in_range]
    for row, day in zip(rows[1:], in_range, strict=True):
        views = expected_views(history, day)[:3]
        clips = expected_clips(history, day)[:2]
        publishes = expected_publishes(history, day)[:2]
        assert [int(v) for v in row[1:]] == views + clips + publishes


def test_top_clips_per_platform_and_publish_success_rates_sum_the_range(
    client: FlaskClient, signed_in: tuple[str, History]
) -> None:
    _, history = signed_in
    page = client.get("/analytics?days=90").get_data(as_text=True)

    youtube_views = {
        clid: sum(history.figures[d].get(("youtube", clid), Figures()).views for d in history.days)
        for clid in CLIPS
    }
    table = page.split('id="top-youtube"', 1)[1].split("</table>", 1)[0]
    shown = re.findall(r">(Moment \d)</a></th>\s*<td>([\d,]+)</td>", table)
    best = sorted(CLIPS, key=lambda c: -youtube_views[c])
    assert [(title, int(views.replace(",", ""))) for title, views in shown] == [
        (f"Moment {CLIPS.index(c)}", youtube_views[c]) for c in best
    ]

    rates = page.split('id="publish-rates"', 1)[1].split("</table>", 1)[0]
    for platform, name in (("youtube", "YouTube"), ("tiktok", "TikTok"), ("discord", "Discord")):
        ok = sum(
            history.counters[d].get(metrics.qualified(metrics.PUBLISH_OK, platform), 0)
            for d in history.days
        )
        failed = sum(
            history.counters[d].get(metrics.qualified(metrics.PUBLISH_FAILED, platform), 0)
            for d in history.days
        )
        percent = round(100 * ok / (ok + failed))
        row = f'<th scope="row">{name}</th><td>{int(ok)}</td><td>{int(failed)}</td>'
        assert f"{row}<td>{percent}%</td>" in rates


def test_the_age_of_platform_figures_and_the_last_error_are_shown(
    app: Flask, client: FlaskClient, signed_in: tuple[str, History]
) -> None:
    cid, history = signed_in
    now = time.time()
    with app.app_context():
        note = FetchNote(now - 3 * 3600 - 60, "YouTube answered 503: Backend Error", now - 60)
        platform_store.note_fetch(get_table(), cid, history.today, "youtube", note)
        platform_store.note_fetch(get_table(), cid, history.today, "tiktok", FetchNote(now - 300))
    page = client.get("/analytics").get_data(as_text=True)
    assert "YouTube figures from 3 hours ago: YouTube answered 503: Backend Error" in page
    assert "TikTok figures from 5 minutes ago" in page
    assert "Discord has no statistics for webhook posts." in page


def test_charts_are_svg_with_titles_and_marks_and_no_inline_style_or_script(
    client: FlaskClient, signed_in: tuple[str, History]
) -> None:
    response = client.get("/analytics?days=7")
    page = response.get_data(as_text=True)
    head, main = page.split('<main id="main"', 1)
    assert "<section" not in head
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "an id is used twice"
    assert "style=" not in main and "<script" not in main
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    for chart_id in ("chart-views", "chart-clips", "chart-publishes"):
        svg = page.split(f'id="{chart_id}"', 1)[1].split("</svg>", 1)[0]
        assert f'<title id="{chart_id}-svg-title">' in svg and "<desc" in svg
        assert len(re.findall(r'<rect class="mark series-\d"', svg)) >= 1


def test_an_empty_account_sees_words_not_charts_and_a_bad_range_falls_back(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login("new@example.com")
    page = client.get("/analytics?days=banana").get_data(as_text=True)
    assert 'aria-current="page">Last 30 days' in page
    assert "No views from" in page and "No clips from" in page and "No posts from" in page
    assert "Nothing published in this range." in page
    assert '<rect class="mark' not in page


def test_age_words() -> None:
    assert age_words(20) == "just now"
    assert age_words(61) == "1 minute ago"
    assert age_words(3 * 3600 + 5) == "3 hours ago"
    assert age_words(2 * 86400) == "2 days ago"


def test_the_cost_panel_prices_this_months_counters_and_says_local_is_approximate(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    cid = auth.login("costly@example.com").id
    today = datetime.now(UTC).date()
    counters = {
        metrics.GEMINI_IN_TOKENS: 2_000_000.0,
        metrics.GEMINI_OUT_TOKENS: 100_000.0,
        metrics.DDB_READ_UNITS: 4_000_000.0,
        metrics.SECONDS_ANALYSED: 1800.0,
    }
    with app.app_context():
        daily.apply_flush(get_table(), cid, today, 0, "c-1", counters)
        prices = cost.Prices.from_config(app.config)
    page = client.get("/analytics?days=7").get_data(as_text=True)
    panel = page.split('id="cost-panel"', 1)[1].split("</section>", 1)[0]

    gemini = 2 * prices.gemini_in_per_m + 0.1 * prices.gemini_out_per_m
    reads = 4 * prices.ddb_read_per_m
    assert f'<th scope="row">Gemini tokens</th><td>{dollars(gemini)}</td>' in panel
    assert f'<th scope="row">DynamoDB reads</th><td>{dollars(reads)}</td>' in panel
    assert f"Cost per hour of video processed: {dollars((gemini + reads) * 2)}." in panel
    local = app.config.get("TRUSS_ENV") == "local"
    assert ("Approximate on the local stack" in panel) == local


def test_the_video_page_loads_its_own_cost(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    cid = auth.login("video@example.com").id
    asset = ready_asset(app, cid)
    with app.app_context():
        daily.add_asset_cost(
            get_table(), cid, asset.id, "run-1",
            {cost.stage_metric(cost.ANALYSIS, metrics.GEMINI_IN_TOKENS): 1_000_000.0},
        )  # fmt: skip
        prices = cost.Prices.from_config(app.config)
    page = client.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert f'hx-get="/analytics/assets/{asset.id}/cost"' in page
    fragment = client.get(f"/analytics/assets/{asset.id}/cost").get_data(as_text=True)
    assert f"<dt>Analysis</dt><dd>{dollars(prices.gemini_in_per_m)}</dd>" in fragment
    assert "<dt>Renders (trims and re-renders included)</dt><dd>$0.00</dd>" in fragment


def test_bars_scale_to_the_busiest_day_and_stack_their_series() -> None:
    chart = stacked_bars("Views", "views", ["d1", "d2", "d3"], [("a", [2, 0, 4]), ("b", [2, 0, 0])])
    by_day: dict[float, list[Any]] = {}
    for mark in chart.marks:
        by_day.setdefault(mark.x, []).append(mark)
    assert len(by_day) == 2  # the empty day has no bar
    first, third = (by_day[x] for x in sorted(by_day))
    assert sum(m.height for m in first) == pytest.approx(sum(m.height for m in third))
    assert [m.series for m in first] == [0, 1] and first[1].y + first[1].height == first[0].y
    assert third[0].y == pytest.approx(chart.height - third[0].height)
    assert chart.top == 4 and chart.total == 8
    assert "the busiest day had 4 views" in chart.description
    with pytest.raises(ValueError):
        stacked_bars("Views", "views", ["d1"], [("a", [1, 2])])


def test_opening_the_dashboard_tracks_the_creator_and_a_redis_error_costs_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ConnectionError as RedisDown

    from truss.analytics import platform_stats
    from truss.extensions import get_redis

    cid = auth.login("tracked@example.com").id
    assert client.get("/analytics").status_code == 200
    with app.app_context():
        assert get_redis().sismember(platform_stats.TRACKED, cid)

    def down(redis: Any, cid: str) -> None:
        raise RedisDown("Redis is restarting")

    monkeypatch.setattr(platform_stats, "track", down)
    assert client.get("/analytics").status_code == 200
