"""/analytics: the signed-in creator's dashboard (7/30/90 UTC days) and its CSV."""

from __future__ import annotations

import csv
import io
from contextlib import suppress

from flask import Blueprint, Response, current_app, render_template, request
from redis.exceptions import RedisError

from truss.analytics import cost, csv_export, dashboard, platform_stats
from truss.assets.helpers import own_asset
from truss.auth.session import current_creator
from truss.data import asset_storage
from truss.data.analytics import read_asset_cost
from truss.extensions import get_redis, get_table

bp = Blueprint("analytics", __name__)


def _dashboard() -> dashboard.Dashboard:
    cid = current_creator().id
    prices = cost.Prices.from_config(current_app.config)
    board = dashboard.load(get_table(), cid, dashboard.range_of(request.args.get("days")), prices)
    _keep_tracked(cid)  # posts published before statistics existed are found this way too
    return board


def _keep_tracked(cid: str) -> None:
    """The statistics rounds ask about this creator (again, if Redis lost the set); a
    creator with no published post is dropped by the next round's job."""
    with suppress(RedisError):  # the page doesn't need it; the next publish tracks it again
        platform_stats.track(get_redis(), cid)


@bp.get("/analytics")
def index() -> str:
    return render_template(
        "analytics/index.html",
        board=_dashboard(),
        ranges=dashboard.RANGES,
        dollars=dashboard.dollars,
    )


@bp.get("/analytics.csv")
def download() -> Response:
    board = _dashboard()
    out = io.StringIO()
    csv.writer(out).writerows(csv_export.csv_rows(board))
    name = f"truss-analytics-{board.first.isoformat()}-{board.last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/analytics/assets/<aid>/cost")
def asset_cost(aid: str) -> str:
    """The video page's cost section (loaded by htmx): its analysis, renders and storage."""
    asset = own_asset(aid)
    table = get_table()
    spent = cost.asset_cost(
        read_asset_cost(table, asset.creator_id, asset.id),
        cost.Prices.from_config(current_app.config),
        asset_storage.stored_bytes(table, asset.creator_id, asset.id),
    )
    return render_template("analytics/_asset_cost.html", spent=spent, dollars=dashboard.dollars)
