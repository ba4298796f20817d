"""A creator's connected platform accounts: `CREATOR#<cid>` / `PLATFORM_TOKEN#<platform>`.

The tokens themselves are only ever stored sealed (`envelope`, see truss/publishing/vault.py);
the other attributes are non-secret and shown on the connections page. Every change after the
first save is conditional on `version`, so a refresh never overwrites a reconnect (or the other
way round).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Conflict, Item, Table

TYPE = "platform_token"
CONNECTED = "connected"
NEEDS_RECONNECT = "needs_reconnect"
STATUSES = (CONNECTED, NEEDS_RECONNECT)
SAVE_TRIES = 3


@dataclass(frozen=True)
class Account:
    """The non-secret facts about a connected account (from the provider's profile)."""

    platform: str
    account_id: str
    account_name: str
    avatar_url: str = ""
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class PlatformToken:
    """One stored connection; `envelope` is the sealed token set (opaque here)."""

    creator_id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    platform: str
    account_id: str = ""
    account_name: str = ""
    avatar_url: str = ""
    scopes: tuple[str, ...] = ()
    status: str = CONNECTED
    connected_at: int = 0
    access_expires_at: int | None = None
    version: int = 0
    envelope: Mapping[str, Any] = field(default_factory=dict)
    reconnect_reason: str = ""

    @property
    def account(self) -> Account:
        return Account(
            self.platform, self.account_id, self.account_name, self.avatar_url, self.scopes
        )

    def __repr__(self) -> str:  # never print the envelope
        return (
            f"PlatformToken({self.creator_id!r}, {self.platform!r}, status={self.status!r}, "
            f"version={self.version})"
        )


def item_context(cid: str, platform: str) -> str:
    """The associated data a token set is sealed with: the item's key as `PK|SK`."""
    key = keys.platform_token(cid, platform)
    return f"{key['PK']}|{key['SK']}"


def _from_item(item: Item) -> PlatformToken:
    return from_item(PlatformToken, item)


def _fields(
    account: Account, envelope: Mapping[str, Any], access_expires_at: int | None, now: int
) -> dict[str, Any]:
    return {
        "type": TYPE,
        "platform": account.platform,
        "account_id": account.account_id,
        "account_name": account.account_name,
        "avatar_url": account.avatar_url,
        "scopes": list(account.scopes),
        "status": CONNECTED,
        "connected_at": now,
        "access_expires_at": access_expires_at,
        "envelope": dict(envelope),
    }


def save(
    table: Table,
    cid: str,
    account: Account,
    envelope: Mapping[str, Any],
    access_expires_at: int | None,
    now: int,
) -> PlatformToken:
    """Store a (re)connection, overwriting an earlier one of the same platform; the version
    keeps counting up, so a worker holding the old version can no longer write."""
    key = keys.platform_token(cid, account.platform)
    fields = _fields(account, envelope, access_expires_at, now)
    for _ in range(SAVE_TRIES):
        old = table.find(key)
        try:
            if old is None:
                table.put_new({**key, **fields, "version": 1})
                return _from_item({**key, **fields, "version": 1})
            version = int(old.get("version", 0))
            item = table.update(
                key,
                {**fields, "version": version + 1},
                condition=Attr("version").eq(version),
                remove=("reconnect_reason",),
            )
            return _from_item(item)
        except (AlreadyExists, Conflict):
            continue  # another save or refresh won the race: read again
    raise Conflict(f"{key['PK']} {key['SK']} kept changing while being saved")


def get(table: Table, cid: str, platform: str) -> PlatformToken | None:
    item = table.find(keys.platform_token(cid, platform))
    return _from_item(item) if item and item.get("type") == TYPE else None


def list_for_creator(table: Table, cid: str) -> list[PlatformToken]:
    """Every connection of one creator: one Query on the PLATFORM_TOKEN# prefix."""
    prefix = keys.PLATFORM_TOKEN.prefix_for()
    return [_from_item(item) for item in table.query_all(keys.creator_pk(cid), prefix)]


def delete(table: Table, cid: str, platform: str) -> PlatformToken | None:
    """Delete a connection; the deleted one (None if there was none)."""
    old = table.delete(keys.platform_token(cid, platform))
    return _from_item(old) if old else None


def mark_needs_reconnect(
    table: Table, cid: str, platform: str, expected_version: int, reason: str
) -> bool:
    """The token stopped working (refresh refused, revoked): the creator must reconnect.
    False when the item changed since `expected_version` (e.g. reconnected meanwhile)."""
    return _update_if_version(
        table,
        cid,
        platform,
        expected_version,
        {"status": NEEDS_RECONNECT, "reconnect_reason": reason},
    )


def replace_tokens_if_version(
    table: Table,
    cid: str,
    platform: str,
    expected_version: int,
    envelope: Mapping[str, Any],
    access_expires_at: int | None,
) -> bool:
    """Store a refreshed (or re-sealed) token set if nobody wrote since `expected_version`;
    False when someone else wrote first."""
    changes = {"envelope": dict(envelope), "access_expires_at": access_expires_at}
    return _update_if_version(table, cid, platform, expected_version, changes)


def _update_if_version(
    table: Table, cid: str, platform: str, expected_version: int, changes: Mapping[str, Any]
) -> bool:
    try:
        table.update(
            keys.platform_token(cid, platform),
            {**changes, "version": expected_version + 1},
            condition=Attr("version").eq(expected_version) & Attr("type").eq(TYPE),
        )
    except Conflict:
        return False
    return True


def scan_all(table: Table, page_size: int = 100) -> Iterator[PlatformToken]:
    """Every platform token of every creator, for the rare operator command that re-seals
    them all: a paginated Scan (it reads, and pays for, the WHOLE table; the filter only
    shrinks what comes back)."""
    tokens = Attr("SK").begins_with(keys.PLATFORM_TOKEN.prefix_for()) & Attr("type").eq(TYPE)
    for item in table.scan(tokens, page_size=page_size):
        yield _from_item(item)
