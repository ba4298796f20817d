"""Poll URLs carry a signature of (creator, kind, id): proof that this creator was shown the
item. When a polled item is gone, a valid signature means the creator deleted it (in another
tab, say): stop polling (286) and say so. Without one the item was never theirs: 404, the same
answer as every other route gives for another creator's ids."""

from __future__ import annotations

from flask import current_app
from itsdangerous import Signer

ASSET = "asset"
CLIP = "clip"


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
