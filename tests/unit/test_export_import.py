"""Export then import (issue 16): the round trip through the pages, a second import adding
nothing, and who may see whose export."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.assets import csrf_headers, put_source
from tests.support.clips import make_clip, ready_asset
from tests.support.media import Videos
from tests.support.portability import (
    archive_bytes,
    only_export,
    start_export,
    upload_and_import,
    with_items_changed,
)
from truss.data import chapters, clips, exports, keys, shares, usage
from truss.data.creators import Creator
from truss.extensions import get_storage, get_table
from truss.media import probe

CLIP_ID = "01J00000000000000000000001"


def make_library(app: Flask, cid: str, videos: Videos) -> dict[str, Any]:
    """A creator's video (with its source), chapters, a clip whose render is a real MP4, and
    a share link to that clip; the source and the clip's files charged to storage."""
    asset = ready_asset(app, cid, title="Launch talk")
    put_source(app, cid, asset.id, b"source video bytes")
    clip = make_clip(app, cid, asset.id, CLIP_ID, title="Big laugh!")
    mp4 = videos.short().read_bytes()
    with app.app_context():
        table, storage = get_table(), get_storage()
        storage.put_bytes(clip.video_key, mp4, "video/mp4")
        chapters.save(table, cid, asset.id, [{"start": 0, "title": "Intro"}])
        token = shares.new_token()
        shares.create(table, cid, clip.id, token)
        usage.set_asset_stored(table, cid, asset.id, len(b"source video bytes"))
        clip_bytes = sum(_size(storage, key) for key in (clip.video_key, clip.poster_key))
        usage.set_clip_stored(table, cid, clip.id, clip_bytes, clip.render_id)
    return {"asset": asset, "clip": clip, "mp4": mp4, "share": token, "clip_bytes": clip_bytes}


def _size(storage: Any, key: str) -> int:
    info = storage.head(key)
    assert info is not None, key
    return info.size


def stored(app: Flask, cid: str) -> int:
    with app.app_context():
        return int((get_table().find(keys.usage(cid)) or {}).get("stored_bytes", 0))


def partition(app: Flask, cid: str) -> list[dict[str, Any]]:
    with app.app_context():
        return list(exports.creator_items(get_table(), cid))


def objects(app: Flask, cid: str) -> list[tuple[str, int]]:
    with app.app_context():
        return get_storage().list_prefix(keys.creator_object_root(cid))


