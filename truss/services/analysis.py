"""Starting an analysis: after an upload, or again (after a failure, when a worker was lost,
or to replace results).

These rules decide; they never queue. Each returns a `FollowUp` saying whether to queue the
video's analysis; the route hands it to `jobs.queue_analysis`, which queues it and, if that
fails, calls `not_queued` here (the one place that undoes what the decision took).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from truss.data import assets
from truss.data.assets import Asset
from truss.data.table import Conflict, Table
from truss.services import quotas
from truss.services.quotas import QuotaExceeded, Quotas

TAKEN = "Someone else just retried it. Reload the page."


class CannotRetry(Exception):
    """The asset can't be analysed again right now; the message says why."""


@dataclass(frozen=True)
class FollowUp:
    """What a service decided for a video: `asset` as it read it, and whether to queue its
    analysis now (`analyse`: it took one of the creator's analysis slots for it). `again`:
    the creator asked to analyse it again (a concurrent start then is a CannotRetry)."""

    asset: Asset
    analyse: bool = False
    again: bool = False


def after_upload(table: Table, asset: Asset, quota: Quotas) -> FollowUp:
    """An uploaded video is analysed, behind the analyses-at-once limit: over it, the video
    fails with a message and a Retry (its file stays) instead of queueing."""
    try:
        quotas.take_slot(table, asset, quota, after_upload=True)
    except QuotaExceeded as exc:
        with contextlib.suppress(Conflict):  # moved on meanwhile (another confirmation)
            assets.fail(table, asset.creator_id, asset.id, str(exc), expected_from=asset.status)
        return FollowUp(assets.get(table, asset.creator_id, asset.id))
    return FollowUp(asset, analyse=True)


def run_again(table: Table, asset: Asset, stuck: bool, quota: Quotas) -> FollowUp:
    """A failed, stuck or ready asset goes back to the queue (once `jobs.queue_analysis` runs
    the follow-up), behind the analyses-at-once and monthly minutes limits (QuotaExceeded
    says which; nothing is queued then).

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
    quotas.check_reanalysis(table, asset, quota)
    quotas.take_slot(table, asset, quota, after_upload=False)
    return FollowUp(asset, analyse=True, again=True)


def not_queued(table: Table, follow_up: FollowUp, error: BaseException) -> None:
    """The analysis a follow-up asked for wasn't queued (`error` says why): the slot it took
    goes back (kept when a concurrent start queued the video). A concurrent start that got
    there first (Conflict) is fine after an upload and a CannotRetry when analysing again;
    any other error goes on."""
    asset = follow_up.asset
    quotas.release_slot(table, asset.creator_id, asset.id)
    if not isinstance(error, Conflict):
        raise error
    if follow_up.again:
        raise CannotRetry(TAKEN) from error
