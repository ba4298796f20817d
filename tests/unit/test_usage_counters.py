"""The usage counters behind the quotas: every charge is tied to the item it is for, so
retries never count twice, limits hold, and a cancelled transaction is tried again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.support.assets import make_asset
from truss.data import assets, keys, usage
from truss.data.table import Conflict, Table
from truss.extensions import get_storage, get_table

CID = "CREATOR1"


@pytest.fixture
def table(app: Flask) -> Iterator[Table]:
    with app.app_context():
        yield get_table()


def stored(table: Table, cid: str = CID) -> int:
    return usage.read(table, cid, "2026-11").stored_bytes


def test_storage_is_counted_once_per_item_and_given_back_on_release(
    app: Flask, table: Table
) -> None:
    one, two = (make_asset(app, CID).id for _ in range(2))
    assert usage.set_asset_stored(table, CID, one, 600, limit=1000) == 600
    assert usage.set_asset_stored(table, CID, one, 600, limit=1000) == 0  # a retried confirmation
    with pytest.raises(usage.OverLimit):
        usage.set_asset_stored(table, CID, two, 500, limit=1000)
    assert stored(table) == 600 and "stored_bytes" not in table.get(keys.asset(CID, two))
    assert usage.set_asset_stored(table, CID, one, 400) == -200  # a smaller file
    assert usage.release_asset_stored(table, CID, one) == 400
    assert usage.release_asset_stored(table, CID, one) == 0  # a retried delete gives back nothing
    assert stored(table) == 0
    assert stored(table, "SOMEONE_ELSE") == 0


def test_a_charge_for_a_moved_on_item_is_not_counted(app: Flask, table: Table) -> None:
    clid = "01JCCCCCCCCCCCCCCCCCCCCCCC"
    table.put({**keys.clip(CID, clid), "type": "clip", "render_id": "r2"})
    with pytest.raises(usage.Gone):
        usage.set_clip_stored(table, CID, clid, 100, render_id="r1")
    with pytest.raises(usage.Gone):
        usage.set_asset_stored(table, CID, "01G0NEG0NEG0NEG0NEG0NEG0NE", 100)
    assert stored(table) == 0


def test_a_transaction_cancelled_by_a_concurrent_one_is_tried_again(
    app: Flask, table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = make_asset(app, CID).id
    real = table.transact
    calls: list[int] = []

    def busy_once(actions: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise Conflict("transaction refused: ['None', 'TransactionConflict']")
        real(actions)

    monkeypatch.setattr(table, "transact", busy_once)
    assert usage.set_asset_stored(table, CID, aid, 300, limit=1000) == 300
    assert len(calls) == 2 and stored(table) == 300


def test_minutes_are_counted_once_per_run_and_per_month(app: Flask, table: Table) -> None:
    aid = make_asset(app, CID).id
    assert usage.charge_analysis(table, CID, aid, "1", "2026-11", 40.0, 60.0)
    assert not usage.charge_analysis(table, CID, aid, "1", "2026-11", 40.0, 60.0)
    with pytest.raises(usage.OverLimit):
        usage.charge_analysis(table, CID, aid, "2", "2026-11", 40.0, 60.0)
    assert usage.charge_analysis(table, CID, aid, "2", "2026-12", 40.0, 60.0)  # a new month
    assert usage.read(table, CID, "2026-11").analysed_s == 40.0
    assert usage.read(table, CID, "2026-12").analysed_s == 40.0


def test_truss_init_counts_storage_used_before_quotas_existed(app: Flask, table: Table) -> None:
    """Videos and rendered clips written by a release without quotas: `truss init` charges
    each once (per creator), a second run or a run after live charges adds nothing."""
    from tests.support.clips import make_clip

    other, being_deleted = "CREATOR2", make_asset(app, CID, status=assets.READY)
    video = make_asset(app, CID, status=assets.READY)
    theirs = make_asset(app, other, status=assets.READY)
    for cid, aid, size in (
        (CID, video.id, 5000),
        (other, theirs.id, 700),
        (CID, being_deleted.id, 9),
    ):
        table.update(keys.asset(cid, aid), {"size": size})
    assets.fence(table, CID, being_deleted.id)
    clip = make_clip(app, CID, video.id, "01JCCCCCCCCCCCCCCCCCCCCCCC")  # two small files
    rendered = sum(
        get_storage().head(key).size
        for key in (clip.video_key, clip.poster_key)  # type: ignore[union-attr]
    )
    charged = make_asset(app, CID, status=assets.READY)  # charged live already: not again
    usage.set_asset_stored(table, CID, charged.id, 300)

    first = app.test_cli_runner().invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "3 videos and clips stored before quotas counted" in first.output
    assert stored(table) == 5000 + rendered + 300 and stored(table, other) == 700

    again = app.test_cli_runner().invoke(args=["init"])
    assert "already counted" in again.output
    forced = app.test_cli_runner().invoke(args=["init", "--force"])
    assert "0 videos and clips" in forced.output  # idempotent: nothing counted twice
    assert stored(table) == 5000 + rendered + 300 and stored(table, other) == 700
