"""Shared by the streams tests: the pages' CSRF token, a stream as stored, a chat import started."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from truss.data import streams as data
from truss.extensions import get_table


def csrf(client: FlaskClient, path: str = "/streams/new") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def stored(app: Flask, cid: str, sid: str) -> data.Stream:
    with app.app_context():
        return data.get(get_table(), cid, sid)


def start_import(client: FlaskClient, body: bytes) -> tuple[str, dict]:
    token = csrf(client)
    response = client.post(
        "/streams/import",
        json={"file_name": "chat.json", "size": len(body), "content_type": "application/json"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    sid = answer["page"].rsplit("/", 1)[-1]
    return sid, answer
