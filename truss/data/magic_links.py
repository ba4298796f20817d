"""Magic-link tokens (`MAGIC#<sha256(token)>` / `VERIFY`): stored hashed, spent by one
conditional delete; `expires_at` is also the table's TTL (which deletes late: check it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.items import attr, from_item
from truss.data.table import Conflict, Item, Table

MAGIC_LINK_TYPE = "magic_link"


@dataclass(frozen=True, kw_only=True)
class StoredLink:
    """A link as stored: who signs in, where they wanted to go, and until when it works."""

    email: str
    next_path: str | None = field(default=None, metadata=attr(name="next"))
    expires_at: int = 0

    def usable(self, now: float) -> bool:
        return self.expires_at > now


def link_item(token: str, email: str, next_path: str | None, expires_at: int) -> Item:
    item: Item = {
        **keys.magic_link(token),
        "type": MAGIC_LINK_TYPE,
        "email": email,
        "expires_at": expires_at,
    }
    if next_path:
        item["next"] = next_path
    return item


def save(table: Table, token: str, email: str, next_path: str | None, expires_at: int) -> None:
    """Store a new link under its token's hash (AlreadyExists if that token was ever stored)."""
    table.put_new(link_item(token, email, next_path, expires_at))


def find(table: Table, token: str) -> StoredLink | None:
    """The stored link, spent or not expired or not; None when there is none."""
    item = table.find(keys.magic_link(token))
    return None if item is None else from_item(StoredLink, item)


def take(table: Table, token: str) -> StoredLink | None:
    """Delete the link and return it: of concurrent callers, exactly one gets it back."""
    try:
        old = table.delete(keys.magic_link(token), condition=Attr("PK").exists())
    except Conflict:
        return None
    return None if old is None else from_item(StoredLink, old)
