"""Sign-in pages: email links, sign out (here and everywhere) and the dashboard."""

from __future__ import annotations

import time

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from truss.auth import bp, magic, oauth, profile
from truss.auth.session import (
    current_creator,
    public,
    remember_creator,
    safe_next,
    sign_in,
    sign_out,
)
from truss.data.creators import Creator, end_all_sessions, get_or_create_by_email
from truss.extensions import get_table, htmx, limiter
from truss.mail import queue_email
from truss.urls import external_url

SENT_TO = "link_sent_to"
TOO_MANY_LINKS = (
    "You've asked for several sign-in links in a short while. The links already sent still "
    "work: check your inbox (and spam). To get a new one, wait 15 minutes and try again."
)
ACCOUNT_BEING_DELETED = (
    "This account is being deleted, so it can't be signed in to. Once the deletion is done "
    "(usually within a few minutes), the same email can sign up again as a new account."
)
TOO_MANY_TRIES = "Too many sign-in attempts from here. Wait 15 minutes, then ask for a new link."


def landing_path(next_path: str | None) -> str:
    """Where a fresh sign-in lands: a safe local page that answers GET, else the dashboard."""
    target = safe_next(next_path)
    if target:
        adapter = current_app.url_map.bind("localhost")
        try:
            adapter.match(target.split("?", 1)[0], method="GET")
            return target
        except RequestRedirect:  # e.g. a missing trailing slash: still a fine place to land
            return target
        except (NotFound, MethodNotAllowed):
            pass
    return url_for("auth.dashboard")


def finish_sign_in(creator: Creator, next_path: str | None) -> Response:
    if creator.deleting:  # truss.deletion: the account is being deleted
        flash(ACCOUNT_BEING_DELETED, "error")
        return redirect(url_for("auth.login"), code=303)
    sign_in(creator)
    return redirect(landing_path(next_path), code=303)


def _email_key() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()[:320]


def _link_rate_per_email() -> str:
    return str(current_app.config["RATELIMIT_LINK_PER_EMAIL"])


def _link_rate_per_ip() -> str:
    return str(current_app.config["RATELIMIT_LINK_PER_IP"])


def _spend_rate_per_ip() -> str:
    return str(current_app.config["RATELIMIT_SPEND_PER_IP"])


def _login_page(error: str | None = None, email: str = "", status: int = 200) -> tuple[str, int]:
    next_path = safe_next(request.values.get("next")) or ""
    page = render_template(
        "auth/login.html",
        error=error,
        email=email,
        next_path=next_path,
        providers=oauth.enabled_providers(),
    )
    return page, status


@bp.get("/login")
@public
def login() -> Response | tuple[str, int]:
    if g.get("creator") is not None:
        return redirect(landing_path(request.args.get("next")))
    return _login_page()


@bp.post("/login")
@public
@limiter.limit(_link_rate_per_ip, scope="magic-link-ip", error_message=TOO_MANY_LINKS)
@limiter.limit(
    _link_rate_per_email,
    key_func=_email_key,
    scope="magic-link-email",
    error_message=TOO_MANY_LINKS,
)
def request_link() -> Response | tuple[str, int]:
    raw = request.form.get("email", "")
    try:
        email = magic.clean_email(raw)
    except magic.InvalidEmail as exc:
        return _login_page(error=str(exc), email=raw[:320], status=400)
    next_path = safe_next(request.form.get("next"))
    magic.send_link(
        get_table(),
        email,
        next_path,
        link_for=lambda token: external_url("auth.confirm_link", token=token),
        send=queue_email,
    )
    session[SENT_TO] = email
    return redirect(url_for("auth.link_sent"), code=303)


@bp.get("/login/sent")
@public
def link_sent() -> str:
    return render_template(
        "auth/link_sent.html",
        email=session.get(SENT_TO, ""),
        minutes=magic.LINK_LIFETIME_S // 60,
    )


# Pages whose URL holds a token send only their origin as Referer: the token never leaves
# the page, and the page's own form still passes Flask-WTF's strict HTTPS referrer check.
TOKEN_PAGE_REFERRER_POLICY = "strict-origin"


def _token_page(page: str, status: int = 200) -> Response:
    """Pages whose URL holds a token: never leak it onward, never cache it."""
    response = current_app.make_response((page, status))
    response.headers["Referrer-Policy"] = TOKEN_PAGE_REFERRER_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid_link_page() -> Response:
    page = render_template("auth/link_invalid.html", minutes=magic.LINK_LIFETIME_S // 60)
    return _token_page(page, 410)


@bp.get("/login/link/<token>")
@public
def confirm_link(token: str) -> Response:
    """Mail scanners follow links: this page only asks; the POST from it signs in."""
    link = magic.peek_link(get_table(), token)
    if link is None:
        return _invalid_link_page()
    return _token_page(render_template("auth/confirm.html", token=token, email=link.email))


@bp.post("/login/link/<token>")
@public
@limiter.limit(_spend_rate_per_ip, scope="magic-link-spend-ip", error_message=TOO_MANY_TRIES)
def spend_link(token: str) -> Response:
    table = get_table()
    link = magic.spend_link(table, token, now=time.time())
    if link is None:
        return _invalid_link_page()
    response = finish_sign_in(get_or_create_by_email(table, link.email), link.next_path)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/logout")
@public
def logout() -> Response:
    """Public, so an already-expired session can still press the button and land somewhere."""
    sign_out()
    flash("You're signed out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/logout/everywhere")
def logout_everywhere() -> Response:
    remember_creator(end_all_sessions(get_table(), current_creator().id))
    sign_out()
    flash("You're signed out on every device and browser.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/dashboard")
def dashboard() -> str:
    return render_template("auth/dashboard.html", creator=current_creator())


@bp.post("/dashboard/name")
def rename() -> Response | tuple[str, int] | str:
    creator = current_creator()
    submitted = request.form.get("name", "")
    try:
        creator = profile.change_display_name(get_table(), creator, submitted)
    except profile.InvalidName as exc:
        if htmx:  # htmx swaps only 2xx answers: the error comes back in the fragment
            return render_template(
                "auth/_name_form.html", creator=creator, error=str(exc), value=submitted
            )
        page = render_template(
            "auth/dashboard.html", creator=creator, error=str(exc), value=submitted
        )
        return page, 400
    if htmx:
        return render_template("auth/_name_form.html", creator=creator, saved=True)
    flash("Display name saved.", "info")
    return redirect(url_for("auth.dashboard"), code=303)
