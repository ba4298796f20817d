"""Signing in: the "auth" blueprint. routes.py holds the email-link pages, sign out and the
dashboard; oauth_routes.py the OAuth start/callback views (they share finish_sign_in from
routes.py); session.py the signed-in gate every other view relies on."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)

from truss.auth import oauth_routes, routes  # noqa: E402, F401  (attach the views to bp)
