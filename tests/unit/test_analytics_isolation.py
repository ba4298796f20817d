"""Every analytics route walked as another creator: nothing of the first creator's shown."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.clips import make_clip, ready_asset
from truss.analytics import metrics
from truss.data import analytics as daily
from truss.data import platform_stats as platform_store
from truss.data.platform_stats import FetchNote
from truss.extensions import get_table
from truss.publishing.adapters.stats import Figures

CLID = "01J000000000000000000000ZZ"


def test_another_creator_sees_none_of_the_first_creators_analytics(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    owner = auth.login("owner@example.com", client=app.test_client())
    asset = ready_asset(app, owner.id, title="Owner's talk")
    make_clip(app, owner.id, asset.id, CLID, title="Owner's secret moment")
    today = datetime.now(UTC).date()
    with app.app_context():
        table = get_table()
        daily.apply_flush(table, owner.id, today, 0, "f1", {
            metrics.SHARE_VIEWS: 4321.0,
            metrics.qualified(metrics.PUBLISH_OK, "youtube"): 7.0,
            metrics.GEMINI_IN_TOKENS: 9_000_000.0,
        })  # fmt: skip
        platform_store.write_figures(
            table, owner.id, today, {("youtube", CLID): Figures(98765, 1, 1, 1, 60)}
        )
        note = FetchNote(time.time() - 7200, "YouTube answered 503: owner's error", time.time())
        platform_store.note_fetch(table, owner.id, today, "youtube", note)
        daily.add_asset_cost(table, owner.id, asset.id, "run-1", {"analysis.gemini_in_tokens": 1e6})

    auth.login("intruder@example.com")
    for path in ("/analytics", "/analytics?days=7", "/analytics?days=90", "/analytics.csv"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        for secret in ("4321", "4,321", "98765", "98,765", "secret moment", "owner's error"):
            assert secret not in body, (path, secret)
        assert 'class="mark' not in body
    rows = client.get("/analytics.csv").get_data(as_text=True).splitlines()[1:]
    assert all(set(row.split(",")[1:]) == {"0"} for row in rows)

    assert client.get(f"/analytics/assets/{asset.id}/cost").status_code == 404
    assert client.get("/analytics/assets/not-an-id/cost").status_code == 404


def test_analytics_pages_need_a_sign_in(client: FlaskClient) -> None:
    for path in (
        "/analytics",
        "/analytics.csv",
        "/analytics/assets/01J000000000000000000000ZZ/cost",
    ):
        response = client.get(path)
        assert response.status_code in (302, 303, 401)
