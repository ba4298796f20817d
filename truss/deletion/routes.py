"""The "deletion" blueprint: /account/delete (what goes, the email typed again, the button),
then the signed-out progress page /account/deleted, polled until the account is gone.

The progress page finds its deletion only through the ticket kept in this browser's signed
session cookie: no URL names a deletion, so nobody else can see or start one."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_htmx.responses import HTMXResponseStopPolling
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from truss.auth.session import current_creator, public, remember_creator, sign_out
from truss.data import deletions
from truss.data.deletions import Deletion
from truss.data.table import NotFound
from truss.deletion import service
from truss.deletion.jobs import enqueue_deletion, requeue_if_lost
from truss.extensions import get_table

log = logging.getLogger(__name__)
bp = Blueprint("deletion", __name__)
TICKET = "deletion_ticket"  # the session key the signed-out progress page reads


@bp.get("/account/delete")
def confirm() -> str:
    return render_template("deletion/confirm.html", steps=service.STEPS, error="", email="")


@bp.post("/account/delete")
def start() -> Response | tuple[str, int]:
    creator = current_creator()
    typed = request.form.get("email", "")
    try:
        service.check_email(creator, typed)
    except service.WrongEmail as exc:
        page = render_template(
            "deletion/confirm.html", steps=service.STEPS, error=str(exc), email=typed[:254]
        )
        return page, 400
    ticket = service.begin(get_table(), creator)
    remember_creator(creator)  # the cached profile (not yet marked) is dropped
    _queue(ticket)
    sign_out()
    session[TICKET] = ticket
    return redirect(url_for("deletion.progress"), code=303)


def _queue(ticket: str) -> None:
    """Queue the job; if Redis refuses, the progress poll queues it again (_nudge)."""
    try:
        enqueue_deletion(ticket)
    except RedisError:
        log.exception("could not queue account deletion %s; the progress page will", ticket)


def _nudge(ticket: str) -> None:
    """While its page polls, a deletion whose job RQ lost is queued again."""
    try:
        requeue_if_lost(ticket)
    except RedisError:
        log.warning("could not check the job of account deletion %s", ticket)


def _this_browsers_deletion() -> Deletion:
    ticket = session.get(TICKET)
    if not ticket:
        abort(404)
    try:
        return deletions.get(get_table(), str(ticket))
    except NotFound:
        abort(404)


@bp.get("/account/deleted")
@public
def progress() -> str:
    deletion = _this_browsers_deletion()
    return render_template("deletion/progress.html", deletion=deletion, steps=service.STEPS)


@bp.get("/account/deleted/status")
@public
def status() -> Response | str:
    """The steps done so far (one GetItem), polled every 2 s; polling stops once done."""
    deletion = _this_browsers_deletion()
    html = render_template("deletion/_status.html", deletion=deletion, steps=service.STEPS)
    if deletion.done:
        return HTMXResponseStopPolling(html)
    _nudge(deletion.ticket)
    return html
