"""Reverse proxies in front of Truss: trust exactly TRUSS_PROXY_HOPS of them, and say so loudly
when the requests show the setting is wrong (per-IP rate limits would key on a proxy).

Behind `hops` proxies, ProxyFix takes the client address and scheme from the `hops`-th last
`X-Forwarded-For` / `X-Forwarded-Proto` values. A request that carries `X-Forwarded-For` while
hops is 0, or fewer addresses than hops, suggests the address the limiter sees is a proxy's. One
such request proves nothing (anyone can send the header), so the warning is raised only when
more than half of a process's last WINDOW requests mismatch; it is logged once, shown in the
readiness report (/readyz), and cleared after QUIET_S seconds without a mismatching request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

EXTENSION = "truss.proxy"
UNCHECKED_ENDPOINTS = {"main.healthz", "main.readyz"}  # load balancer probes come direct
WINDOW = 20  # the warning needs more than half of this many recent requests to mismatch
QUIET_S = 600.0  # and clears after this long without a mismatching request


class ProxyCheck:
    """Watches whether TRUSS_PROXY_HOPS matches the requests, by majority over recent ones."""

    def __init__(
        self,
        hops: int,
        window: int = WINDOW,
        quiet_s: float = QUIET_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hops = hops
        self.window = window
        self.quiet_s = quiet_s
        self.clock = clock
        self._recent: deque[bool] = deque(maxlen=window)
        self._warning = ""
        self._last_mismatch = 0.0
        self._lock = threading.Lock()

    def problem(self, environ: dict[str, Any]) -> str:
        """What is wrong with the setting for this request, or "" when it matches."""
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")
        addresses = [part.strip() for part in forwarded if part.strip()]
        if not self.hops and addresses:
            return (
                "Requests arrive with X-Forwarded-For but TRUSS_PROXY_HOPS is 0: per-IP rate "
                "limits see the proxy's address, so they apply to everyone at once. Set "
                "TRUSS_PROXY_HOPS to the number of proxies in front of Truss."
            )
        if self.hops and len(addresses) < self.hops:
            return (
                f"TRUSS_PROXY_HOPS is {self.hops} but a request came with "
                f"{len(addresses)} X-Forwarded-For address(es): per-IP rate limits see a "
                "proxy's address, or requests reach Truss without passing the proxy. Set "
                "TRUSS_PROXY_HOPS to the number of proxies that add X-Forwarded-For."
            )
        return ""

    @property
    def warning(self) -> str:
        """The current warning, or "" (also once QUIET_S passed without a mismatch)."""
        with self._lock:
            self._expire(self.clock())
            return self._warning

    def _expire(self, now: float) -> None:
        if self._recent and now - self._last_mismatch >= self.quiet_s and any(self._recent):
            self._recent.clear()  # a new warning needs a new run of mismatches
            self._warning = ""

    def observe(self, problem: str) -> bool:
        """Count one request's verdict; True when this one raised the warning."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            self._recent.append(bool(problem))
            if problem:
                self._last_mismatch = now
            if self._warning or sum(self._recent) * 2 <= self.window:
                return False
            self._warning = problem
            return True

    def inspect(self) -> None:
        """Before each request: count mismatches; log when they become the majority."""
        if request.endpoint in UNCHECKED_ENDPOINTS:
            return
        problem = self.problem(request.environ)  # ProxyFix leaves X-Forwarded-For as it came
        if self.observe(problem):
            current_app.logger.warning("proxy setting: %s", problem)


def trust_proxies(app: Flask) -> ProxyCheck:
    """Install ProxyFix for TRUSS_PROXY_HOPS proxies and the check that the number is right."""
    hops = int(app.config.get("PROXY_HOPS", 0))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    check = ProxyCheck(hops)
    app.extensions[EXTENSION] = check
    app.before_request(check.inspect)
    return check


def proxy_warning() -> str:
    """The proxy-setting warning this process shows now (see ProxyCheck), or ""."""
    check: ProxyCheck | None = current_app.extensions.get(EXTENSION)
    return check.warning if check else ""
