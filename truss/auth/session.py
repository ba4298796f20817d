"""Who is signed in: a signed cookie session checked against the creator on every request.

The cookie holds the creator id, a random session id, the creator's session version and two
times (issued, last seen). A request is signed in only while: the session is younger than
SESSION_MAX_DAYS, was used within SESSION_IDLE_MINUTES, its id has not been signed out, and its
version equals the creator's (bumped by "sign out everywhere").
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_htmx.responses import HTMXResponseClientRedirect
from werkzeug.wrappers import Response

from truss.data.creators import Creator, get_creator
from truss.data.table import NotFound
from truss.extensions import get_redis, get_table, htmx

F = TypeVar("F", bound=Callable[..., Any])
SEEN_GRANULARITY_S = 60
CREATOR_CACHE_S = 30
# Served with no session at all: no Redis or DynamoDB read for a cookie a probe may carry, so
# liveness answers while Redis is down.
SESSIONLESS_ENDPOINTS = {"static", "main.healthz", "main.readyz"}


def public(view: F) -> F:
    """Mark a view as reachable without signing in (everything else needs a creator)."""
    view.truss_public = True  # type: ignore[attr-defined]
    return view


def _revoked_key(sid: str) -> str:
    return f"truss:session:revoked:{sid}"


def _max_age_s() -> int:
    return int(current_app.config["SESSION_MAX_DAYS"]) * 86400


def _revoke(sid: str | None) -> None:
    if sid:
        get_redis().set(_revoked_key(sid), 1, ex=_max_age_s())


def sign_in(creator: Creator) -> None:
    """Start a brand-new session for this creator (the old one is revoked and dropped)."""
    _revoke(session.get("sid"))
    session.clear()
    now = int(time.time())
    session.permanent = True
    session.update(
        cid=creator.id, sid=secrets.token_urlsafe(16), sv=creator.session_version, iat=now, seen=now
    )


def sign_out() -> None:
    """End this session: its id is remembered as revoked until it would have expired anyway."""
    _revoke(session.get("sid"))
    session.clear()


def _session_alive(now: int) -> bool:
    config = current_app.config
    issued, seen = int(session.get("iat", 0)), int(session.get("seen", 0))
    if now - issued > _max_age_s() or now - seen > int(config["SESSION_IDLE_MINUTES"]) * 60:
        return False
    return not get_redis().exists(_revoked_key(str(session.get("sid", ""))))


def load_creator() -> Creator | None:
    """The signed-in creator for this request, or None (a dead session is cleared)."""
    cid = session.get("cid")
    if not cid:
        return None
    now = int(time.time())
    creator = None
    if _session_alive(now):
        creator = cached_creator(cid)
    if creator is None or creator.deleting or creator.session_version != session.get("sv"):
        session.clear()
        return None
    if now - int(session.get("seen", 0)) >= SEEN_GRANULARITY_S:
        session["seen"] = now
    return creator


def _creator_key(cid: str) -> str:
    return f"truss:creator:{cid}"


def cached_creator(cid: str) -> Creator | None:
    """The creator's profile, from a short-lived Redis copy (so a poll costs no extra read)."""
    redis = get_redis()
    raw = redis.get(_creator_key(cid))
    if raw:
        return Creator(**json.loads(raw))
    try:
        creator = get_creator(get_table(), cid)
    except NotFound:
        return None
    _cache_creator(creator)
    return creator


def _cache_creator(creator: Creator) -> None:
    get_redis().set(_creator_key(creator.id), json.dumps(asdict(creator)), ex=CREATOR_CACHE_S)


def remember_creator(creator: Creator) -> None:
    """Call after every change to the profile (name, session version): the cached copy is
    dropped, so the next request reads the new profile (a write could race a stale read)."""
    get_redis().delete(_creator_key(creator.id))


def current_creator() -> Creator:
    """The signed-in creator; only call from views that are not @public."""
    creator: Creator = g.creator
    return creator


def safe_next(target: str | None) -> str | None:
    """Only local paths are accepted as a place to return to after sign-in."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None  # browsers drop tabs/newlines and read '\\' as '/': "/\t/evil" is "//evil"
    return target


def _is_public_endpoint(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static":
        return True
    view = app.view_functions.get(endpoint)
    return bool(getattr(view, "truss_public", False))


def _login_redirect() -> Response:
    target = request.full_path if request.query_string else request.path
    login = url_for("auth.login", next=target)
    if htmx:
        return HTMXResponseClientRedirect(login)
    return redirect(login)


def install(app: Flask) -> None:
    """Load the creator on every request; anonymous requests for private pages go to sign in."""

    @app.before_request
    def require_creator() -> Response | None:
        g.creator = None
        if request.endpoint in SESSIONLESS_ENDPOINTS:
            return None
        g.creator = load_creator()
        if g.creator is None and not _is_public_endpoint(app, request.endpoint):
            return _login_redirect()
        return None

    @app.after_request
    def no_store_for_private_pages(response: Response) -> Response:
        if g.get("creator") is not None:
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response
