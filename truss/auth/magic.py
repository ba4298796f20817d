"""Magic links: a random token mailed to the creator, stored only as its SHA-256, spent once."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.table import Conflict, Item, Table

LINK_LIFETIME_S = 15 * 60
TOKEN_BYTES = 32  # 256 bits
MAX_EMAIL_LENGTH = 254
EMAIL_PATTERN = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f.]+$")

SendMail = Callable[[str, str, str], None]


@dataclass(frozen=True)
class MagicLink:
    """What a spent link carries: who signs in and where they wanted to go."""

    email: str
    next_path: str | None


class InvalidEmail(ValueError):
    """Not something we can send a link to; the message says what to fix."""


def clean_email(raw: str) -> str:
    """The normalised email, or InvalidEmail with a message a person can act on."""
    email = keys.normalise_email(raw or "")
    if not email:
        raise InvalidEmail("Enter your email address.")
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email) or "#" in email:
        raise InvalidEmail("That doesn't look like an email address. Check it and try again.")
    return email


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def store_link(table: Table, email: str, next_path: str | None, now: float) -> str:
    """Save a new link for this email and return the raw token (which is never stored)."""
    token = new_token()
    item: Item = {
        **keys.magic_link(token),
        "type": "magic_link",
        "email": email,
        "expires_at": int(now) + LINK_LIFETIME_S,
    }
    if next_path:
        item["next"] = next_path
    table.put_new(item)
    return token


def link_email_text(link: str) -> tuple[str, str]:
    """Subject and body of the sign-in email."""
    minutes = LINK_LIFETIME_S // 60
    body = (
        "Hi,\n\n"
        f"Open this link to sign in to Truss. It works once, within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "If you didn't ask to sign in, ignore this email: nothing happens without the link.\n"
    )
    return "Your Truss sign-in link", body


def send_link(
    table: Table,
    email: str,
    next_path: str | None,
    link_for: Callable[[str], str],
    send: SendMail,
    now: float | None = None,
) -> None:
    """The same work whoever asks: an unknown email gets a link that creates the account."""
    token = store_link(table, email, next_path, time.time() if now is None else now)
    subject, body = link_email_text(link_for(token))
    send(email, subject, body)


def _usable(item: Item | None, now: float) -> bool:
    return item is not None and int(item.get("expires_at", 0)) > now


def _link(item: Item) -> MagicLink:
    return MagicLink(email=str(item["email"]), next_path=item.get("next"))


def peek_link(table: Table, token: str, now: float | None = None) -> MagicLink | None:
    """The link if it is still good, else None. Reads only: the confirm page never spends it."""
    if not token:
        return None
    item = table.find(keys.magic_link(token))
    if item is None or not _usable(item, time.time() if now is None else now):
        return None
    return _link(item)


def spend_link(table: Table, token: str, now: float | None = None) -> MagicLink | None:
    """Spend the link with one conditional delete: exactly one caller ever gets it back."""
    if not token:
        return None
    try:
        old = table.delete(keys.magic_link(token), condition=Attr("PK").exists())
    except Conflict:
        return None
    if old is None or not _usable(old, time.time() if now is None else now):
        return None
    return _link(old)
