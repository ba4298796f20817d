"""The real local stack the worker-crash tests share: worker maintenance and heartbeat every
5 s, so a killed worker's job is found abandoned within about a minute (RQ 3's default would
have been ~7 minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.stack import LocalStack

MAINTENANCE_S, HEARTBEAT_S = 5, 5


def crash_stack(data_dir: Path) -> Iterator[LocalStack]:
    """Start the stack with the fast maintenance and heartbeat; stop it after the test."""
    fast_abandon = {
        "TRUSS_WORKER_MAINTENANCE_S": str(MAINTENANCE_S),
        "TRUSS_WORKER_HEARTBEAT_S": str(HEARTBEAT_S),
    }
    running = LocalStack(data_dir, fast_abandon).start()
    yield running
    running.stop()