@pytest.fixture
def two(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> tuple[Creator, FlaskClient, Creator, FlaskClient]:
    other = app.test_client()
    first = auth.login("first@example.com")
    second = auth.login("second@example.com", client=other)
    return first, client, second, other


def test_round_trip_brings_the_library_back_under_new_ids(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, second, other = two
    made = make_library(app, first.id, videos)
    assert start_export(client, sources=True).status_code == 302
    export = only_export(app, first.id)
    assert export.status == exports.READY, export.error
    page = client.get(f"/account/data/exports/{export.id}/status").get_data(as_text=True)
    assert "Download the archive" in page
    download = client.get(f"/account/data/exports/{export.id}/download")
    assert download.status_code == 302 and "X-Amz-Expires=900" in download.location
    archive = archive_bytes(app, export)

    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert f"clips/Big-laugh-{CLIP_ID[-6:].lower()}.mp4" in names
    assert any(name.startswith("sources/Launch-talk-") for name in names)
    assert not any("PLATFORM_TOKEN" in line for line in _items_text(archive))

    done = upload_and_import(app, other, archive)
    assert done.status == exports.DONE, done.error

    library = other.get("/assets").get_data(as_text=True)
    assert "Launch talk" in library
    with app.app_context():
        table, storage = get_table(), get_storage()
        (clip,) = _clips(table, second.id)
        assert clip.id != CLIP_ID and keys.is_id(clip.id)
        assert clip.title == "Big laugh!" and clip.share_token == ""
        assert clip.video_key.startswith(keys.creator_object_root(second.id))
        assert storage.get_bytes(clip.video_key) == made["mp4"]
        stored = chapters.find(table, second.id, clip.asset_id)
        assert stored is not None and stored.asset_id == clip.asset_id != made["asset"].id
    assert other.get(f"/clips/{clip.id}").status_code == 200
    assert "Big laugh!" in other.get("/clips").get_data(as_text=True)


def test_an_imported_clip_plays(
    app: Flask,
    two: tuple[Creator, FlaskClient, Creator, FlaskClient],
    videos: Videos,
    tmp_path: Any,
) -> None:
    first, client, second, other = two
    make_library(app, first.id, videos)
    start_export(client)
    upload_and_import(app, other, archive_bytes(app, only_export(app, first.id)))
    with app.app_context():
        (clip,) = _clips(get_table(), second.id)
        path = tmp_path / "clip.mp4"
        get_storage().download(clip.video_key, str(path))
    info = probe(path)
    assert info.duration > 0 and info.width > 0


def test_old_share_links_stay_dead_after_a_round_trip(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, second, other = two
    made = make_library(app, first.id, videos)
    start_export(client)
    archive = archive_bytes(app, only_export(app, first.id))
    with app.app_context():
        shares.revoke(get_table(), first.id, CLIP_ID, made["share"])  # the old account is gone
    upload_and_import(app, other, archive)
    assert app.test_client().get(f"/s/{made['share']}").status_code in (404, 410)
    assert not [i for i in partition(app, second.id) if i.get("share_token")]


def test_a_second_import_of_the_same_archive_adds_nothing(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, second, other = two
    made = make_library(app, first.id, videos)
    start_export(client)
    archive = archive_bytes(app, only_export(app, first.id))
    upload_and_import(app, other, archive)
    before = _content(partition(app, second.id))
    files = [key for key, _ in objects(app, second.id)]
    charged = stored(app, second.id)
    assert charged == made["clip_bytes"] > 0  # the clip's files (no sources in this archive)
    again = upload_and_import(app, other, archive)
    assert again.status == exports.DONE
    assert _content(partition(app, second.id)) == before
    assert [key for key, _ in objects(app, second.id)] == files
    assert stored(app, second.id) == charged  # nothing written twice, nothing charged twice


def test_imported_items_stay_hidden_until_the_import_is_revealed(
    app: Flask,
    two: tuple[Creator, FlaskClient, Creator, FlaskClient],
    videos: Videos,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A half-imported archive (items and files written, the worker killed before the
    reveal): the library and the clip list show none of it, and the import isn't done."""
    from truss.portability import importer

    first, client, second, other = two
    make_library(app, first.id, videos)
    start_export(client)
    archive = archive_bytes(app, only_export(app, first.id))
    monkeypatch.setattr(importer.Importer, "_reveal", _crash)
    half = upload_and_import(app, other, archive)
    assert half.status == exports.IMPORTING and half.files_done == half.files_total
    assert [i for i in partition(app, second.id) if i.get("type") == "asset"]
    assert "Launch talk" not in other.get("/assets").get_data(as_text=True)
    assert "Big laugh!" not in other.get("/clips").get_data(as_text=True)
    assert "Imported" not in other.get(f"/account/data/imports/{half.id}/status").get_data(
        as_text=True
    )


def _crash(*args: Any) -> None:
    raise RuntimeError("worker killed")


def test_another_creator_cannot_poll_download_or_see_an_export(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, _, other = two
    make_library(app, first.id, videos)
    start_export(client)
    export = only_export(app, first.id)
    assert other.get(f"/account/data/exports/{export.id}/status").status_code == 404
    assert other.get(f"/account/data/exports/{export.id}/download").status_code == 404
    assert export.id not in other.get("/account/data").get_data(as_text=True)
    assert start_export(other).status_code == 302  # starts only ever the signed-in creator's
    with app.app_context():
        assert len(exports.list_exports(get_table(), first.id)) == 1
    imp = upload_and_import(app, client, archive_bytes(app, export))
    assert other.get(f"/account/data/imports/{imp.id}/status").status_code == 404
    headers = csrf_headers(other)
    assert (
        other.post(f"/account/data/imports/{imp.id}/uploaded", json={}, headers=headers).status_code
        == 404
    )


def test_an_expired_export_is_gone(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, _, _ = two
    start_export(client)
    export = only_export(app, first.id)
    with app.app_context():
        get_table().update(keys.export(first.id, export.id), {"expires_at": 1})
    assert client.get(f"/account/data/exports/{export.id}/download").status_code == 404
    assert export.id not in client.get("/account/data").get_data(as_text=True)


def _clips(table: Any, cid: str) -> list[clips.Clip]:
    return [
        clips.Clip.from_item(i)
        for i in exports.creator_items(table, cid)
        if i.get("type") == "clip"
    ]


def _content(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The partition without the import items themselves (each import writes its own)."""
    return sorted(
        (
            {k: v for k, v in i.items() if k != "imported_by"}
            for i in items
            if i.get("type") != "import"
        ),
        key=lambda i: i["SK"],
    )


def _items_text(archive: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(archive)).read("items.jsonl").decode().splitlines()


def test_items_are_plain_dynamodb_json(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, _, _ = two
    make_library(app, first.id, videos)
    start_export(client)
    header, *lines = _items_text(archive_bytes(app, only_export(app, first.id)))
    assert json.loads(header)["creator_id"] == first.id
    parsed = [json.loads(line) for line in lines]
    assert {"S": keys.creator_pk(first.id)} == parsed[0]["PK"]
    assert any(item.get("title") == {"S": "Big laugh!"} for item in parsed)


def test_an_archive_bigger_than_a_part_is_whole(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient]
) -> None:
    """A 20 MiB source crosses two 8 MiB parts of the multipart upload: the member reads back
    byte for byte."""
    first, client, _, _ = two
    asset = ready_asset(app, first.id, title="Big one")
    body = os.urandom(20 * 1024**2 + 123)
    put_source(app, first.id, asset.id, body)
    start_export(client, sources=True)
    archive = zipfile.ZipFile(io.BytesIO(archive_bytes(app, only_export(app, first.id))))
    (source,) = [name for name in archive.namelist() if name.startswith("sources/")]
    assert archive.read(source) == body


def test_clip_file_names_are_safe_readable_and_distinct() -> None:
    from truss.portability.archive import safe_name

    assert safe_name('Big "laugh": 10/10?', "01J0000000000000000000ABCD", ".mp4") == (
        "Big-laugh-1010-00abcd.mp4"
    )
    assert safe_name("配信のハイライト", "01J0000000000000000000ABCD", ".mp4") == (
        "配信のハイライト-00abcd.mp4"
    )
    assert safe_name("../../etc", "01J0000000000000000000ABCD", ".mp4") == "etc-00abcd.mp4"
    assert safe_name("", "01J0000000000000000000ABCD", ".mp4") == "untitled-00abcd.mp4"


def test_two_clips_with_one_title_get_two_files(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient]
) -> None:
    first, client, _, other = two
    asset = ready_asset(app, first.id)
    for clid in ("01J00000000000000000000001", "01J10000000000000000000001"):  # same last 6
        make_clip(app, first.id, asset.id, clid, title="Same title")
    start_export(client)
    archive = archive_bytes(app, only_export(app, first.id))
    names = [n for n in zipfile.ZipFile(io.BytesIO(archive)).namelist() if n.startswith("clips/")]
    assert len(set(names)) == 2
    assert upload_and_import(app, other, archive).status == exports.DONE


def test_the_archive_is_tagged_for_the_buckets_expiry_rule(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient]
) -> None:
    """S3 deletes the archive a day after its EXPORT item expires (moto runs no lifecycle:
    the tag and the rule are checked)."""
    from truss.storage import EXPIRING_DAYS, EXPIRING_TAG

    first, client, _, _ = two
    start_export(client)
    export = only_export(app, first.id)
    with app.app_context():
        storage = get_storage()
        tags = storage.client.get_object_tagging(Bucket=storage.bucket, Key=export.archive_key)
        rules = storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    assert {"Key": EXPIRING_TAG, "Value": "yes"} in tags["TagSet"]
    (rule,) = [r for r in rules if r["Filter"].get("Tag", {}).get("Key") == EXPIRING_TAG]
    assert rule["Expiration"]["Days"] == EXPIRING_DAYS > exports.EXPORT_LIFE_S / 86400


def test_the_archive_holds_no_live_link_or_upload_session(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    """A clip's live share token and a post's resumable upload URL (which takes bytes without
    any sign-in) are capabilities: the archive someone downloads or forwards holds neither."""
    from truss.data import publications

    first, client, _, _ = two
    made = make_library(app, first.id, videos)
    upload_url = "https://upload.example/resumable?upload_id=SECRET-UPLOAD-CAPABILITY"
    with app.app_context():
        table = get_table()
        pub = publications.create(
            table,
            publications.Publication(
                creator_id=first.id, platform="youtube", clip_id=CLIP_ID,
                asset_id=made["asset"].id, scheduled_at=1, text="Best moment", created=1,
            ),
        )  # fmt: skip
        table.update(
            keys.publication(first.id, CLIP_ID, pub.platform),
            {"session": {"upload_url": upload_url}, "lease_holder": "worker-7", "slot": "x"},
        )
    start_export(client)
    text = "\n".join(_items_text(archive_bytes(app, only_export(app, first.id))))
    assert "Best moment" in text  # the post is there
    for secret in (made["share"], "SECRET-UPLOAD-CAPABILITY", "worker-7"):
        assert secret not in text
    for name in ("share_token", "session", "lease_holder", "slot"):
        assert f'"{name}"' not in text


def test_an_import_charges_the_files_it_brings_whatever_the_archive_says(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    """An archive whose items claim a negative size (which would make the counter negative and
    the quota never refuse) is charged the sizes of its files."""
    first, client, second, other = two
    made = make_library(app, first.id, videos)
    start_export(client, sources=True)
    archive = archive_bytes(app, only_export(app, first.id))
    lying = with_items_changed(
        archive,
        lambda line: re.sub(
            r'"stored_bytes": \{"N": "\d+"\}', '"stored_bytes": {"N": "-1000000000000"}', line
        ),
    )
    assert lying != archive
    done = upload_and_import(app, other, lying)
    assert done.status == exports.DONE, done.error
    assert stored(app, second.id) == len(b"source video bytes") + made["clip_bytes"]


def test_an_import_that_would_pass_the_storage_quota_writes_nothing(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient], videos: Videos
) -> None:
    first, client, second, other = two
    made = make_library(app, first.id, videos)
    start_export(client, sources=True)
    archive = archive_bytes(app, only_export(app, first.id))
    app.config["QUOTA_STORAGE_BYTES"] = made["clip_bytes"]  # the source doesn't fit as well
    done = upload_and_import(app, other, archive)
    assert done.status == exports.FAILED
    assert "storage is too full for this archive" in done.error and "Delete videos" in done.error
    assert not [i for i in partition(app, second.id) if i.get("type") in ("asset", "clip")]
    assert stored(app, second.id) == 0
    app.config["QUOTA_STORAGE_BYTES"] = made["clip_bytes"] + len(b"source video bytes")
    assert upload_and_import(app, other, archive).status == exports.DONE  # it fits exactly
    again = upload_and_import(app, other, archive)  # brings nothing new: nothing to refuse
    assert again.status == exports.DONE, again.error
    assert stored(app, second.id) == made["clip_bytes"] + len(b"source video bytes")


def test_downloading_an_export_that_is_not_ready_says_why(
    app: Flask, two: tuple[Creator, FlaskClient, Creator, FlaskClient]
) -> None:
    first, client, _, _ = two
    with app.app_context():
        export = exports.create_export(get_table(), first.id, include_sources=False)
    working = client.get(f"/account/data/exports/{export.id}/download")
    assert working.status_code == 409
    assert "is not ready yet" in working.get_data(as_text=True)
    with app.app_context():
        exports.update_export(get_table(), first.id, export.id, status=exports.FAILED)
    failed = client.get(f"/account/data/exports/{export.id}/download")
    assert failed.status_code == 409 and "Start a new export" in failed.get_data(as_text=True)
