"""The issue's round trip: a creator with a bit of everything exports (with sources), deletes
the account, signs up again with the same email and imports the archive: the library, the clip
(its video, its source) and the chapters are back under new ids; the old share link stays
dead; nothing half-done (a scheduled post, a live stream and its spikes) comes back to life."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.clips import clip_id
from tests.support.deletion import populate
from tests.support.portability import archive_bytes, only_export, start_export, upload_and_import
from truss.captions import store as transcript_store
from truss.captions.model import Word, correct, make
from truss.data import chapters, clips, exports, keys
from truss.extensions import get_storage, get_table

ALICE = "alice@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def delete_account(client: FlaskClient) -> None:
    page = client.get("/account/delete").get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "no CSRF token on the delete page"
    answer = client.post("/account/delete", data={"csrf_token": token.group(1), "email": ALICE})
    assert answer.status_code == 303


def by_type(app: Flask, cid: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    with app.app_context():
        for item in exports.creator_items(get_table(), cid):
            found.setdefault(str(item.get("type")), []).append(item)
    return found


def test_export_delete_sign_up_again_import(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    alice = populate(app, ALICE, clip_id(1))
    rough = make("gemini", [Word(12.0, 12.5, "Helo"), Word(12.5, 13.0, "everyone")])
    corrected = correct(rough, "Hello everyone", 12.0, 13.0)  # within the clip's 10-30 s
    with app.app_context():
        chapters.save(get_table(), alice.cid, alice.aid, [{"start": 0, "title": "Intro"}])
        transcript_store.save_for(get_table(), get_storage(), alice.cid, alice.clid, corrected)
        old_video = get_storage().get_bytes(
            str(get_table().get(keys.clip(alice.cid, alice.clid))["video_key"])
        )
    before = by_type(app, alice.cid)
    assert {"stream", "chat_spike", "publication"} <= set(before)
    auth.login(ALICE)
    start_export(client, sources=True)
    archive = archive_bytes(app, only_export(app, alice.cid))

    delete_account(client)
    assert client.get(f"/s/{alice.share}").status_code in (404, 410)
    fresh = auth.login(ALICE)
    assert fresh.id != alice.cid
    done = upload_and_import(app, client, archive)
    assert done.status == exports.DONE, done.error

    items = by_type(app, fresh.id)
    (asset,) = items["asset"]
    (clip,) = items["clip"]
    assert asset["title"] == f"Talk of {ALICE}" and asset["status"] == "ready"
    assert keys.asset_id_from_sk(asset["SK"]) != alice.aid
    assert keys.clip_id_from_sk(clip["SK"]) != alice.clid
    assert clip["asset_id"] == keys.asset_id_from_sk(asset["SK"])
    assert "share_token" not in clip
    with app.app_context():
        storage = get_storage()
        assert storage.get_bytes(clip["video_key"]) == old_video
        assert storage.head(asset["source_key"]) is not None
        stored = chapters.find(get_table(), fresh.id, clip["asset_id"])
    assert stored is not None and stored.rows[0]["title"] == "Intro"
    with app.app_context():  # the corrected transcript came along, under the new clip
        back = transcript_store.load(get_storage(), clips.Clip.from_item(clip))
    assert back is not None and back.corrected and back.text == "Hello everyone"
    assert clip["transcript_key"].startswith(keys.creator_object_root(fresh.id))
    section = client.get(f"/clips/{keys.clip_id_from_sk(clip['SK'])}/captions")
    shown = section.get_data(as_text=True)
    assert "corrected by you" in shown and "Hello</li>" in shown  # not "No transcript yet"
    assert "publication" not in items  # the scheduled post did not come back to post again
    assert "stream" not in items  # the live stream ended with the old account
    assert "chat_spike" not in items  # and its spikes don't come in without it
    assert client.get(f"/s/{alice.share}").status_code in (404, 410)
    assert f"Talk of {ALICE}" in client.get("/assets").get_data(as_text=True)
    with app.app_context():
        counted = get_table().get(keys.usage(fresh.id))
    assert counted["stored_bytes"] == sum(int(i.get("stored_bytes", 0)) for i in (asset, clip))
