"""Public share links: `SHARE#<token>` / `CLIP` points at one creator's clip.

The token (`secrets.token_urlsafe(24)`, 192 bits) is the only thing a stranger holds. The
clip item remembers its live token (`share_token`) so the owner can revoke it. Create and
revoke each change both items in one transaction. A revoked share keeps its item (with
`revoked_at`, and a TTL a year out) so the link answers "no longer shared" rather than
"never existed"; a token is never reused.

This is the one place a creator-scoped key is built from stored data instead of the session:
the share item names the clip, and nothing else of the creator is reachable through it.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from truss.data import keys
from truss.data.clips import CLIP_TYPE, DELETED
from truss.data.creators import utc_now_iso
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Conflict, Item, NotFound, Table

SHARE_TYPE = "share"
TOKEN_BYTES = 24
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")  # token_urlsafe(24) is 32 characters
REVOKED_KEEP_S = 365 * 86400


@dataclass(frozen=True, kw_only=True)
class Share:
    token: str = field(metadata=attr(name="PK", read=keys.share_token_from_pk))
    creator_id: str
    clip_id: str
    created_at: str = ""
    revoked_at: str = ""

    @property
    def live(self) -> bool:
        return not self.revoked_at

    @classmethod
    def from_item(cls, item: Item) -> Share:
        return from_item(cls, item)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def get(table: Table, token: str) -> Share:
    """The share for a token from a URL; NotFound for anything that isn't one."""
    if not TOKEN_PATTERN.match(token):
        raise NotFound("share")
    item = table.get(keys.share(token))
    if item.get("type") != SHARE_TYPE:
        raise NotFound("share")
    return Share.from_item(item)


def create(table: Table, cid: str, clid: str, token: str) -> Share:
    """Write the share and remember it on the clip, in one transaction.

    Conflict when the clip is gone, being deleted (fenced) or already has a live share
    (AlreadyExists is folded in: either condition failing means "look at the clip again")."""
    now = utc_now_iso()
    item: Item = {
        **keys.share(token),
        "type": SHARE_TYPE,
        "creator_id": cid,
        "clip_id": clid,
        "created_at": now,
    }
    try:
        table.transact([_put_new(item), _remember_on_clip(cid, clid, token)])
    except AlreadyExists as exc:
        raise Conflict(f"clip {clid} is gone or already shared") from exc
    return Share.from_item(item)


def revoke(table: Table, cid: str, clid: str, token: str) -> None:
    """Mark the share revoked and forget it on the clip (Conflict if it isn't the live one)."""
    now = utc_now_iso()
    mark_revoked = {
        "Update": {
            "Key": keys.share(token),
            "UpdateExpression": "SET revoked_at = :now, expires_at = :ttl",
            "ConditionExpression": "creator_id = :cid AND clip_id = :clid",
            "ExpressionAttributeValues": {
                ":now": now,
                ":ttl": int(time.time()) + REVOKED_KEEP_S,
                ":cid": cid,
                ":clid": clid,
            },
        }
    }
    forget = {
        "Update": {
            "Key": keys.clip(cid, clid),
            "UpdateExpression": "REMOVE share_token",
            "ConditionExpression": "share_token = :token",
            "ExpressionAttributeValues": {":token": token},
        }
    }
    try:
        table.transact([mark_revoked, forget])
    except AlreadyExists as exc:
        raise Conflict(f"share of clip {clid} changed") from exc


def _put_new(item: Item) -> dict[str, object]:
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}


def _remember_on_clip(cid: str, clid: str, token: str) -> dict[str, object]:
    return {
        "Update": {
            "Key": keys.clip(cid, clid),
            "UpdateExpression": "SET share_token = :token",
            "ConditionExpression": "#type = :clip AND attribute_not_exists(share_token) "
            "AND (attribute_not_exists(#render_id) OR #render_id <> :deleted)",
            "ExpressionAttributeNames": {"#type": "type", "#render_id": "render_id"},
            "ExpressionAttributeValues": {":token": token, ":clip": CLIP_TYPE, ":deleted": DELETED},
        }
    }
