"""Confirmation: only a HEAD of the right object moves an asset to `uploaded`."""

from __future__ import annotations

import pytest
from flask import Flask
from rq import Queue

from tests.support.assets import (
    BODY,
    confirm,
    json_of,
    load,
    make_asset,
    object_exists,
    put_source,
)
from truss import jobs
from truss.data import assets
from truss.data.table import NotFound
from truss.extensions import get_storage, get_table
from truss.services import uploads


def nothing_enqueued(redis: object) -> bool:
    return all(Queue(name, connection=redis).count == 0 for name in ("default", "analysis"))


def test_right_object_is_confirmed_once(app, client, auth, queued, redis) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    put_source(app, creator.id, asset.id, BODY)

    response = confirm(client, asset.id)
    assert response.status_code == 200
    assert json_of(response)["status"] == "queued"  # confirmed, then handed to the pipeline
    stored = load(app, creator.id, asset.id)
    assert stored.status == "queued"
    assert stored.size == len(BODY)
    assert stored.content_type == "video/mp4"
    assert queued.analyses == [asset.id]

    again = confirm(client, asset.id)  # the browser retried: no second follow-up
    assert json_of(again)["status"] == "queued"
    assert len(queued.analyses) == 1


def test_a_follow_up_that_never_ran_runs_on_the_next_confirmation(
    app, client, auth, queued, redis
) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    put_source(app, creator.id, asset.id, BODY)
    with app.app_context():  # confirmed, then the process died before the follow-up
        assets.transition(get_table(), creator.id, asset.id, assets.UPLOADING, assets.UPLOADED)
    assert json_of(confirm(client, asset.id))["status"] == "queued"
    assert queued.analyses == [asset.id]


def test_missing_object_fails_with_a_reason(app, client, auth, queued, redis) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    data = json_of(confirm(client, asset.id))
    assert data["status"] == "failed"
    assert "Upload the video again" in data["error"]
    assert load(app, creator.id, asset.id).status == "failed"
    assert queued.analyses == []
    assert nothing_enqueued(redis)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (BODY[:400], "video/mp4", "Only 400 bytes of 1000 bytes arrived"),
        (BODY + b"extra", "video/mp4", "1005 bytes arrived, but the file you chose is 1000"),
        (BODY, "text/plain", "not as a video"),
        (BODY, "video/webm", "not as a video"),  # not the type it was announced as
        (b"Hello, these are my notes." + b"." * 974, "video/mp4", "That file isn't a video"),
    ],
)
def test_wrong_object_is_deleted_and_the_asset_failed(
    app, client, auth, queued, redis, body: bytes, content_type: str, reason: str
) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    key = put_source(app, creator.id, asset.id, body, content_type)

    data = json_of(confirm(client, asset.id))
    assert data["status"] == "failed"
    assert reason in data["error"]
    stored = load(app, creator.id, asset.id)
    assert stored.status == "failed"
    assert stored.error == data["error"]
    assert not object_exists(app, key)
    assert queued.analyses == []
    assert nothing_enqueued(redis)


def test_object_over_the_limit_is_refused(aws: None, redis) -> None:
    from tests.support.app import AuthActions, make_app

    app = make_app(redis, MAX_UPLOAD_BYTES=500)
    client = app.test_client()
    creator = AuthActions(app, client).login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    key = put_source(app, creator.id, asset.id, BODY)
    data = json_of(confirm(client, asset.id))
    assert data["status"] == "failed"
    assert "outside the allowed" in data["error"]
    assert not object_exists(app, key)


def test_another_creators_asset_is_not_found_and_untouched(
    app, client, auth, queued, redis
) -> None:
    owner = auth.login("b@example.com")
    theirs = make_asset(app, owner.id, size=len(BODY))
    key = put_source(app, owner.id, theirs.id, BODY)
    auth.login("a@example.com")

    response = confirm(client, theirs.id)
    assert response.status_code == 404
    assert load(app, owner.id, theirs.id).status == "uploading"
    assert object_exists(app, key)
    assert queued.analyses == []
    assert nothing_enqueued(redis)


def test_service_decides_the_follow_up_and_jobs_runs_it(app: Flask, auth) -> None:
    creator = auth.login("a@example.com")
    asset = make_asset(app, creator.id, size=len(BODY))
    put_source(app, creator.id, asset.id, BODY)
    calls: list[str] = []
    limits = uploads.UploadLimits.from_config(app.config)
    with app.app_context():
        table, storage = get_table(), get_storage()
        with pytest.raises(NotFound):
            uploads.confirm(table, storage, "someone-else", asset.id, limits)
        follow_up = uploads.confirm(table, storage, creator.id, asset.id, limits)
        done = jobs.queue_analysis(follow_up, lambda a: calls.append(a.id))
    assert done.status == assets.UPLOADED
    assert calls == [asset.id]


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x00\x00\x18ftypisom",
        b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat",
        b"\x1a\x45\xdf\xa3\x01\x00\x00\x00",
        b"RIFF\x00\x00\x00\x00AVI LIST",
        b"\x00\x00\x01\xba\x44\x00",
        (b"\x47" + b"\x00" * 187) * 4,  # MPEG-TS: a sync byte every 188 bytes
    ],
)
def test_known_containers_look_like_video(head: bytes) -> None:
    from truss.services.sniff import looks_like_video

    assert looks_like_video(head)


@pytest.mark.parametrize("head", [b"Hello", b"<html>", b"%PDF-1.7", b"\x89PNG\r\n\x1a\n", b""])
def test_other_files_do_not(head: bytes) -> None:
    from truss.services.sniff import looks_like_video

    assert not looks_like_video(head)
