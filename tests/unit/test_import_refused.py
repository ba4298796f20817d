"""Archives the import must refuse, naming the problem, with nothing written (issue 16)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions
from tests.support.assets import csrf_headers
from tests.support.clips import make_clip, ready_asset
from tests.support.portability import archive_bytes, only_export, start_export, upload_and_import
from truss.data import chapters, exports, keys
from truss.extensions import get_storage, get_table

CLIP_ID = "01J00000000000000000000002"
CLIP_BYTES = b"a clip's video bytes " * 50


@pytest.fixture
def setup(app: Flask, client: FlaskClient, auth: AuthActions) -> dict[str, Any]:
    """An archive of a first creator's clip, and a second creator signed in on `other`."""
    first = auth.login("first@example.com")
    asset = ready_asset(app, first.id, title="Launch talk")
    clip = make_clip(app, first.id, asset.id, CLIP_ID, title="Big laugh")
    with app.app_context():
        get_storage().put_bytes(clip.video_key, CLIP_BYTES, "video/mp4")
    start_export(client)
    archive = archive_bytes(app, only_export(app, first.id))
    other = app.test_client()
    second = auth.login("second@example.com", client=other)
    return {"archive": archive, "first": first, "second": second, "other": other}


def rebuilt(archive: bytes, change: Callable[[dict[str, bytes], dict[str, Any]], None]) -> bytes:
    """The archive with members and manifest changed by `change` (checksums NOT updated
    unless `change` does it)."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    members = {name: source.read(name) for name in source.namelist() if name != "manifest.json"}
    manifest = json.loads(source.read("manifest.json"))
    change(members, manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, body in members.items():
            target.writestr(name, body)
        target.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


def nothing_written(app: Flask, cid: str, extra: tuple[str, ...] | list[str] = ()) -> None:
    """A scan of the whole table and a listing of the creator's files: only the profile, its
    email item and the import item; the refused archive was deleted from storage."""
    with app.app_context():
        items = [i for i in get_table().scan(_everything()) if cid in str(i)]
        files = get_storage().list_prefix(keys.creator_object_root(cid))
    expected = sorted(["CREATOR", "IMPORT", "METADATA", *extra])
    assert sorted(i["SK"].split("#")[0] for i in items) == expected
    assert files == []


def _everything() -> Any:
    from boto3.dynamodb.conditions import Attr

    return Attr("PK").exists()


def test_one_changed_byte_of_a_clip_is_refused_naming_the_clip(
    app: Flask, setup: dict[str, Any]
) -> None:
    archive = setup["archive"]
    at = archive.index(CLIP_BYTES) + 7
    tampered = archive[:at] + bytes([archive[at] ^ 1]) + archive[at + 1 :]
    done = upload_and_import(app, setup["other"], tampered)
    assert done.status == exports.FAILED
    assert "clips/Big-laugh-" in done.error and "nothing was imported" in done.error
    nothing_written(app, setup["second"].id)


def test_a_clip_changed_with_its_crc_but_not_its_checksum_is_refused(
    app: Flask, setup: dict[str, Any]
) -> None:
    def change(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        name = next(n for n in members if n.startswith("clips/"))
        members[name] = members[name].replace(b"clip", b"clap", 1)

    done = upload_and_import(app, setup["other"], rebuilt(setup["archive"], change))
    assert done.status == exports.FAILED
    assert "does not match its checksum" in done.error and "clips/Big-laugh-" in done.error
    nothing_written(app, setup["second"].id)


def test_a_manifest_entry_removed_is_refused(app: Flask, setup: dict[str, Any]) -> None:
    def change(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        manifest["files"] = [f for f in manifest["files"] if not f["path"].startswith("clips/")]

    done = upload_and_import(app, setup["other"], rebuilt(setup["archive"], change))
    assert done.status == exports.FAILED
    assert "not in manifest.json" in done.error and "clips/Big-laugh-" in done.error
    nothing_written(app, setup["second"].id)


def test_an_item_of_another_creator_is_refused(app: Flask, setup: dict[str, Any]) -> None:
    stranger = "01J99999999999999999999999"

    def change(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        lines = members["items.jsonl"].decode().splitlines()
        foreign = {"PK": {"S": keys.creator_pk(stranger)}, "SK": {"S": "CLIP#" + CLIP_ID}}
        lines.append(json.dumps(foreign))
        members["items.jsonl"] = ("\n".join(lines) + "\n").encode()
        entry = next(f for f in manifest["files"] if f["path"] == "items.jsonl")
        entry["size"] = len(members["items.jsonl"])
        entry["sha256"] = hashlib.sha256(members["items.jsonl"]).hexdigest()

    done = upload_and_import(app, setup["other"], rebuilt(setup["archive"], change))
    assert done.status == exports.FAILED
    assert f"CREATOR#{stranger}" in done.error and "not the archive's creator's own" in done.error
    nothing_written(app, setup["second"].id)


def test_a_newer_schema_version_is_refused(app: Flask, setup: dict[str, Any]) -> None:
    def change(members: dict[str, bytes], manifest: dict[str, Any]) -> None:
        manifest["schema_version"] = 99

    done = upload_and_import(app, setup["other"], rebuilt(setup["archive"], change))
    assert done.status == exports.FAILED
    assert "newer Truss (schema version 99" in done.error
    nothing_written(app, setup["second"].id)


def test_a_file_that_is_not_an_archive_is_refused(app: Flask, setup: dict[str, Any]) -> None:
    done = upload_and_import(app, setup["other"], b"not a zip at all")
    assert done.status == exports.FAILED and "not a ZIP archive" in done.error
    nothing_written(app, setup["second"].id)


def test_an_upload_that_is_not_an_archive_or_too_big_is_refused_before_storage(
    app: Flask, setup: dict[str, Any]
) -> None:
    other = setup["other"]
    headers = csrf_headers(other)
    for body, expected in (
        ({"size": 0, "content_type": "application/zip"}, "Choose a Truss export (.zip) up to 5 GB"),
        ({"size": 6 * 1024**3, "content_type": "application/zip"}, "truss import"),
        ({"size": 100, "content_type": "video/mp4"}, "Choose the .zip file a Truss export gave"),
        ({"size": "big"}, "Choose a Truss export"),
    ):
        answer = other.post("/account/data/imports", json=body, headers=headers)
        assert answer.status_code == 400 and expected in answer.get_json()["error"]
    with app.app_context():
        assert exports.list_imports(get_table(), setup["second"].id) == []


def test_an_archive_that_never_arrived_fails_the_import_saying_so(
    app: Flask, setup: dict[str, Any]
) -> None:
    other = setup["other"]
    headers = csrf_headers(other)
    started = other.post(
        "/account/data/imports",
        json={"size": 10, "content_type": "application/zip"},
        headers=headers,
    ).get_json()
    answer = other.post(started["confirm"], json={}, headers=headers)
    assert answer.status_code == 400 and "didn't arrive" in answer.get_json()["error"]
    (imp,) = _imports(app, setup)
    assert imp.status == exports.FAILED
    nothing_written(app, setup["second"].id)


def _imports(app: Flask, setup: dict[str, Any]) -> list[exports.Import]:
    with app.app_context():
        return exports.list_imports(get_table(), setup["second"].id)


def test_the_operator_commands_export_to_a_file_and_import_it(
    app: Flask, setup: dict[str, Any], tmp_path: Any
) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "alice.zip"
    exported = runner.invoke(args=["export", "--email", "first@example.com", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert zipfile.ZipFile(out).read("manifest.json")
    imported = runner.invoke(args=["import", str(out), "--email", "second@example.com"])
    assert imported.exit_code == 0, imported.output
    assert "items and 2 files imported" in imported.output
    assert "Big laugh" in setup["other"].get("/clips").get_data(as_text=True)
    tampered = tmp_path / "bad.zip"
    tampered.write_bytes(out.read_bytes().replace(CLIP_BYTES[:40], b"X" * 40, 1))
    refused = runner.invoke(args=["import", str(tampered), "--email", "second@example.com"])
    assert (
        refused.exit_code == 1
        and "refused" in refused.output
        and "clips/Big-laugh-" in refused.output
    )
    unknown = runner.invoke(args=["export", "--email", "nobody@example.com"])
    assert unknown.exit_code == 1 and "No account has the email" in unknown.output


def test_an_account_being_deleted_neither_imports_nor_exports(
    app: Flask, setup: dict[str, Any]
) -> None:
    """A job that runs after the account's deletion began writes nothing into it."""
    from truss.portability.export import run_export
    from truss.portability.importer import run_import

    second = setup["second"].id
    with app.app_context():
        table, storage = get_table(), get_storage()
        imp = exports.create_import(table, second, len(setup["archive"]), exports.QUEUED)
        storage.put_bytes(imp.archive_key, setup["archive"], "application/zip")
        export = exports.create_export(table, second, include_sources=False)
        table.update(keys.creator_profile(second), {"deleting": "ticket"})
        done = run_import(table, storage, second, imp.id)
        exported = run_export(table, storage, second, export.id)
    assert done.status == exports.FAILED and "being deleted" in done.error
    assert exported.status == exports.FAILED and "being deleted" in exported.error
    nothing_written(app, second, extra=["EXPORT"])


