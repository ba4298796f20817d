"""Tenant isolation: creator A reaching for B's asset gets 404 on every asset route."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import csrf_headers, item_keys, load, make_asset, put_source

BODY = b"v" * 1000


def asset_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the assets and upload API blueprints that takes an asset id."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("assets.", "api.")) and "aid" in rule.arguments:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


def test_every_asset_route_hides_another_creators_asset(
    app: Flask, client: FlaskClient, auth
) -> None:
    owner = auth.login("b@example.com")
    theirs = make_asset(app, owner.id, title="B's video", size=len(BODY))
    key = put_source(app, owner.id, theirs.id, BODY)
    before = item_keys(app, owner.id)
    auth.login("a@example.com")
    headers = csrf_headers(client)

    routes = asset_routes(app)
    expected = {
        "/assets/<aid>",
        "/assets/<aid>/status",
        "/assets/<aid>/title",
        "/assets/<aid>/delete",
        "/assets/<aid>/confirm",
        "/assets/<aid>/cancel",
        "/assets/<aid>/parts",
        "/assets/<aid>/complete",
        "/assets/<aid>/upload",
    }
    assert expected <= {rule for _, rule in routes}
    for method, rule in routes:
        url = rule.replace("<aid>", theirs.id)
        response = client.open(
            url,
            method=method,
            headers=headers,
            json={"upload_id": "x", "parts": [1], "title": "Mine now"},
            data=None,
        )
        if method == "POST" and rule.endswith("/title"):
            response = client.post(url, data={"title": "Mine now"}, headers=headers)
        assert response.status_code == 404, f"{method} {rule} → {response.status_code}"

    stored = load(app, owner.id, theirs.id)
    assert stored.title == "B's video"
    assert stored.status == "uploading"
    assert item_keys(app, owner.id) == before
    assert client.get("/assets").get_data(as_text=True).count(theirs.id) == 0
    from tests.support.assets import object_exists

    assert object_exists(app, key)
