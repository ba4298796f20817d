"""What the routes asked RQ to run, read back from the queues (fakeredis).

The wiring tests don't swap the enqueuer: the app only queues (RQ_ASYNC on: no job runs in
the test) and the test reads the queue's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask

from truss.queue import get_queue


@dataclass
class Queued:
    """The jobs waiting in the app's queues; making one switches the app to queue-only."""

    app: Flask

    def __post_init__(self) -> None:
        self.app.config["RQ_ASYNC"] = True

    def args(self, queue: str) -> list[tuple[Any, ...]]:
        """The arguments of each job waiting in `queue`, oldest first."""
        with self.app.app_context():
            return [tuple(job.args) for job in get_queue(queue).get_jobs()]

    @property
    def analyses(self) -> list[str]:
        """The video ids whose analysis was queued."""
        return [args[1] for args in self.args("analysis")]

    @property
    def renders(self) -> list[tuple[str, str, str]]:
        """(creator id, clip id, render id) of each render queued."""
        return [(args[0], args[1], args[2]) for args in self.args("render")]

    def clear(self) -> None:
        with self.app.app_context():
            for name in ("analysis", "render"):
                get_queue(name).empty()
