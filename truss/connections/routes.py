"""/connections: the page, connect (→ the provider) and its callback, disconnect, and a pasted
Discord webhook. Every route acts on the signed-in creator's own connections only."""

from __future__ import annotations

import hmac
import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from truss.auth.session import current_creator
from truss.connections import service
from truss.connections.helpers import cards, known_platform, label, own_connection, vault_problem
from truss.data import platform_tokens
from truss.extensions import get_table, get_token_service
from truss.publishing import providers
from truss.publishing.tokens import TokenService
from truss.publishing.vault import VaultNotConfigured
from truss.urls import external_url

bp = Blueprint("connections", __name__)
PENDING = "truss.connect"  # the session's pending OAuth flow: platform, state, PKCE verifier
PENDING_MAX_AGE_S = 15 * 60
WEBHOOK_FIELD = "webhook_url"


def redirect_uri() -> str:
    """The one callback every provider sends the browser back to (register it with each)."""
    return external_url("connections.callback")


def render_page(webhook_error: str = "", status: int = 200) -> tuple[str, int]:
    """The page; a pasted webhook URL is never echoed back (it holds the webhook's token)."""
    config = current_app.config
    records = platform_tokens.list_for_creator(get_table(), current_creator().id)
    page = render_template(
        "connections/index.html",
        cards=cards(config, records),
        vault_problem=vault_problem(),
        redirect_uri=redirect_uri(),
        webhook_error=webhook_error,
        webhook_field=WEBHOOK_FIELD,
    )
    return page, status


@bp.get("/connections")
def index() -> tuple[str, int]:
    return render_page()


@bp.post("/connections/<platform>/connect")
def connect(platform: str) -> BaseResponse | tuple[str, int]:
    spec = known_platform(platform)
    config = current_app.config
    if not providers.configured(platform, config):
        flash(f"{spec.label} isn't set up on this server.", "error")
        return redirect(url_for("connections.index"))
    if problem := vault_problem():
        flash(problem, "error")
        return redirect(url_for("connections.index"))
    url, state, verifier = providers.authorize_url(platform, config, redirect_uri())
    session[PENDING] = {
        "platform": platform,
        "state": state,
        "verifier": verifier,
        "at": int(time.time()),
    }
    return redirect(url, code=303)


@bp.get("/connections/callback")
def callback() -> BaseResponse | tuple[str, int]:
    pending = session.pop(PENDING, None) or {}
    state = request.args.get("state", "")
    fresh = time.time() - float(pending.get("at", 0)) < PENDING_MAX_AGE_S
    if not (pending and state and fresh and hmac.compare_digest(state, pending.get("state", ""))):
        flash(
            "That connection attempt expired or didn't start on this page, so nothing was "
            "connected. Press Connect again.",
            "error",
        )
        return render_page(status=400)
    platform = pending["platform"]
    config = current_app.config
    name = label(platform, config)
    if problem := service.callback_problem(name, request.args):
        flash(problem, "error")
        return redirect(url_for("connections.index"))
    try:
        record = service.finish_connect(
            get_token_service(),
            config,
            current_creator().id,
            platform,
            request.args["code"],
            redirect_uri(),
            pending.get("verifier", ""),
        )
    except service.ConnectFailed as exc:
        flash(str(exc), "error")
    else:
        flash(f"Connected {name}: {record.account_name}.", "success")
    return redirect(url_for("connections.index"))


@bp.post("/connections/discord/webhook")
def paste_webhook() -> BaseResponse | tuple[str, int]:
    url = request.form.get(WEBHOOK_FIELD, "").strip()[:500]
    if problem := vault_problem():
        flash(problem, "error")
        return redirect(url_for("connections.index"))
    if not url:
        return render_page("Paste the webhook URL you copied from Discord.", status=400)
    config = current_app.config
    try:
        record = service.connect_webhook(get_token_service(), config, current_creator().id, url)
    except service.ConnectFailed as exc:
        return render_page(str(exc), status=400)
    flash(f"Connected {label('discord', config)}: {record.account_name}.", "success")
    return redirect(url_for("connections.index"))


@bp.post("/connections/<platform>/disconnect")
def disconnect(platform: str) -> BaseResponse:
    record = own_connection(platform)
    config = current_app.config
    name = label(platform, config)
    try:
        tokens: TokenService | None = get_token_service()
    except VaultNotConfigured:
        tokens = None
    done = service.disconnect(tokens, get_table(), config, record)
    if done.pasted_webhook:
        flash(
            f"Disconnected {name}. The webhook itself still exists in Discord: delete it in the "
            "channel's settings (Integrations → Webhooks) if you no longer want it.",
            "success",
        )
    elif done.revoked:
        flash(f"Disconnected {name}; Truss's access was revoked at {name}.", "success")
    else:
        flash(
            f"Disconnected {name} here, but {name} didn't confirm it revoked Truss's access. "
            f"To be sure, remove Truss from the connected apps in your {name} account settings.",
            "error",
        )
    return redirect(url_for("connections.index"))
