"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from truss.auth.session import public
from truss.data import get_table
from truss.extensions import limiter
from truss.health import health_report
from truss.queue import get_redis
from truss.storage import get_storage

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def landing() -> str:
    return render_template("main/landing.html")


@bp.get("/healthz")
@limiter.exempt
@public
def healthz() -> tuple[Response, int]:
    report = health_report(get_table(), get_storage(), get_redis())
    ok = all(part["ok"] for part in report.values())
    return jsonify(status="ok" if ok else "degraded", checks=report), 200 if ok else 503
