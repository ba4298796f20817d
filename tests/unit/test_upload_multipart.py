"""Multipart: create → sign parts → (browser PUTs) → list parts → complete, against moto."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, make_app
from tests.support.assets import csrf_headers, json_of, load, object_exists
from tests.support.queues import Queued

MIB = 1024**2
PART = 5 * MIB  # S3's (and moto's) smallest part
SIZE = PART + 1234  # two parts


@pytest.fixture
def app(aws: None, redis: object) -> Flask:
    return make_app(redis, MULTIPART_THRESHOLD_BYTES=MIB, MULTIPART_PART_BYTES=PART)


def file_bytes() -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42"
    body = bytes(range(256)) * (SIZE // 256)
    return (head + body + b"z" * SIZE)[:SIZE]


def start(client: FlaskClient) -> dict[str, object]:
    response = client.post(
        "/assets/uploads",
        json={"name": "big.mp4", "size": SIZE, "type": "video/mp4"},
        headers=csrf_headers(client),
    )
    assert response.status_code == 201
    return json_of(response)


def sign(client: FlaskClient, aid: str, upload_id: str, parts: list[int]) -> object:
    return client.post(
        f"/assets/{aid}/parts",
        json={"upload_id": upload_id, "parts": parts},
        headers=csrf_headers(client),
    )


def put_part(url: str, data: bytes) -> None:
    """What upload.js does with each part URL (moto's mock answers `requests`)."""
    assert requests.put(url, data=data, timeout=30).status_code == 200


def listed(client: FlaskClient, aid: str, upload_id: str) -> dict[str, object]:
    return json_of(client.get(f"/assets/{aid}/upload?upload_id={upload_id}"))


def complete(client: FlaskClient, aid: str, upload_id: str) -> object:
    return client.post(
        f"/assets/{aid}/complete", json={"upload_id": upload_id}, headers=csrf_headers(client)
    )


def test_create_sign_list_resume_complete(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login("a@example.com")
    queued = Queued(app)
    plan = start(client)
    aid, upload_id = str(plan["asset_id"]), str(plan["upload_id"])
    assert plan["mode"] == "multipart"
    assert plan["part_bytes"] == PART
    assert plan["part_count"] == 2
    data = file_bytes()

    urls = json_of(sign(client, aid, upload_id, [1, 2]))["urls"]
    assert set(urls) == {"1", "2"}
    for url in urls.values():  # each part URL is signed for that part's exact size
        assert "content-length" in parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]
    put_part(urls["1"], data[:PART])

    # the page was reloaded: the server lists what S3 already holds
    state = listed(client, aid, upload_id)
    assert state["parts"] == [{"number": 1, "size": PART}]
    assert state["part_count"] == 2

    early = complete(client, aid, upload_id)
    assert early.status_code == 400
    assert "part 2" in json_of(early)["error"]
    assert load(app, creator.id, aid).status == "uploading"

    fresh = json_of(sign(client, aid, upload_id, [2]))["urls"]
    put_part(fresh["2"], data[PART:])
    done = complete(client, aid, upload_id)
    assert done.status_code == 200
    assert json_of(done)["status"] == "queued"  # confirmed, then queued for analysis
    asset = load(app, creator.id, aid)
    assert asset.status == "queued"
    assert asset.size == SIZE
    assert queued.analyses == [aid]

    # a finished upload signs no more parts
    assert sign(client, aid, upload_id, [1]).status_code == 400


def test_part_urls_only_for_this_creators_upload(app: Flask, client: FlaskClient, auth) -> None:
    other_client = app.test_client()
    AuthActions(app, other_client).login("b@example.com")
    theirs = start(other_client)
    auth.login("a@example.com")
    mine = start(client)

    # B's asset id with B's upload id
    response = sign(client, str(theirs["asset_id"]), str(theirs["upload_id"]), [1])
    assert response.status_code == 404
    # my asset id with B's upload id
    response = sign(client, str(mine["asset_id"]), str(theirs["upload_id"]), [1])
    assert response.status_code == 404
    # listing or completing B's upload
    assert (
        client.get(
            f"/assets/{theirs['asset_id']}/upload?upload_id={theirs['upload_id']}"
        ).status_code
        == 404
    )
    assert complete(client, str(theirs["asset_id"]), str(theirs["upload_id"])).status_code == 404
    # my own works
    assert sign(client, str(mine["asset_id"]), str(mine["upload_id"]), [1]).status_code == 200


@pytest.mark.parametrize("parts", [[0], [3], [], list(range(1, 60)), ["1"]])
def test_part_numbers_are_checked(client: FlaskClient, auth, parts: list[object]) -> None:
    auth.login("a@example.com")
    plan = start(client)
    response = sign(client, str(plan["asset_id"]), str(plan["upload_id"]), parts)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert json_of(response)["error"]


def test_cancel_aborts_the_upload_and_forgets_the_asset(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login("a@example.com")
    plan = start(client)
    aid, upload_id = str(plan["asset_id"]), str(plan["upload_id"])
    put_part(json_of(sign(client, aid, upload_id, [1]))["urls"]["1"], file_bytes()[:PART])

    response = client.post(f"/assets/{aid}/cancel", headers=csrf_headers(client))
    assert response.status_code == 200
    assert client.get(f"/assets/{aid}").status_code == 404
    with app.app_context():
        from truss.extensions import get_storage

        s3 = get_storage()
        uploads_left = s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
    assert [u for u in uploads_left if u["UploadId"] == upload_id] == []
    assert not object_exists(app, f"creators/{creator.id}/assets/{aid}/source")


def test_an_upload_s3_forgot_is_a_clear_404_so_the_page_starts_over(
    app: Flask, client: FlaskClient, auth
) -> None:
    auth.login("a@example.com")
    plan = start(client)
    aid, upload_id = str(plan["asset_id"]), str(plan["upload_id"])
    with app.app_context():  # the bucket's lifecycle rule aborted it overnight
        from truss.extensions import get_storage

        s3 = get_storage()
        (upload,) = s3.client.list_multipart_uploads(Bucket=s3.bucket)["Uploads"]
        s3.abort_multipart_upload(upload["Key"], upload_id)
    resume = client.get(f"/assets/{aid}/upload?upload_id={upload_id}")
    assert resume.status_code == 404 and "error" in json_of(resume)
    finish = complete(client, aid, upload_id)
    assert finish.status_code == 404 and "error" in json_of(finish)
