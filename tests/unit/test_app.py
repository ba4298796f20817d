"""Pages every visitor sees: landing, error pages (page or htmx fragment), headers, /healthz."""

from __future__ import annotations

import fakeredis
from flask import Flask
from flask.testing import FlaskClient
from rq import Worker

from truss.queue import QUEUES


def test_landing_page_renders_with_vendored_htmx(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Long videos in. Vertical clips out." in html
    assert "/static/vendor/htmx-2.0.11.min.js" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200


def test_security_headers_forbid_inline_script_and_framing(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # local stack: no HSTS


def test_pages_have_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html
    assert "onclick=" not in html


def test_unknown_page_is_a_friendly_404_page(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "<html" in html


def test_unknown_page_for_htmx_is_a_fragment(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "<html" not in html


def test_healthz_is_503_and_names_the_missing_worker(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["dynamodb"]["ok"] and body["checks"]["s3"]["ok"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"]["ok"] is False
    assert "heartbeat" in body["checks"]["worker"]["error"]


def test_healthz_is_200_when_a_worker_is_alive(
    app: Flask, client: FlaskClient, redis: fakeredis.FakeRedis
) -> None:
    worker = Worker(list(QUEUES), connection=redis)
    worker.register_birth()
    worker.heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_healthz_reports_a_missing_table(app: Flask, client: FlaskClient) -> None:
    app.config["TRUSS_TABLE"] = "gone"
    body = client.get("/healthz").get_json()
    assert body["checks"]["dynamodb"]["ok"] is False
    assert "ResourceNotFound" in body["checks"]["dynamodb"]["error"]
