"""Helpers shared by the upload, asset and library tests (no tests in here)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from truss.data import assets, keys
from truss.data.assets import Asset
from truss.data.creators import new_id
from truss.extensions import get_storage, get_table
from truss.services.uploads import create_uploading

MP4 = "video/mp4"
BODY = b"\x00\x00\x00\x18ftypmp42" + b"x" * 988  # an upload of 1000 bytes that starts like an MP4


def csrf_headers(client: FlaskClient) -> dict[str, str]:
    """The CSRF header the pages' scripts send (read from the upload page)."""
    page = client.get("/upload").get_data(as_text=True)
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found, "the upload page carries no CSRF token"
    return {"X-CSRFToken": found.group(1)}


def confirm(client: FlaskClient, aid: str) -> Any:
    """The browser's confirmation that the upload finished."""
    return client.post(f"/assets/{aid}/confirm", headers=csrf_headers(client))


def make_asset(
    app: Flask,
    cid: str,
    title: str = "video.mp4",
    size: int = 1000,
    status: str = assets.UPLOADING,
    expires_in: int = 900,
) -> Asset:
    """An asset made straight in the table, walked along the life cycle to `status`."""
    with app.app_context():
        table = get_table()
        aid = new_id()
        asset = create_uploading(table, cid, aid, title, size, MP4, expires_in)
        for step in life_cycle_to(status):
            asset = (
                assets.fail(table, cid, aid, "Broken on purpose.")
                if step == assets.FAILED
                else assets.transition(table, cid, aid, asset.status, step)
            )
        return asset


def life_cycle_to(status: str) -> list[str]:
    path = [assets.UPLOADED, assets.QUEUED, assets.ANALYZING, assets.RENDERING, assets.READY]
    if status == assets.UPLOADING:
        return []
    if status == assets.FAILED:
        return [assets.FAILED]
    return path[: path.index(status) + 1]


def put_source(app: Flask, cid: str, aid: str, body: bytes, content_type: str = MP4) -> str:
    with app.app_context():
        key = keys.asset_source_object(cid, aid)
        get_storage().put_bytes(key, body, content_type)
        return key


def object_exists(app: Flask, key: str) -> bool:
    with app.app_context():
        return get_storage().head(key) is not None


def load(app: Flask, cid: str, aid: str) -> Asset:
    with app.app_context():
        return assets.get(get_table(), cid, aid)


def item_keys(app: Flask, cid: str) -> list[str]:
    """Every asset and clip SK in a creator's partition."""
    with app.app_context():
        table = get_table()
        pk = keys.creator_pk(cid)
        prefixes = (keys.asset_prefix(), keys.clip_prefix())
        return [item["SK"] for prefix in prefixes for item in table.query_all(pk, prefix)]


def json_of(response: Any) -> dict[str, Any]:
    data = response.get_json()
    assert isinstance(data, dict), response.get_data(as_text=True)
    return data
