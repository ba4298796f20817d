"""Creator profiles, the email → creator item and the OAuth identity → creator items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ulid import ULID

from truss.data import keys
from truss.data.items import attr, from_item
from truss.data.table import AlreadyExists, Item, Table, create_only


def new_id() -> str:
    """Time-sortable id (ULID), so SK order is creation order."""
    return str(ULID())


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class Creator:
    id: str = field(metadata=attr(name="PK", read=keys.creator_id_from_pk))
    email: str
    name: str = ""
    plan: str = "free"
    created_at: str
    session_version: int = 1
    time_zone: str = "UTC"  # an IANA zone name: schedule times are typed and shown in it
    deleting: str = ""  # the account deletion's ticket once it started (truss.data.deletions)

    @classmethod
    def from_item(cls, item: Item) -> Creator:
        return from_item(cls, item)


def default_name(email: str) -> str:
    return email.split("@", 1)[0][:60]


def create_creator(table: Table, email: str, name: str | None = None) -> Creator:
    """Profile and email item in one transaction: AlreadyExists if the email has an owner."""
    cid = new_id()
    email = keys.normalise_email(email)
    profile: Item = {
        **keys.creator_profile(cid),
        "type": "creator",
        "email": email,
        "name": name or default_name(email),
        "plan": "free",
        "created_at": utc_now_iso(),
        "session_version": 1,
    }
    owner: Item = {**keys.email_owner(email), "type": "email", "creator_id": cid}
    table.transact([create_only(profile), create_only(owner)])
    return Creator.from_item(profile)


def get_creator(table: Table, cid: str) -> Creator:
    return Creator.from_item(table.get(keys.creator_profile(cid)))


def find_creator_by_email(table: Table, email: str) -> Creator | None:
    owner = table.find(keys.email_owner(email))
    return get_creator(table, owner["creator_id"]) if owner else None


def get_or_create_by_email(table: Table, email: str, name: str | None = None) -> Creator:
    """The email's creator, created on first sign-in; safe when two sign-ins race."""
    existing = find_creator_by_email(table, email)
    if existing:
        return existing
    try:
        return create_creator(table, email, name)
    except AlreadyExists:
        found = find_creator_by_email(table, email)
        if found is None:
            raise
        return found


def find_creator_by_identity(table: Table, provider: str, subject: str) -> Creator | None:
    owner = table.find(keys.identity_owner(provider, subject))
    return get_creator(table, owner["creator_id"]) if owner else None


def link_identity(table: Table, provider: str, subject: str, cid: str) -> None:
    """Map an OAuth identity to a creator; an identity belongs to one creator only."""
    item: Item = {
        **keys.identity_owner(provider, subject),
        "type": "identity",
        "creator_id": cid,
        "created_at": utc_now_iso(),
    }
    try:
        table.put_new(item)
    except AlreadyExists:
        if table.get(keys.identity_owner(provider, subject))["creator_id"] != cid:
            raise


def rename_creator(table: Table, cid: str, name: str) -> Creator:
    return Creator.from_item(table.update(keys.creator_profile(cid), {"name": name}))


def set_time_zone(table: Table, cid: str, time_zone: str) -> Creator:
    """Store the creator's time zone (an IANA name the caller has checked)."""
    return Creator.from_item(table.update(keys.creator_profile(cid), {"time_zone": time_zone}))


def end_all_sessions(table: Table, cid: str) -> Creator:
    """Bump the session version: every cookie issued before now stops working."""
    return Creator.from_item(
        table.update(keys.creator_profile(cid), {}, add={"session_version": 1})
    )
