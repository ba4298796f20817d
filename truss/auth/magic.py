"""Magic links: a random token mailed to the creator, stored only as its SHA-256, spent once."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from truss.data import keys, magic_links
from truss.data.magic_links import StoredLink
from truss.data.table import Table

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
    magic_links.save(table, token, email, next_path, int(now) + LINK_LIFETIME_S)
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


def _usable(link: StoredLink | None, now: float | None) -> MagicLink | None:
    if link is None or not link.usable(time.time() if now is None else now):
        return None
    return MagicLink(email=link.email, next_path=link.next_path)


def peek_link(table: Table, token: str, now: float | None = None) -> MagicLink | None:
    """The link if it is still good, else None. Reads only: the confirm page never spends it."""
    if not token:
        return None
    return _usable(magic_links.find(table, token), now)


def spend_link(table: Table, token: str, now: float | None = None) -> MagicLink | None:
    """Spend the link with one conditional delete: exactly one caller ever gets it back."""
    if not token:
        return None
    return _usable(magic_links.take(table, token), now)
