"""Poll URLs carry a signature of (creator, kind, id): proof that this creator was shown the
item. When a polled item is gone, a valid signature means the creator deleted it (in another
tab, say): stop polling (286) and say so. Without one the item was never theirs: 404, the same
answer as every other route gives for another creator's ids. The library's one poll sends a
"ref" per working row: `<id>.<signature>`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, render_template, request
from flask_htmx.responses import HTMXResponseStopPolling
from itsdangerous import Signer

from truss.auth.session import current_creator
from truss.data.table import NotFound
from truss.extensions import htmx

ASSET = "asset"
CLIP = "clip"
T = TypeVar("T")


def _signer() -> Signer:
    """Signs with SECRET_KEY and also accepts SECRET_KEY_FALLBACKS (itsdangerous takes the
    keys oldest first, newest last), so pages opened before a key change keep polling."""
    config = current_app.config
    secrets = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return Signer(secrets, salt="truss.poll")


def _value(cid: str, kind: str, item_id: str) -> bytes:
    return "|".join((cid, kind, item_id)).encode()


def poll_token(cid: str, kind: str, item_id: str) -> str:
    """The signature alone: the URL shows neither the creator id nor anything else."""
    return _signer().get_signature(_value(cid, kind, item_id)).decode()


def was_shown(token: str, cid: str, kind: str, item_id: str) -> bool:
    """Whether `token` was made for this creator and this item."""
    if not token:
        return False
    return _signer().verify_signature(_value(cid, kind, item_id), token.encode())


def poll_ref(cid: str, kind: str, item_id: str) -> str:
    """What a row of a page-wide poll sends: its id and the signature, `<id>.<signature>`."""
    return f"{item_id}.{poll_token(cid, kind, item_id)}"


def read_refs(refs: list[str], cid: str, kind: str) -> tuple[list[str], set[str]]:
    """The ids the refs name, and those among them whose signature shows that this creator
    was shown them (the others may be anything: read them, never echo them)."""
    ids, shown = [], set()
    for ref in refs:
        item_id, _, token = ref.partition(".")
        ids.append(item_id)
        if was_shown(token, cid, kind, item_id):
            shown.add(item_id)
    return ids, shown


def gone_from_the_page(kind: str, item_id: str, template: str) -> HTMXResponseStopPolling:
    """A status poll for an item that is gone (call it on NotFound): deleted in another tab if
    this page was shown it (its signed poll token), so stop polling and say so; otherwise it
    was never this creator's, so NotFound: 404 like every other route."""
    if not (htmx and was_shown(request.args.get("t", ""), current_creator().id, kind, item_id)):
        raise NotFound(item_id)
    return HTMXResponseStopPolling(render_template(template))


def own_or_gone(own: Callable[[str], T], kind: str, item_id: str, gone_template: str) -> T:
    """A status poll's item, `own(item_id)` (the signed-in creator's, else NotFound). One
    gone meanwhile ends the request here: the poll stops with `gone_template` (286) if this
    page was shown it, else NotFound (404); see gone_from_the_page."""
    try:
        return own(item_id)
    except NotFound:
        abort(gone_from_the_page(kind, item_id, gone_template))
