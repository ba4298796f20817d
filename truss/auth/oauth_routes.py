"""OAuth views: send the browser to the provider, and turn its answer into a signed-in creator.

Any failure (consent denied, state mismatch, provider down, a bad id_token) goes back to the
sign-in page with a message; it is never a 500.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

from truss.auth import bp, oauth
from truss.auth.routes import finish_sign_in
from truss.auth.session import public, safe_next
from truss.extensions import get_table
from truss.urls import external_url

NEXT_KEY = "oauth_next"


def _back_to_login(message: str) -> Response:
    flash(message, "error")
    return redirect(url_for("auth.login"), code=303)


def _failure_message(label: str) -> str:
    if request.args.get("error") == "access_denied":
        return f"You cancelled signing in with {label}. Nothing was changed."
    return f"We couldn't sign you in with {label}. Try again, or use an email link."


@bp.get("/auth/<provider>/start")
@public
def oauth_start(provider: str) -> Response:
    oauth_client = oauth.client(provider)
    if oauth_client is None:
        abort(404)
    session[NEXT_KEY] = safe_next(request.args.get("next")) or ""
    redirect_uri = external_url("auth.oauth_callback", provider=provider)
    try:
        response: Response = oauth_client.authorize_redirect(redirect_uri)
    except oauth.PROVIDER_ERRORS as exc:
        current_app.logger.warning("oauth %s start failed: %r", provider, exc)
        return _back_to_login(_failure_message(oauth.LABELS[provider]))
    return response


@bp.get("/auth/<provider>/callback")
@public
def oauth_callback(provider: str) -> Response:
    oauth_client = oauth.client(provider)
    if oauth_client is None:
        abort(404)
    label = oauth.LABELS[provider]
    next_path = session.pop(NEXT_KEY, None)
    try:
        identity = oauth.fetch_identity(provider, oauth_client)
    except oauth.PROVIDER_ERRORS as exc:
        current_app.logger.warning("oauth %s callback failed: %r", provider, exc)
        return _back_to_login(_failure_message(label))
    try:
        creator = oauth.creator_for(get_table(), identity)
    except oauth.SignInRefused as exc:
        return _back_to_login(str(exc))
    return finish_sign_in(creator, next_path)
