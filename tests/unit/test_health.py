"""Liveness (/healthz) needs no backend; readiness (/readyz) checks them, shows no internals,
doesn't fail a web node for a missing worker, and a flood of checks costs no backend calls."""

from __future__ import annotations

import logging
from typing import Any

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Worker

from tests.conftest import AuthActions, make_app
from truss.health import ReadinessCache
from truss.main import routes
from truss.queue import QUEUES

INTERNALS = ("arn:", "ResourceNotFound", "NoSuchBucket", "Error", "127.0.0.1", "truss-test")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _down_redis() -> fakeredis.FakeRedis:
    server = fakeredis.FakeServer()
    server.connected = False
    return fakeredis.FakeRedis(server=server)


def _assert_no_internals(body: str) -> None:
    for secret in INTERNALS:
        assert secret not in body


def _worker_alive(redis: fakeredis.FakeRedis) -> None:
    worker = Worker(list(QUEUES), connection=redis)
    worker.register_birth()
    worker.heartbeat()


def test_liveness_answers_without_any_backend(aws: None) -> None:
    app = make_app(_down_redis(), TRUSS_TABLE="gone", TRUSS_BUCKET="gone-too")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}


def test_probes_with_a_session_cookie_answer_while_redis_is_down(aws: None) -> None:
    """A probe that carries a session cookie must not make liveness load the creator."""
    server = fakeredis.FakeServer()
    app = make_app(fakeredis.FakeRedis(server=server))
    client = app.test_client()
    AuthActions(app, client).login("ada@example.com")
    assert client.get("/dashboard").status_code == 200  # the cookie signs in
    server.connected = False
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["redis"]["ok"] is False


def test_a_missing_worker_is_reported_but_the_web_node_stays_ready(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["dynamodb"]["ok"] and checks["s3"]["ok"] and checks["redis"]["ok"]
    assert checks["worker"]["ok"] is False
    assert "heartbeat" in checks["worker"]["error"]


def test_readiness_counts_live_workers(client: FlaskClient, redis: fakeredis.FakeRedis) -> None:
    _worker_alive(redis)
    checks = client.get("/readyz").get_json()["checks"]
    assert checks["worker"] == {"ok": True, "detail": "1 alive"}


def test_a_missing_table_is_unready_with_no_internals_in_the_answer(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["TRUSS_TABLE"] = "truss-test-gone"
    with caplog.at_level(logging.WARNING, logger="truss.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["dynamodb"]["ok"] is False and body["checks"]["s3"]["ok"]
    _assert_no_internals(response.get_data(as_text=True))
    assert "ResourceNotFound" in caplog.text  # the details are in the server's log


def test_redis_down_is_unready_with_no_internals_in_the_answer(aws: None) -> None:
    response = make_app(_down_redis()).test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"]["ok"] is False and checks["worker"]["ok"] is False
    assert checks["dynamodb"]["ok"] and checks["s3"]["ok"]
    _assert_no_internals(response.get_data(as_text=True))


def test_a_flood_of_readiness_checks_measures_the_backends_once(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    measured: list[int] = []
    real = routes._measure

    def counting() -> Any:
        measured.append(1)
        return real()

    monkeypatch.setattr(routes, "_measure", counting)
    for _ in range(50):
        assert client.get("/readyz").status_code == 200
    assert len(measured) == 1


def test_readiness_is_measured_again_once_the_cached_answer_is_old(
    app: Flask, client: FlaskClient
) -> None:
    clock = FakeClock()
    app.extensions[routes.READINESS] = ReadinessCache(app.config["READINESS_CACHE_S"], clock)
    assert client.get("/readyz").status_code == 200
    app.config["TRUSS_TABLE"] = "truss-test-gone"
    clock.now += app.config["READINESS_CACHE_S"] - 0.5
    assert client.get("/readyz").status_code == 200  # still the cached answer
    clock.now += 1
    assert client.get("/readyz").status_code == 503
