"""An analysis attempt's lease on its run: one attempt works a run at a time.

The attempt that claims a run (`claimed_by` on the asset) holds it until `lease_until` and
renews it from a thread while it works. A duplicate job of the run (an enqueue pushed
twice, an RQ retry while the first work horse still runs) finds the lease held and does
nothing; a retry after a crash finds it lapsed and takes over. The lease lasts at most
60 s, less than RQ needs to notice a killed worker's job (its heartbeat + 60 s), so the
retry of a crashed job never finds its dead predecessor still holding the run.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)
MAX_RENEW_EVERY_S = 20.0


@dataclass(frozen=True)
class Lease:
    seconds: float = 3 * MAX_RENEW_EVERY_S
    renew_every_s: float = MAX_RENEW_EVERY_S

    @classmethod
    def for_heartbeat(cls, heartbeat_s: float) -> Lease:
        """Renewed as often as the worker's heartbeat (at least every 20 s), lasting three
        renewals: a missed renewal or two doesn't lose the run, and a dead attempt's lease
        lapses before RQ retries its job."""
        every = max(1.0, min(float(heartbeat_s), MAX_RENEW_EVERY_S))
        return cls(seconds=3 * every, renew_every_s=every)


def new_attempt() -> str:
    return secrets.token_hex(8)


@contextmanager
def kept(renew: Callable[[], bool], every_s: float) -> Iterator[None]:
    """Call `renew` every `every_s` seconds from a thread while the block runs; it stops
    once `renew` says the lease is lost (the attempt's next write then fails)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                if not renew():
                    log.info("lease lost: this attempt's writes will be refused")
                    return
            except Exception:  # a blip: try again at the next renewal
                log.warning("could not renew the lease", exc_info=True)

    thread = threading.Thread(target=loop, name="truss-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s + 5)
