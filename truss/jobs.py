"""Thin RQ entry points: take ids, build what they need, call a service."""

from __future__ import annotations


def ping(word: str = "pong") -> str:
    """A trivial job: proves a real worker picks work up (used by the stack test)."""
    return word
