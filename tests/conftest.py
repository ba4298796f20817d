"""Fixtures for every kind of test: no real AWS account, and the local stack (`truss dev`) the
integration and end-to-end tests drive. The unit tests' fixtures are in tests/unit/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import LocalStack


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach a real AWS account, whatever the shell exported."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One real `truss dev` (moto server, Redis, rq worker, the app) for the whole session."""
    stack = LocalStack(tmp_path_factory.mktemp("stack")).start()
    yield stack
    stack.stop()
