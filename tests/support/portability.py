"""Export and import through the pages, as the browser does (issue 16): for the portability
tests. No tests in here."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import csrf_headers
from truss.data import exports
from truss.extensions import get_storage, get_table


def start_export(client: FlaskClient, sources: bool = False) -> Any:
    data = {"sources": "on"} if sources else {}
    return client.post("/account/data/exports", data=data, headers=csrf_headers(client))


def only_export(app: Flask, cid: str) -> exports.Export:
    with app.app_context():
        (export,) = exports.list_exports(get_table(), cid)
        return export


def archive_bytes(app: Flask, export: exports.Export) -> bytes:
    with app.app_context():
        return get_storage().get_bytes(export.archive_key)


def upload_and_import(app: Flask, client: FlaskClient, archive: bytes) -> exports.Import:
    """What static/js/direct_upload.js does: ask, upload to the presigned key, confirm (with
    RQ_ASYNC off the import job runs at once); the import as it ended."""
    headers = csrf_headers(client)
    started = client.post(
        "/account/data/imports",
        json={"size": len(archive), "content_type": "application/zip"},
        headers=headers,
    )
    assert started.status_code == 200, started.get_data(as_text=True)
    key = started.get_json()["post"]["fields"]["key"]
    with app.app_context():
        get_storage().put_bytes(key, archive, "application/zip")
    confirmed = client.post(started.get_json()["confirm"], json={}, headers=headers)
    assert confirmed.status_code in (200, 400), confirmed.get_data(as_text=True)
    _, cid, _, iid, _ = key.split("/")
    with app.app_context():
        return exports.get_import(get_table(), cid, iid)


def with_items_changed(archive: bytes, change: Callable[[str], str]) -> bytes:
    """The archive with each line of items.jsonl passed through `change`, its size and
    checksum in manifest.json updated to match (as a careful forger would)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    manifest = json.loads(source.read("manifest.json"))
    lines = source.read("items.jsonl").decode().splitlines()
    items = ("\n".join(change(line) for line in lines) + "\n").encode()
    entry = next(f for f in manifest["files"] if f["path"] == "items.jsonl")
    entry.update(size=len(items), sha256=hashlib.sha256(items).hexdigest())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name == "items.jsonl":
                target.writestr(name, items)
            elif name != "manifest.json":
                target.writestr(name, source.read(name))
        target.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()
