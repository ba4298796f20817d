"""Starting an upload: the presigned POST policy itself (moto enforces none of it)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import csrf_headers, item_keys, json_of, load

GIB = 1024**3


def start(client: FlaskClient, name: str, size: int, type_: str = "video/mp4") -> object:
    return client.post(
        "/assets/uploads",
        json={"name": name, "size": size, "type": type_},
        headers=csrf_headers(client),
    )


def policy_of(plan: dict[str, object]) -> dict[str, object]:
    fields = plan["post"]["fields"]  # type: ignore[index]
    return dict(json.loads(base64.b64decode(fields["policy"])))


def conditions(policy: dict[str, object]) -> list[object]:
    return list(policy["conditions"])  # type: ignore[call-overload]


def test_policy_pins_key_size_range_type_and_expiry(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    response = start(client, "My Stream.mp4", 5_000_000)
    assert response.status_code == 201
    plan = json_of(response)
    assert plan["mode"] == "post"
    aid = plan["asset_id"]
    key = f"creators/{creator.id}/assets/{aid}/source"
    policy = policy_of(plan)
    conds = conditions(policy)

    assert ["eq", "$key", key] in conds
    assert plan["post"]["fields"]["key"] == key
    assert ["content-length-range", 5_000_000, 5_000_000] in conds  # exactly the file announced
    assert app.config["MAX_UPLOAD_BYTES"] == 5 * GIB
    assert ["eq", "$Content-Type", "video/mp4"] in conds
    assert plan["post"]["fields"]["Content-Type"] == "video/mp4"
    assert {"bucket": app.config["TRUSS_BUCKET"]} in conds
    # no starts-with or other loose condition that would let the browser pick another key
    assert not [c for c in conds if isinstance(c, list) and c[0] == "starts-with"]

    expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    assert (expiration - datetime.now(UTC)).total_seconds() <= 900

    asset = load(app, creator.id, aid)
    assert asset.status == "uploading"
    assert asset.title == "My Stream.mp4"
    assert asset.source_key == key


def test_client_file_name_never_becomes_the_key(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    plan = json_of(start(client, "../../other/creators/x/evil.mp4", 10))
    key = plan["post"]["fields"]["key"]
    assert key == f"creators/{creator.id}/assets/{plan['asset_id']}/source"
    assert load(app, creator.id, plan["asset_id"]).title == "evil.mp4"


def test_size_limit_is_configurable(aws: None, redis: object) -> None:
    from tests.support.app import AuthActions, make_app

    app = make_app(redis, MAX_UPLOAD_BYTES=50_000_000, MULTIPART_THRESHOLD_BYTES=60_000_000)
    client = app.test_client()
    AuthActions(app, client).login("a@example.com")
    plan = json_of(start(client, "a.mp4", 1000))
    assert ["content-length-range", 1000, 1000] in conditions(policy_of(plan))
    too_big = start(client, "b.mp4", 50_000_001)
    assert too_big.status_code == 400
    assert "limit" in json_of(too_big)["error"]


def test_wrong_type_and_bad_sizes_are_refused_before_anything_exists(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login("a@example.com")
    for name, size, type_ in [
        ("notes.txt", 100, "text/plain"),
        ("pic.png", 100, "image/png"),
        ("empty.mp4", 0, "video/mp4"),
        ("huge.mp4", 6 * GIB, "video/mp4"),
    ]:
        response = start(client, name, size, type_)
        assert response.status_code == 400, name
        assert json_of(response)["error"]
    assert item_keys(app, creator.id) == []


def test_size_must_be_a_number(client: FlaskClient, auth) -> None:
    auth.login("a@example.com")
    response = start(client, "a.mp4", "12")  # type: ignore[arg-type]
    assert response.status_code == 400


def test_big_files_get_a_multipart_plan(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    size = 2 * GIB
    plan = json_of(start(client, "long.mov", size, "video/quicktime"))
    assert plan["mode"] == "multipart"
    assert "post" not in plan
    assert plan["upload_id"]
    assert plan["part_bytes"] >= 5 * 1024**2
    assert plan["part_count"] == -(-size // plan["part_bytes"])
    asset = load(app, creator.id, plan["asset_id"])
    assert asset.upload_id == plan["upload_id"]


def test_upload_needs_sign_in_and_csrf(client: FlaskClient, auth) -> None:
    assert client.get("/upload").status_code == 302
    assert client.get("/assets").status_code == 302
    body = {"name": "a.mp4", "size": 1, "type": "video/mp4"}
    signed_out = client.post("/assets/uploads", json=body)
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"] == "/login?next=/assets/uploads"
    auth.login("a@example.com")
    assert client.post("/assets/uploads", json=body).status_code == 400  # no CSRF token
