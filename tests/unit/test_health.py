"""Liveness (/healthz) needs no backend; readiness (/readyz) checks them, shows no internals,
doesn't fail a web node for a missing worker, a flood of checks costs no backend calls, and a
hung backend neither holds other checks nor one check for more than a few seconds."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Worker

from tests.support.app import AuthActions, make_app
from truss.extensions import get_probe_storage, get_probe_table
from truss.health import NOT_MEASURED, ReadinessCache
from truss.main import routes
from truss.queue import QUEUES

INTERNALS = ("arn:", "ResourceNotFound", "NoSuchBucket", "Error", "127.0.0.1", "truss-test")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class HungServer:
    """Accepts connections on 127.0.0.1 and never answers: a hung DynamoDB or S3."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self.sock.accept()[0])
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung() -> Iterator[HungServer]:
    server = HungServer()
    yield server
    server.close()


def _blocking(
    real: Callable[[], Any],
) -> tuple[Callable[[], Any], threading.Event, threading.Event]:
    """A measurement that waits until released (at most 10 s: only a broken cache waits it out)."""
    entered, release = threading.Event(), threading.Event()

    def measure() -> Any:
        entered.set()
        release.wait(10)
        return real()

    return measure, entered, release


def _in_thread(client: FlaskClient, responses: list[Any]) -> threading.Thread:
    thread = threading.Thread(target=lambda: responses.append(client.get("/readyz")))
    thread.start()
    return thread


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


def test_a_hung_check_does_not_hold_a_second_readiness_check(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    measure, entered, release = _blocking(routes._measure)
    monkeypatch.setattr(routes, "_measure", measure)
    first: list[Any] = []
    thread = _in_thread(app.test_client(), first)
    assert entered.wait(10)
    second = client.get("/readyz")  # while the first one is still measuring
    release.set()
    thread.join(10)
    assert second.status_code == 503  # nothing measured yet: not ready, said at once
    assert second.get_json()["checks"]["dynamodb"]["error"] == NOT_MEASURED
    assert first[0].status_code == 200
    assert client.get("/readyz").status_code == 200  # the measured answer from now on


def test_while_a_check_is_measured_again_others_get_the_last_answer(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    app.extensions[routes.READINESS] = ReadinessCache(app.config["READINESS_CACHE_S"], clock)
    assert client.get("/readyz").status_code == 200
    clock.now += app.config["READINESS_CACHE_S"]
    app.config["TRUSS_TABLE"] = "truss-test-gone"
    measure, entered, release = _blocking(routes._measure)
    monkeypatch.setattr(routes, "_measure", measure)
    first: list[Any] = []
    thread = _in_thread(app.test_client(), first)
    assert entered.wait(10)
    assert client.get("/readyz").status_code == 200  # the last answer, without waiting
    release.set()
    thread.join(10)
    assert first[0].status_code == 503
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize(
    ("endpoint_setting", "check", "other"),
    [("AWS_ENDPOINT_URL_DYNAMODB", "dynamodb", "s3"), ("AWS_ENDPOINT_URL_S3", "s3", "dynamodb")],
)
def test_a_hung_backend_fails_its_check_after_one_short_attempt(
    app: Flask,
    client: FlaskClient,
    hung: HungServer,
    monkeypatch: pytest.MonkeyPatch,
    endpoint_setting: str,
    check: str,
    other: str,
) -> None:
    """The app's clients wait 60 s and try 4 times; readiness's own give up after one try."""
    monkeypatch.setenv(endpoint_setting, hung.url)
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks[check]["ok"] is False and checks[other]["ok"] is True
    assert len(hung.accepted) == 1  # one attempt, no retries


def test_readiness_needs_only_permissions_the_app_already_uses(
    app: Flask, client: FlaskClient
) -> None:
    """GetItem (DynamoDB) and HeadBucket (s3:ListBucket, which deleting videos needs anyway);
    DescribeTable would be one more IAM permission, and without it every node is unready."""
    called: list[str] = []
    with app.test_request_context():
        clients = (get_probe_table()._table.meta.client, get_probe_storage().client)
    for boto_client in clients:
        boto_client.meta.events.register(
            "before-call.*.*", lambda model, **_: called.append(model.name)
        )
    assert client.get("/readyz").status_code == 200
    assert sorted(called) == ["GetItem", "HeadBucket"]
