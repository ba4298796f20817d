"""The asset aggregate: transitions, GSI1 in sync, failure reasons, delete of all under it."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from tests.support.assets import item_keys, make_asset
from truss.data import assets, keys
from truss.data.table import Conflict, NotFound
from truss.extensions import get_table

CID = "01CREAT0RAAAAAAAAAAAAAAAAA"


def gsi1sk(app: Flask, cid: str, aid: str) -> str:
    with app.app_context():
        return str(get_table().get(keys.asset(cid, aid))["GSI1SK"])


def test_the_happy_path_keeps_gsi1_in_sync(app: Flask) -> None:
    asset = make_asset(app, CID)
    assert gsi1sk(app, CID, asset.id) == f"ASSET#uploading#{asset.id}"
    with app.app_context():
        table = get_table()
        for step in ("uploaded", "queued", "analyzing", "rendering", "ready"):
            before = asset.version
            asset = assets.transition(table, CID, asset.id, asset.status, step, progress=50)
            assert asset.status == step
            assert asset.version == before + 1
            assert table.get(keys.asset(CID, asset.id))["GSI1SK"] == f"ASSET#{step}#{asset.id}"


def test_no_going_backwards_or_skipping(app: Flask) -> None:
    asset = make_asset(app, CID, status="analyzing")
    with app.app_context():
        table = get_table()
        with pytest.raises(Conflict):  # a retried job that thinks it's still queued
            assets.transition(table, CID, asset.id, "queued", "analyzing")
        with pytest.raises(assets.InvalidTransition):
            assets.transition(table, CID, asset.id, "analyzing", "uploaded")
        with pytest.raises(assets.InvalidTransition):
            assets.transition(table, CID, asset.id, "uploading", "ready")
        assert assets.get(table, CID, asset.id).status == "analyzing"


def test_a_stale_version_loses(app: Flask) -> None:
    asset = make_asset(app, CID, status="queued")
    with app.app_context():
        table = get_table()
        assets.transition(table, CID, asset.id, "queued", "analyzing", version=asset.version)
        with pytest.raises(Conflict):
            assets.transition(table, CID, asset.id, "analyzing", "rendering", version=asset.version)


def test_missing_asset_is_a_conflict_not_a_new_item(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        with pytest.raises(Conflict):
            assets.transition(table, CID, "01N0PEAAAAAAAAAAAAAAAAAAAA", "queued", "analyzing")
        with pytest.raises(NotFound):
            assets.get(table, CID, "01N0PEAAAAAAAAAAAAAAAAAAAA")


@pytest.mark.parametrize("status", ["uploading", "uploaded", "queued", "analyzing", "rendering"])
def test_fail_from_any_working_state_then_retry(app: Flask, status: str) -> None:
    asset = make_asset(app, CID, status=status)
    with app.app_context():
        table = get_table()
        failed = assets.fail(table, CID, asset.id, "The video has no audio track. Upload another.")
        assert failed.status == "failed"
        assert failed.error.startswith("The video has no audio")
        assert table.get(keys.asset(CID, asset.id))["failed_from"] == status
        assert gsi1sk(app, CID, asset.id).startswith("ASSET#failed#")
        retried = assets.transition(table, CID, asset.id, "failed", "queued")
        assert retried.error == ""
        with pytest.raises(assets.InvalidTransition):
            assets.fail(table, CID, asset.id, "x", expected_from="ready")


def test_every_transition_in_the_table_is_reachable(app: Flask) -> None:
    assert set(assets.TRANSITIONS) == set(assets.STATUSES)
    for targets in assets.TRANSITIONS.values():
        assert targets <= set(assets.STATUSES)


def test_rename(app: Flask) -> None:
    asset = make_asset(app, CID)
    with app.app_context():
        table = get_table()
        assert assets.rename(table, CID, asset.id, "  My   best  stream ").title == "My best stream"
        with pytest.raises(ValueError):
            assets.rename(table, CID, asset.id, "   ")
        with pytest.raises(NotFound):
            assets.rename(table, "010THERAAAAAAAAAAAAAAAAAAA", asset.id, "Mine now")


def test_abandoned_after_the_url_expired(app: Flask) -> None:
    live = make_asset(app, CID)
    stale = make_asset(app, CID, expires_in=-1)
    assert not live.is_abandoned()
    assert stale.is_abandoned()
    assert stale.display_status == "abandoned"
    assert live.is_abandoned(now=time.time() + 901)
    done = make_asset(app, CID, status="uploaded", expires_in=-1)
    assert not done.is_abandoned()


def test_delete_removes_everything_under_the_asset_and_nothing_else(app: Flask) -> None:
    doomed = make_asset(app, CID, status="ready")
    kept = make_asset(app, CID, status="ready")
    with app.app_context():
        table = get_table()
        table.put_new({**keys.asset_chapters(CID, doomed.id), "type": "chapters"})
        table.put_new({**keys.asset_chapters(CID, kept.id), "type": "chapters"})
        clid = "01C11PAAAAAAAAAAAAAAAAAAA1"
        table.put_new(
            {**keys.clip(CID, clid), **keys.asset_clips_index(CID, doomed.id, clid),
             "type": "clip", "asset_id": doomed.id}
        )  # fmt: skip
        clid = "01C11PAAAAAAAAAAAAAAAAAAA2"
        table.put_new(
            {**keys.clip(CID, clid), **keys.asset_clips_index(CID, kept.id, clid),
             "type": "clip", "asset_id": kept.id}
        )  # fmt: skip
        assets.delete(table, CID, doomed.id)
    left = item_keys(app, CID)
    assert not [sk for sk in left if doomed.id in sk]
    assert f"ASSET#{kept.id}" in left
    assert f"ASSET#{kept.id}#CHAPTERS" in left
    assert "CLIP#01C11PAAAAAAAAAAAAAAAAAAA2" in left
    assert "CLIP#01C11PAAAAAAAAAAAAAAAAAAA1" not in left
