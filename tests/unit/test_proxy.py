"""Behind the documented TLS proxy, per-IP limits key on the client, and a TRUSS_PROXY_HOPS that
doesn't match most recent requests is logged once and shown in the readiness report until the
mismatches stop; a few spoofed headers don't raise it."""

from __future__ import annotations

import logging

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import SignInHelper, make_app
from truss.config import from_environ
from truss.proxy import EXTENSION, QUIET_S, WINDOW, ProxyCheck

PRODUCTION_ENV = {
    "TRUSS_ENV": "production",
    "SECRET_KEY": "a-production-secret-that-is-long-enough-0000",
    "TRUSS_PUBLIC_URL": "https://truss.example",
}


def _proxied(client: FlaskClient, address: str) -> FlaskClient:
    """Every request of this client arrives through one proxy that adds X-Forwarded-For."""
    client.environ_base.update(
        HTTP_X_FORWARDED_FOR=address, HTTP_X_FORWARDED_PROTO="http", REMOTE_ADDR="10.0.0.2"
    )
    return client


def _request_links(app: Flask, client: FlaskClient, count: int, prefix: str) -> list[int]:
    helper = SignInHelper(app, None)  # type: ignore[arg-type]
    return [
        helper.request_link(client, f"{prefix}{i}@example.com").status_code for i in range(count)
    ]


def test_production_trusts_one_proxy_hop_by_default_and_local_none() -> None:
    assert from_environ(PRODUCTION_ENV)["PROXY_HOPS"] == 1
    assert from_environ({**PRODUCTION_ENV, "TRUSS_PROXY_HOPS": "2"})["PROXY_HOPS"] == 2
    local = {"TRUSS_ENV": "local", "SECRET_KEY": "local-secret"}
    assert from_environ(local)["PROXY_HOPS"] == 0


def test_two_clients_behind_one_proxy_have_their_own_sign_in_limit(
    aws: None, redis: fakeredis.FakeRedis
) -> None:
    hops = from_environ(PRODUCTION_ENV)["PROXY_HOPS"]  # the production default
    app = make_app(redis, PROXY_HOPS=hops, RATELIMIT_LINK_PER_IP="2 per hour")
    first = _proxied(app.test_client(), "198.51.100.1")
    second = _proxied(app.test_client(), "198.51.100.2")
    assert _request_links(app, first, 3, "a") == [303, 303, 429]
    assert _request_links(app, second, 2, "b") == [303, 303]


def _readiness_proxy(client: FlaskClient) -> dict[str, object]:
    checks: dict[str, dict[str, object]] = client.get("/readyz").get_json()["checks"]
    return checks["proxy"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _clocked(app: Flask) -> FakeClock:
    clock = FakeClock()
    check: ProxyCheck = app.extensions[EXTENSION]
    check.clock = clock
    return clock


def _get_login(client: FlaskClient, times: int) -> None:
    for _ in range(times):
        assert client.get("/login").status_code == 200


MAJORITY = WINDOW // 2 + 1


def test_forwarded_requests_with_no_trusted_hop_are_reported(
    aws: None, redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(redis, PROXY_HOPS=0)
    client = _proxied(app.test_client(), "198.51.100.1")
    with caplog.at_level(logging.WARNING):
        _get_login(client, WINDOW)
    warnings = [r for r in caplog.records if "TRUSS_PROXY_HOPS is 0" in r.getMessage()]
    assert len(warnings) == 1  # once, not on every request
    report = _readiness_proxy(client)
    assert report["ok"] is False and "TRUSS_PROXY_HOPS" in str(report["error"])
    assert client.get("/readyz").status_code == 200  # a warning, not a reason to be unready


def test_fewer_forwarded_addresses_than_hops_is_reported(
    aws: None, redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(redis, PROXY_HOPS=2)
    client = _proxied(app.test_client(), "198.51.100.1")
    with caplog.at_level(logging.WARNING):
        _get_login(client, MAJORITY)
    assert "TRUSS_PROXY_HOPS is 2 but a request came with 1" in caplog.text
    assert _readiness_proxy(client)["ok"] is False


def test_a_few_spoofed_headers_among_normal_requests_raise_nothing(
    aws: None, redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """With no proxy (hops 0) anyone can send X-Forwarded-For: a minority proves nothing."""
    app = make_app(redis, PROXY_HOPS=0)
    spoofer = _proxied(app.test_client(), "203.0.113.9")
    direct = app.test_client()
    with caplog.at_level(logging.WARNING):
        _get_login(spoofer, 1)
        assert _readiness_proxy(direct) == {"ok": True}  # one request no longer flips it
        _get_login(direct, WINDOW)
        _get_login(spoofer, MAJORITY - 1)  # just short of most of the last WINDOW requests
    assert "TRUSS_PROXY_HOPS" not in caplog.text
    assert _readiness_proxy(direct) == {"ok": True}
    _get_login(spoofer, 1)  # now most of them: that is a setting problem, not a stray header
    assert _readiness_proxy(direct)["ok"] is False


def test_the_warning_clears_after_a_quiet_period_and_needs_a_new_majority(
    aws: None, redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(redis, PROXY_HOPS=0)
    clock = _clocked(app)
    proxied = _proxied(app.test_client(), "198.51.100.1")
    direct = app.test_client()
    _get_login(proxied, MAJORITY)
    assert _readiness_proxy(direct)["ok"] is False
    clock.now += QUIET_S - 1
    _get_login(direct, 3)
    assert _readiness_proxy(direct)["ok"] is False  # not quiet long enough yet
    clock.now += 1
    assert _readiness_proxy(direct) == {"ok": True}  # fixed (or it was a burst): it clears
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _get_login(proxied, MAJORITY - 1)
        assert _readiness_proxy(direct) == {"ok": True}  # old mismatches no longer count
        _get_login(proxied, 1)
    assert _readiness_proxy(direct)["ok"] is False
    assert caplog.text.count("proxy setting:") == 1  # logged again when it comes back


def test_a_matching_setting_reports_nothing(
    aws: None, redis: fakeredis.FakeRedis, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(redis, PROXY_HOPS=1)
    client = _proxied(app.test_client(), "198.51.100.1")
    with caplog.at_level(logging.WARNING):
        client.get("/login")
    assert "TRUSS_PROXY_HOPS" not in caplog.text
    assert _readiness_proxy(client) == {"ok": True}
    direct = app.test_client()  # a load balancer's probe comes without X-Forwarded-For
    assert direct.get("/readyz").status_code == 200
    assert _readiness_proxy(direct) == {"ok": True}
