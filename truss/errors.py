"""Error pages: a whole page for a browser, a fragment for htmx."""

from __future__ import annotations

from flask import Flask, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from truss.data.table import BadCursor, NotFound
from truss.extensions import htmx

SIGN_OUT_ENDPOINT = "auth.logout"
SIGN_OUT_REDIRECT = "auth.login"  # where auth.logout itself lands

MESSAGES = {
    400: ("That request didn't make sense", "Go back and try again."),
    403: ("You can't do that", "If you think you should, sign in again."),
    404: ("Page not found", "The link may be old, or the item was deleted."),
    405: ("That doesn't work here", "Go back and use the page's buttons."),
    413: ("That's too large", "Send something smaller."),
    429: ("Slow down a little", "You've tried that many times in a short while. Wait a minute."),
    500: ("Something went wrong on our side", "It's been logged. Try again in a moment."),
}


STALE_PAGE = (
    "This page is out of date",
    "It was loaded before your last sign-in or sign-out, so nothing was changed."
    " Reload the page, then try again.",
)


def render_error(code: int, detail: str | None = None, title: str | None = None) -> tuple[str, int]:
    default_title, hint = MESSAGES.get(code, (f"Error {code}", "Go back and try again."))
    template = "errors/_error.html" if htmx else "errors/error.html"
    page = render_template(template, code=code, title=title or default_title, hint=detail or hint)
    return page, code


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def already_signed_out() -> ResponseReturnValue:
    """Sign out pressed after the session ended: its expiry cleared the CSRF token with it, but
    there is nothing left to protect, so the sign-out completes. Signed-in requests still need
    the token (a forged POST can't sign anyone out)."""
    flash("You're signed out.", "info")
    return redirect(url_for(SIGN_OUT_REDIRECT), code=303)


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return render_error(exc.code or 500)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> tuple[str, int]:
        """A route's own `error_message` says what to do; otherwise the general 429 hint."""
        return render_error(429, exc.description if exc.limit.error_message else None)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> ResponseReturnValue:
        """Private pages send signed-out requests to sign in before this check: the page is old."""
        if request.endpoint == SIGN_OUT_ENDPOINT and g.get("creator") is None:
            return already_signed_out()
        title, hint = STALE_PAGE
        if wants_json():
            return jsonify(error=f"{title}. {hint}"), 400
        return render_error(400, hint, title)

    @app.errorhandler(NotFound)
    def missing_item(exc: NotFound) -> tuple[str, int]:
        """A video, clip or stream that doesn't exist or isn't this creator's (the get-or-404
        helpers raise it): a 404 page, everywhere (the API and the share page say it their way)."""
        return render_error(404)

    @app.errorhandler(BadCursor)
    def bad_cursor(exc: BadCursor) -> tuple[str, int]:
        return render_error(400, str(exc))

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> tuple[str, int]:
        return render_error(500)
