"""The app as the unit tests (and the bench) build it, and signing a test client in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import fakeredis
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache

from truss import create_app
from truss.config import TEST_ENVIRON, from_environ, test_config
from truss.data.schema import ensure_table
from truss.storage import Storage

if TYPE_CHECKING:
    import pytest

    from tests.stack import LocalStack


class _CompiledTemplates(BytecodeCache):
    """Templates compiled once per session and shared by every test's app (keyed by source)."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()

# The token key file the tests' apps make on first use: one per pytest-xdist worker, so that
# one worker never reads the file while the other is still writing it.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, ... under `pytest -n`
TOKEN_KEY_FILE = str(Path(TEST_ENVIRON["TRUSS_DATA_DIR"]) / f"token-keys-{_WORKER}")


def make_app(redis: Any, **overrides: Any) -> Flask:
    overrides.setdefault("TOKEN_KEY_FILE", TOKEN_KEY_FILE)
    app = create_app(test_config(REDIS_CONNECTION=redis, **overrides))
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        resource, s3 = _aws_clients()
        ensure_table(resource, app.config["TRUSS_TABLE"])
        Storage(app.config["TRUSS_BUCKET"], s3).ensure_bucket("us-east-1", ["http://localhost"])
    return app


_CLIENTS: list[tuple[Any, Any, Any]] = []  # (the boto3 session, its resource, its client)


def _aws_clients() -> tuple[Any, Any]:
    """A DynamoDB resource and an S3 client, made once per boto3 session (moto starts one)."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    if not _CLIENTS or _CLIENTS[0][0] is not session:
        dynamodb = session.resource("dynamodb", region_name="us-east-1")
        _CLIENTS[:] = [(session, dynamodb, session.client("s3", region_name="us-east-1"))]
    return _CLIENTS[0][1], _CLIENTS[0][2]


class AuthActions:
    """Sign a test client in as a creator (made on first use) without going through email."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self._app = app
        self._client = client

    def login(self, email: str = "creator@example.com", client: FlaskClient | None = None) -> Any:
        from flask import session

        from truss.auth.session import sign_in
        from truss.data.creators import get_or_create_by_email
        from truss.extensions import get_table

        with self._app.test_request_context():
            creator = get_or_create_by_email(get_table(), email)
            sign_in(creator)
            fields = dict(session)
        with (client or self._client).session_transaction() as sess:
            sess.clear()
            sess.update(fields)
        return creator


class SignInHelper:
    """Drive the real sign-in pages: CSRF tokens from forms, links from the dev outbox."""

    def __init__(self, app: Flask, redis: fakeredis.FakeRedis) -> None:
        self._app = app
        self._redis = redis

    @staticmethod
    def csrf(client: FlaskClient, path: str = "/login") -> str:
        import re

        page = client.get(path, follow_redirects=True).get_data(as_text=True)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def request_link(self, client: FlaskClient, email: str, next_path: str = "") -> Any:
        data = {"email": email, "csrf_token": self.csrf(client), "next": next_path}
        return client.post("/login", data=data)

    def last_link_path(self) -> str:
        """The path of the newest sign-in link in the dev outbox."""
        import re
        from urllib.parse import urlsplit

        from truss.mail import read_outbox

        mails = read_outbox(self._redis)
        assert mails, "no email in the outbox"
        found = re.search(r"https?://\S+/login/link/\S+", mails[0].text)
        assert found, mails[0].text
        return urlsplit(found.group(0)).path

    def sign_in_by_email(self, client: FlaskClient, email: str) -> Any:
        self.request_link(client, email)
        path = self.last_link_path()
        return client.post(path, data={"csrf_token": self.csrf(client, path)})


def app_on_stack(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, extra: Mapping[str, str] | None = None
) -> Flask:
    """An app in this process on a running local stack's backends: the environment a client of
    the stack gets (plus `extra`), read the way production reads it."""
    for name, value in {**stack.client_env(), **(extra or {})}.items():
        monkeypatch.setenv(name, value)
    return create_app(from_environ())
