"""A video's own cost item under parallel renders: a transaction conflict (another render of
the same video writing at that moment) is tried again, so no render's cost is dropped, while
an event counted before or a video that is gone still adds nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.aws import AwsSlate
from truss.data import analytics as daily
from truss.data import keys
from truss.data.table import Conflict, Table

CID = "01JAAAAAAAAAAAAAAAAAAAAAC1"
AID = "01JAAAAAAAAAAAAAAAAAAAAAC2"


@pytest.fixture
def table(aws: None, _moto_session: AwsSlate) -> Table:
    made = Table(_moto_session.dynamodb, _moto_session.table_name, "secret")
    made.put({**keys.asset(CID, AID), "type": "asset"})
    return made


def conflicting(table: Table, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The next `times` transactions are cancelled for a TransactionConflict."""
    transact, tries = table.transact, [0]

    def maybe_conflict(actions: Any) -> None:
        tries[0] += 1
        if tries[0] <= times:
            raise Conflict("transaction refused: ['TransactionConflict', 'None']")
        transact(actions)

    monkeypatch.setattr(table, "transact", maybe_conflict)
    monkeypatch.setattr(daily.time, "sleep", lambda _s: None)
    return tries


def test_a_transaction_conflict_is_tried_again_and_the_cost_kept(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries = conflicting(table, monkeypatch, times=2)
    assert daily.add_asset_cost(table, CID, AID, "render:C:R1", {"renders.renders": 1})
    assert tries[0] == 3
    assert daily.read_asset_cost(table, CID, AID) == {"renders.renders": 1.0}
    assert not daily.add_asset_cost(table, CID, AID, "render:C:R1", {"renders.renders": 1})


def test_conflicts_that_never_end_raise_instead_of_passing_for_counted(
    table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    conflicting(table, monkeypatch, times=daily.ASSET_COST_TRIES)
    with pytest.raises(Conflict):
        daily.add_asset_cost(table, CID, AID, "render:C:R1", {"renders.renders": 1})
