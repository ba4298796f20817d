"""Error pages: a whole page for a browser, a fragment for htmx."""

from __future__ import annotations

from flask import Flask, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from truss.data.table import BadCursor
from truss.extensions import htmx

MESSAGES = {
    400: ("That request didn't make sense", "Go back and try again."),
    403: ("You can't do that", "If you think you should, sign in again."),
    404: ("Page not found", "The link may be old, or the item was deleted."),
    405: ("That doesn't work here", "Go back and use the page's buttons."),
    413: ("That's too large", "Send something smaller."),
    429: ("Slow down a little", "You've tried that many times in a short while. Wait a minute."),
    500: ("Something went wrong on our side", "It's been logged. Try again in a moment."),
}


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    title, hint = MESSAGES.get(code, (f"Error {code}", "Go back and try again."))
    template = "errors/_error.html" if htmx else "errors/error.html"
    return render_template(template, code=code, title=title, hint=detail or hint), code


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        return render_error(exc.code or 500)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> tuple[str, int]:
        """A route's own `error_message` says what to do; otherwise the general 429 hint."""
        return render_error(429, exc.description if exc.limit.error_message else None)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return render_error(400, "This form expired. Reload the page and try again.")

    @app.errorhandler(BadCursor)
    def bad_cursor(exc: BadCursor) -> tuple[str, int]:
        return render_error(400, str(exc))

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> tuple[str, int]:
        return render_error(500)
