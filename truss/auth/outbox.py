"""The local stack's dev pages: the outbox (the sign-in emails that would have been sent, newest
first) and what the fake publishing platforms received."""

from __future__ import annotations

from typing import Any

import requests
from flask import Blueprint, abort, current_app, render_template

from truss.auth.session import public
from truss.config import LOCAL
from truss.extensions import get_redis
from truss.mail import read_outbox

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.get("/outbox")
@public
def outbox() -> str:
    """404 anywhere but the local stack: production mail goes out by SMTP and is never listed."""
    if current_app.config.get("TRUSS_ENV") != LOCAL:
        abort(404)
    return render_template("dev/outbox.html", messages=read_outbox(get_redis()))


FAKES_TIMEOUT_S = 3.0


@bp.get("/platforms")
def platforms() -> str:
    """404 anywhere but the local stack: what `truss fake-platforms` received, newest first,
    each video playable from the fakes (the local CSP allows their origin for media)."""
    if current_app.config.get("TRUSS_ENV") != LOCAL:
        abort(404)
    base = str(current_app.config.get("FAKE_PLATFORMS_URL") or "").rstrip("/")
    received: list[dict[str, Any]] = []
    problem = ""
    if not base:
        problem = "The fake platforms aren't running (TRUSS_FAKE_PLATFORMS_PORT is 0)."
    else:
        try:
            answer = requests.get(f"{base}/_fake/received", timeout=FAKES_TIMEOUT_S)
            answer.raise_for_status()
            received = list(reversed(answer.json()))
        except (requests.RequestException, ValueError):
            problem = (
                f"The fake platforms at {base} aren't answering; see fake-platforms.log in the "
                "data directory (.truss/), or restart `truss dev`."
            )
    return render_template("dev/platforms.html", received=received, problem=problem, base=base)
