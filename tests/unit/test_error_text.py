"""A backend failure on the sign-in pages shows a page that says what to do; the
exception text (table names, ARNs, hosts) goes to the log, never to the person."""

from __future__ import annotations

import logging

import fakeredis
import pytest

from tests.support.app import SignInHelper, make_app

INTERNALS = ("ResourceNotFound", "truss-test-gone", "arn:", "Traceback", "botocore")


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/login"), ("get", "/login/link/some-token"), ("post", "/login/link/some-token")],
)
def test_a_backend_failure_shows_no_exception_text(
    aws: None,
    redis: fakeredis.FakeRedis,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
) -> None:
    app = make_app(redis, TESTING=False)
    client = app.test_client()
    data = {"email": "ada@example.com", "csrf_token": SignInHelper.csrf(client)}
    app.config["TRUSS_TABLE"] = "truss-test-gone"
    with caplog.at_level(logging.ERROR):
        response = client.open(path, method=method, data=data if method == "post" else None)
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "Try again" in page
    for secret in INTERNALS:
        assert secret not in page
    assert "ResourceNotFound" in caplog.text  # the operator still sees what happened
