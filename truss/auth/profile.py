"""The creator's own profile: the display name shown on the dashboard."""

from __future__ import annotations

from truss.auth.session import remember_creator
from truss.data.creators import Creator, rename_creator
from truss.data.table import Table

MAX_NAME_LENGTH = 60


class InvalidName(ValueError):
    """A display name we won't store; the message says what to fix."""


def clean_display_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise InvalidName("Enter a display name.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"Use at most {MAX_NAME_LENGTH} characters (that was {len(name)}).")
    return name


def change_display_name(table: Table, creator: Creator, raw: str | None) -> Creator:
    renamed = rename_creator(table, creator.id, clean_display_name(raw))
    remember_creator(renamed)
    return renamed