def test_confirming_an_import_twice_queues_it_once(app: Flask, setup: dict[str, Any]) -> None:
    other = setup["other"]
    headers = csrf_headers(other)
    archive = setup["archive"]
    started = other.post(
        "/account/data/imports",
        json={"size": len(archive), "content_type": "application/zip"},
        headers=headers,
    ).get_json()
    with app.app_context():
        get_storage().put_bytes(started["post"]["fields"]["key"], archive, "application/zip")
    assert other.post(started["confirm"], json={}, headers=headers).status_code == 200
    assert other.post(started["confirm"], json={}, headers=headers).status_code == 200
    (imp,) = _imports(app, setup)
    assert imp.status == exports.DONE


def test_an_import_stops_when_the_deletion_begins_midway(
    app: Flask, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion begins while files are being copied: the next step stops the import."""
    from truss.portability import importer

    second = setup["second"].id
    copied: list[str] = []

    def head_then_delete(self: Any, key: str) -> Any:
        copied.append(key)
        with app.app_context():
            get_table().update(keys.creator_profile(second), {"deleting": "ticket"})
        return None

    monkeypatch.setattr(importer.Storage, "head", _archive_real_then(head_then_delete))
    done = upload_and_import(app, setup["other"], setup["archive"])
    assert done.status == exports.FAILED and "being deleted" in done.error
    assert copied  # it had got as far as the files
    assert done.files_done < done.files_total
    with app.app_context():
        kinds = {i.get("type") for i in exports.creator_items(get_table(), second)}
    assert "clip" not in kinds  # nothing revealed


def _archive_real_then(replacement: Any) -> Any:
    """Storage.head as it is for the uploaded archive, `replacement` for the copied files."""
    from truss.storage import Storage

    real = Storage.head

    def head(self: Any, key: str) -> Any:
        return real(self, key) if "/imports/" in key else replacement(self, key)

    return head


def test_after_the_last_retry_a_crashed_job_says_so(app: Flask, setup: dict[str, Any]) -> None:
    """RQ's failure callback: a retry left changes nothing; the last one fails the item with
    what to do (instead of a row that says it is working forever)."""
    from types import SimpleNamespace

    from truss.portability import jobs

    second = setup["second"].id
    with app.app_context():
        table = get_table()
        export = exports.create_export(table, second, include_sources=False)
        imp = exports.create_import(table, second, 10, status=exports.IMPORTING)
        for retries_left in (1, 0):
            crash = RuntimeError("killed")
            job = SimpleNamespace(args=(second, export.id), retries_left=retries_left)
            jobs.export_crashed(job, None, RuntimeError, crash, None)  # type: ignore[arg-type]
            job = SimpleNamespace(args=(second, imp.id), retries_left=retries_left)
            jobs.import_crashed(job, None, RuntimeError, crash, None)  # type: ignore[arg-type]
            if retries_left:
                assert exports.get_export(table, second, export.id).status == exports.QUEUED
                assert exports.get_import(table, second, imp.id).status == exports.IMPORTING
        failed_export = exports.get_export(table, second, export.id)
        failed_import = exports.get_import(table, second, imp.id)
    assert failed_export.status == exports.FAILED and "Start a new export" in failed_export.error
    assert (
        failed_import.status == exports.FAILED and "Upload the archive again" in failed_import.error
    )


VICTIM_TOKEN = "a-sign-in-token-the-attacker-knows"


def with_sign_in_link_first(archive: bytes) -> bytes:
    """The archive, same size, whose items.jsonl's first item is a sign-in link for another
    account (padded with spaces to the replaced line's length; checksums and CRC not updated:
    a reader notices only at the member's end)."""
    header_at = archive.index(b'{"schema_version"')
    start = archive.index(b"\n", header_at) + 1
    end = archive.index(b"\n", start)
    link = {
        "PK": {"S": keys.magic_link(VICTIM_TOKEN)["PK"]},
        "SK": {"S": "VERIFY"},
        "type": {"S": "magic_link"},
        "email": {"S": "victim@example.com"},
        "expires_at": {"N": "9999999999"},
    }
    line = json.dumps(link).encode()
    assert len(line) <= end - start
    return archive[:start] + line.ljust(end - start) + archive[end:]


@pytest.fixture
def long_items(app: Flask, client: FlaskClient, setup: dict[str, Any]) -> bytes:
    """An archive of the first creator whose items.jsonl is longer than a ZIP read (chapters
    of a long talk): its first lines are read before the member's end is reached."""
    cid = setup["first"].id
    with app.app_context():
        table = get_table()
        (asset,) = [i for i in exports.creator_items(table, cid) if i.get("type") == "asset"]
        rows = [{"start": n * 30, "title": f"Chapter {n}"} for n in range(400)]
        chapters.save(table, cid, keys.asset_id_from_sk(asset["SK"]), rows)
    start_export(client)
    with app.app_context():
        newest = exports.list_exports(get_table(), cid)[0]
    archive = archive_bytes(app, newest)
    assert len(zipfile.ZipFile(io.BytesIO(archive)).read("items.jsonl")) > 16_000
    return archive


def replaced_after_check(
    app: Flask, archive: bytes, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> exports.Import:
    """Import the clean archive, replacing it in storage (as a second browser POST to the same
    presigned key would) once the check has passed; small reads, as for a big archive."""
    from truss.portability import archive as archive_module
    from truss.portability import importer
    from truss.portability.importer import run_import

    monkeypatch.setattr(archive_module, "READ_AHEAD_BYTES", 256)
    monkeypatch.setattr(archive_module, "CHUNK_BYTES", 64)
    real_check = importer.check
    second = setup["second"].id
    with app.app_context():
        table, storage = get_table(), get_storage()
        imp = exports.create_import(table, second, len(archive), exports.QUEUED)
        storage.put_bytes(imp.archive_key, archive, "application/zip")

        def check_then_replace(*args: Any) -> Any:
            checked = real_check(*args)
            evil = with_sign_in_link_first(archive)
            storage.put_bytes(imp.archive_key, evil, "application/zip")
            return checked

        monkeypatch.setattr(importer, "check", check_then_replace)
        return run_import(table, storage, second, imp.id)


def outside_partition(app: Flask, cid: str, iid: str) -> list[dict[str, Any]]:
    """Sign-in links, and any item the import wrote outside the creator's partition."""
    with app.app_context():
        items = get_table().scan(_everything())
    return [
        i
        for i in items
        if str(i["PK"]).startswith("MAGIC#")
        or (i.get("imported_by") == iid and i["PK"] != keys.creator_pk(cid))
    ]


def test_an_archive_replaced_after_its_check_is_refused(
    app: Flask, setup: dict[str, Any], long_items: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads are pinned to the checked version: the replaced archive is never read."""
    done = replaced_after_check(app, long_items, setup, monkeypatch)
    assert done.status == exports.FAILED and "replaced while it was being imported" in done.error
    assert outside_partition(app, setup["second"].id, done.id) == []


def test_the_write_pass_refuses_an_item_of_another_partition(
    app: Flask, setup: dict[str, Any], long_items: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even where a store ignored the pin, the write pass checks every item's owner again."""
    from truss.storage import Storage

    real_open_range = Storage.open_range

    def unpinned(self: Storage, key: str, first: int, last: int, if_match: str = "") -> Any:
        return real_open_range(self, key, first, last)

    monkeypatch.setattr(Storage, "open_range", unpinned)
    done = replaced_after_check(app, long_items, setup, monkeypatch)
    assert done.status == exports.FAILED and "not the archive's creator's own" in done.error
    assert "MAGIC#" in done.error
    assert outside_partition(app, setup["second"].id, done.id) == []


def test_an_archive_replaced_after_its_upload_was_confirmed_is_refused(
    app: Flask, setup: dict[str, Any]
) -> None:
    """The version confirmed on the page is the one imported, even on a later retry."""
    from truss.portability.importer import run_import

    other, second = setup["other"], setup["second"].id
    headers = csrf_headers(other)
    archive = setup["archive"]
    started = other.post(
        "/account/data/imports",
        json={"size": len(archive), "content_type": "application/zip"},
        headers=headers,
    ).get_json()
    key = started["post"]["fields"]["key"]
    iid = key.split("/")[3]
    with app.app_context():
        table, storage = get_table(), get_storage()
        storage.put_bytes(key, archive, "application/zip")
        exports.update_import(table, second, iid, status=exports.UPLOADING)
        confirmed_etag = storage.head(key)
        assert confirmed_etag is not None
        exports.update_import(table, second, iid, archive_etag=confirmed_etag.etag)
        storage.put_bytes(key, with_sign_in_link_first(archive), "application/zip")
        done = run_import(table, storage, second, iid)
    assert done.status == exports.FAILED and "replaced" in done.error
    assert outside_partition(app, second, iid) == []


def test_an_import_that_cannot_be_queued_fails_saying_so(
    app: Flask, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down at the confirmation: the browser hears why (503), the row stops polling
    and says to upload again, instead of "Checking…" forever."""
    from redis.exceptions import ConnectionError as RedisDown

    from truss.portability import jobs

    def queue_down(*args: Any, **kwargs: Any) -> None:
        raise RedisDown("Connection refused")

    monkeypatch.setattr(jobs, "enqueue_import", queue_down)
    other = setup["other"]
    headers = csrf_headers(other)
    archive = setup["archive"]
    started = other.post(
        "/account/data/imports",
        json={"size": len(archive), "content_type": "application/zip"},
        headers=headers,
    ).get_json()
    with app.app_context():
        get_storage().put_bytes(started["post"]["fields"]["key"], archive, "application/zip")
    answer = other.post(started["confirm"], json={}, headers=headers)
    assert answer.status_code == 503
    assert "couldn't be queued" in answer.get_json()["error"]
    (imp,) = _imports(app, setup)
    assert imp.status == exports.FAILED and "Upload the archive again" in imp.error
    row = other.get(f"/account/data/imports/{imp.id}/status")
    assert row.status_code == 286 and "couldn&#39;t be queued" in row.get_data(as_text=True)
    nothing_written(app, setup["second"].id)  # the archive it couldn't queue is deleted


def test_an_import_archive_is_uploaded_with_the_expiry_tag(
    app: Flask, setup: dict[str, Any]
) -> None:
    """The browser's POST must carry the tag the bucket's rule deletes archives by, so one
    abandoned before its confirmation (or left by a crash) doesn't stay in storage forever."""
    import base64

    from truss.storage import EXPIRING_DAYS, EXPIRING_TAG, EXPIRING_TAGGING

    other = setup["other"]
    started = other.post(
        "/account/data/imports",
        json={"size": 100, "content_type": "application/zip"},
        headers=csrf_headers(other),
    ).get_json()
    fields = started["post"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert fields["tagging"] == EXPIRING_TAGGING
    assert {"tagging": EXPIRING_TAGGING} in policy["conditions"]  # S3 refuses a POST without
    with app.app_context():
        storage = get_storage()
        rules = storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    (rule,) = [r for r in rules if r["Filter"].get("Tag", {}).get("Key") == EXPIRING_TAG]
    assert rule["Expiration"]["Days"] == EXPIRING_DAYS


def test_every_key_of_a_rewritten_item_stays_in_the_importers_partition() -> None:
    """transform() itself refuses (whichever pass calls it): a foreign PK, a foreign index
    key, a sort key no creator item has, an S3 key outside the creator's folder."""
    from truss.portability.archive import ArchiveRefused
    from truss.portability.importer import Mapping, transform

    old, new, export, iid = (f"01J00000000000000000000{c * 3}" for c in "ABCD")
    mapping = Mapping(old, new, export)
    own = {"PK": keys.creator_pk(old), "SK": "CLIP#" + CLIP_ID, "type": "clip"}
    written = transform(dict(own), mapping, iid)
    assert written is not None and written["PK"] == keys.creator_pk(new)
    victim = keys.email_owner("victim@example.com")["PK"]
    for bad in (
        {"PK": keys.magic_link("token")["PK"], "SK": "VERIFY"},
        {"PK": victim, "SK": "CREATOR"},
        {**own, "GSI1PK": victim},
        {**own, "GSI2PK": "ASSET_CLIPS#someone-else#x"},
        {**own, "SK": "SESSION#abc"},
        {**own, "video_key": "static/site.css"},
        {**own, "poster_key": f"creators/{old}/../../other/poster.jpg"},
    ):
        with pytest.raises(ArchiveRefused, match="not the archive's creator's own"):
            transform(bad, mapping, iid)
