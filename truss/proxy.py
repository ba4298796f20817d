"""Reverse proxies in front of Truss: trust exactly TRUSS_PROXY_HOPS of them, and say so loudly
when the requests show the setting is wrong (per-IP rate limits would key on a proxy).

Behind `hops` proxies, ProxyFix takes the client address and scheme from the `hops`-th last
`X-Forwarded-For` / `X-Forwarded-Proto` values. A request that carries `X-Forwarded-For` while
hops is 0, or fewer addresses than hops, means the address the limiter sees is a proxy's: the
first such request is logged as a warning and the readiness report (/readyz) shows it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

EXTENSION = "truss.proxy"
UNCHECKED_ENDPOINTS = {"main.healthz", "main.readyz"}  # load balancer probes come direct


class ProxyCheck:
    """Remembers the first sign that TRUSS_PROXY_HOPS doesn't match the requests."""

    def __init__(self, hops: int) -> None:
        self.hops = hops
        self.warning = ""

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

    def inspect(self) -> None:
        """Before each request: log the first mismatch once, keep it for the readiness report."""
        if self.warning or request.endpoint in UNCHECKED_ENDPOINTS:
            return
        problem = self.problem(request.environ)  # ProxyFix leaves X-Forwarded-For as it came
        if problem:
            self.warning = problem
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
    """The first proxy-setting mismatch this process saw, or ""."""
    check: ProxyCheck | None = current_app.extensions.get(EXTENSION)
    return check.warning if check else ""
