"""The landing page, liveness (/healthz) and readiness (/readyz)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from truss.auth.session import public
from truss.extensions import get_probe_storage, get_probe_table, get_redis, limiter
from truss.health import ReadinessCache, Report, backend_report, is_ready, proxy_check
from truss.proxy import proxy_warning

bp = Blueprint("main", __name__)
READINESS = "truss.readiness"


@bp.get("/")
@public
def landing() -> str:
    return render_template("main/landing.html")


@bp.get("/healthz")
@limiter.exempt
@public
def healthz() -> Response:
    """Liveness: the process answers. No backend call: an outage there never restarts us."""
    return jsonify(status="alive")


def _readiness_cache() -> ReadinessCache:
    cache = current_app.extensions.get(READINESS)
    if cache is None:
        fresh = ReadinessCache(float(current_app.config.get("READINESS_CACHE_S", 5)))
        cache = current_app.extensions.setdefault(READINESS, fresh)
    return cache


def _measure() -> Report:
    """Through clients that give up fast (1 s connect, 2 s read, one attempt)."""
    return backend_report(get_probe_table(), get_probe_storage(), get_redis())


@bp.get("/readyz")
@limiter.exempt
@public
def readyz() -> tuple[Response, int]:
    """Readiness: DynamoDB, S3 and Redis reachable; worker and proxy setting reported too."""
    checks = {**_readiness_cache().get(_measure), "proxy": proxy_check(proxy_warning())}
    ready = is_ready(checks)
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
