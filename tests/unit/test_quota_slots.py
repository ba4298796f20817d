"""The analyses-at-once limit is a counter of slots, taken before a video is queued and
given back exactly once when its run ends: two confirmations racing can't both pass the
limit, and a run that ends (rendering, failed, crashed, deleted) frees its slot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.support.media import Videos
from tests.support.pipeline import FakeAnalyzer, moment
from truss import jobs
from truss.analysis.base import AnalysisError, ClipLengths
from truss.data import assets, keys, usage
from truss.data.assets import Asset
from truss.data.table import Conflict
from truss.extensions import get_storage, get_table
from truss.services import analysis, quotas, uploads
from truss.services.pipeline import Pipeline
from truss.services.quotas import Quotas

CID = "CREATORSLOT"
ONE_AT_ONCE = Quotas(concurrent_analyses=1)
LIMITS = uploads.UploadLimits(5 * 1024**3, 100 * 1024**2, 16 * 1024**2, 900)


@pytest.fixture(scope="module")
def talk(videos: Videos) -> Path:
    return videos.cut_halfway(12)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


def stored_upload(video: Path) -> str:
    """Started and stored, not yet confirmed."""
    table, storage = get_table(), get_storage()
    body = video.read_bytes()
    plan = uploads.start_upload(table, storage, CID, "talk.mp4", len(body), "video/mp4", LIMITS)
    storage.put_bytes(keys.asset_source_object(CID, plan["asset_id"]), body, "video/mp4")
    return str(plan["asset_id"])


def queue(asset: Asset) -> None:
    assets.transition(get_table(), CID, asset.id, asset.status, assets.QUEUED)


def confirm(aid: str, start: Callable[[Asset], object] = queue) -> Asset:
    follow_up = uploads.confirm(get_table(), get_storage(), CID, aid, LIMITS, ONE_AT_ONCE)
    return jobs.queue_analysis(follow_up, start)


def held() -> int:
    return usage.read(get_table(), CID, quotas.month_of(datetime.now(UTC))).analyses


def test_two_confirmations_racing_cannot_both_pass_a_limit_of_one(ctx: None, talk: Path) -> None:
    first, second = stored_upload(talk), stored_upload(talk)
    results: dict[str, Asset] = {}

    def queue_after_the_other_confirmed(asset: Asset) -> None:
        # The second confirmation checks while the first is still `uploaded` (not queued,
        # not in any index yet): the interleaving a count of queued videos lets through.
        results[second] = confirm(second)
        queue(asset)

    results[first] = confirm(first, queue_after_the_other_confirmed)
    statuses = {aid: assets.get(get_table(), CID, aid).status for aid in (first, second)}
    assert statuses == {first: assets.QUEUED, second: assets.FAILED}
    assert "limit is 1 at once" in assets.get(get_table(), CID, second).error
    assert held() == 1


def pipeline(analyzer: FakeAnalyzer) -> Pipeline:
    return Pipeline(
        get_table(), get_storage(), lambda *_: analyzer, lambda *_: None, ClipLengths(2, 10),
        quota=ONE_AT_ONCE,
    )  # fmt: skip


class BrokenAnalyzer(FakeAnalyzer):
    def analyze(self, *args: object) -> object:
        raise AnalysisError("The analysis service didn't answer.")


def test_a_run_that_ends_frees_its_slot_once(ctx: None, talk: Path) -> None:
    table = get_table()
    done = confirm(stored_upload(talk))  # analysed: rendering, its slot is free
    assert held() == 1 and confirm(stored_upload(talk)).status == assets.FAILED
    pipeline(FakeAnalyzer([moment(1, 4, 90)])).analyze(CID, done.id)
    assert assets.get(table, CID, done.id).status == assets.RENDERING and held() == 0

    failing = confirm(stored_upload(talk))  # an analysis that fails frees it too
    assert failing.status == assets.QUEUED and held() == 1
    pipeline(BrokenAnalyzer([])).analyze(CID, failing.id)
    assert assets.get(table, CID, failing.id).status == assets.FAILED and held() == 0
    quotas.release_slot(table, CID, failing.id)  # given back once only
    assert held() == 0

    deleted = confirm(stored_upload(talk))  # deleting a queued video frees it
    assert deleted.status == assets.QUEUED and held() == 1
    uploads.delete_asset(table, get_storage(), CID, deleted.id)
    assert held() == 0
    assert confirm(stored_upload(talk)).status == assets.QUEUED  # the slot is usable again


def test_retrying_a_video_that_holds_a_slot_does_not_take_another(ctx: None, talk: Path) -> None:
    """A confirmation retried after a crash (the video still `uploaded`, its slot taken)."""
    aid = stored_upload(talk)
    crashed: list[Asset] = []

    def crash(asset: Asset) -> None:
        crashed.append(asset)
        raise RuntimeError("the web process died here")

    with pytest.raises(RuntimeError):
        confirm(aid, crash)  # the slot goes back as the start didn't queue it
    assert held() == 0 and crashed
    assert confirm(aid).status == assets.QUEUED and held() == 1
    assert confirm(aid).status == assets.QUEUED and held() == 1


def test_a_start_beaten_by_a_concurrent_one_gives_the_slot_back(ctx: None, talk: Path) -> None:
    """jobs.queue_analysis calls analysis.not_queued when the move to queued conflicts: after
    an upload that is fine (the video as it is now); on Retry it says someone else did it."""
    table, aid = get_table(), stored_upload(talk)

    def beaten(asset: Asset) -> None:
        raise Conflict("a concurrent start moved it first")

    assert confirm(aid, beaten).status == assets.UPLOADED and held() == 0
    assert confirm(aid).status == assets.QUEUED and held() == 1
    pipeline(BrokenAnalyzer([])).analyze(CID, aid)
    failed = assets.get(table, CID, aid)
    assert failed.status == assets.FAILED and held() == 0

    follow_up = analysis.run_again(table, failed, stuck=False, quota=ONE_AT_ONCE)
    assert held() == 1
    with pytest.raises(analysis.CannotRetry, match="Someone else just retried it"):
        jobs.queue_analysis(follow_up, beaten)
    assert held() == 0 and assets.get(table, CID, aid).status == assets.FAILED
