"""The local stack's outbox: the sign-in emails that would have been sent, newest first."""

from __future__ import annotations

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
