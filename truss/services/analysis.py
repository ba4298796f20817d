"""Running an analysis again: after a failure, when a worker was lost, or to replace results."""

from __future__ import annotations

from collections.abc import Callable

from truss.data import assets
from truss.data.assets import Asset
from truss.data.table import Conflict, Table


class CannotRetry(Exception):
    """The asset can't be analysed again right now; the message says why."""


def run_again(table: Table, asset: Asset, stuck: bool, start: Callable[[Asset], object]) -> None:
    """A failed, stuck or ready asset goes back to the queue; `start` queues the analysis.

    The new run replaces the clips the analyzer made before; clips made by hand stay.
    """
    if stuck:
        try:
            asset = assets.fail(
                table, asset.creator_id, asset.id,
                "The worker stopped answering.", expected_from=asset.status,
            )  # fmt: skip
        except Conflict:
            asset = assets.get(table, asset.creator_id, asset.id)
    if asset.status not in {assets.FAILED, assets.READY}:
        raise CannotRetry(f"This video is {asset.status}: wait until it is ready or has failed.")
    if asset.failed_from == assets.UPLOADING:
        raise CannotRetry("The upload never finished. Delete this video and upload it again.")
    try:
        start(asset)
    except Conflict as exc:
        raise CannotRetry("Someone else just retried it. Reload the page.") from exc
