"""PUBLICATION items: one live post per clip and platform, the claim that lets one worker at a
time touch the platform, lease-holder writes, cancel/reschedule only while scheduled, retry."""

from __future__ import annotations

import pytest
from flask import Flask

from truss.data import keys
from truss.data import publications as store
from truss.data.publications import AlreadyPublishing, NotChanged, Publication
from truss.data.table import Conflict, Table
from truss.extensions import get_table

CID = "01JCREATOR00000000000000AA"
CLID = "01J00000000000000000000001"
T = 1_800_000_000


@pytest.fixture
def table(app: Flask) -> Table:
    with app.app_context():
        return get_table()


def new(table: Table, platform: str = "youtube", at: int = T) -> Publication:
    pub = Publication(
        creator_id=CID, platform=platform, clip_id=CLID, scheduled_at=at, text="Hi", created=T
    )
    return store.create(table, pub)


def test_the_key_is_publication_clip_platform_under_the_creator() -> None:
    key = keys.publication(CID, CLID, "tiktok")
    assert key == {"PK": f"CREATOR#{CID}", "SK": f"PUBLICATION#{CLID}#tiktok"}
    assert keys.publication_from_sk(key["SK"]) == (CLID, "tiktok")


def test_a_second_post_is_refused_while_one_is_live_and_replaces_a_finished_failure(
    table: Table,
) -> None:
    new(table)
    with pytest.raises(AlreadyPublishing):
        new(table)
    claimed = store.claim(table, CID, CLID, "youtube", "w1", 60, T)
    assert claimed is not None
    store.save_session(table, claimed, "w1", {"upload_url": "u"}, T)
    store.mark_failed(table, claimed, "w1", "content", "Refused", "bad", None, T)

    again = new(table)

    assert (again.status, again.session, again.error, again.attempts) == ("scheduled", None, "", 0)
    assert [p.platform for p in store.list_for_clip(table, CID, CLID)] == ["youtube"]


def test_one_claim_wins_and_not_before_the_post_is_due(table: Table) -> None:
    new(table, at=T + 60)
    assert store.claim(table, CID, CLID, "youtube", "w1", 60, T) is None  # not due yet

    first = store.claim(table, CID, CLID, "youtube", "w1", 60, T + 60)
    second = store.claim(table, CID, CLID, "youtube", "w2", 60, T + 61)

    assert first is not None and (first.status, first.lease_holder, first.attempts) == (
        "uploading",
        "w1",
        1,
    )
    assert second is None


def test_a_lapsed_lease_is_claimed_again_and_the_old_holder_can_no_longer_write(
    table: Table,
) -> None:
    new(table)
    old = store.claim(table, CID, CLID, "youtube", "w1", 60, T)
    assert old is not None
    store.save_session(table, old, "w1", {"upload_url": "u"}, T)

    assert store.claim(table, CID, CLID, "youtube", "w2", 60, T + 30) is None  # still held
    taken = store.claim(table, CID, CLID, "youtube", "w2", 60, T + 61)

    assert taken is not None and taken.session == {"upload_url": "u"} and taken.attempts == 2
    with pytest.raises(Conflict):
        store.mark_published(table, old, "w1", "vid", "url", T + 62)


def test_a_claim_after_the_upload_finished_goes_straight_to_processing(table: Table) -> None:
    new(table)
    pub = store.claim(table, CID, CLID, "youtube", "w1", 60, T)
    assert pub is not None
    store.save_session(table, pub, "w1", {"upload_url": "u", "video_id": "v1"}, T)

    again = store.claim(table, CID, CLID, "youtube", "w2", 60, T + 61)

    assert again is not None and again.status == "processing" and again.processing_since


def test_cancel_and_reschedule_only_while_scheduled(table: Table) -> None:
    new(table, platform="tiktok", at=T + 600)
    moved = store.reschedule(table, CID, CLID, "tiktok", T + 900, T)
    assert moved.scheduled_at == T + 900
    assert store.cancel(table, CID, CLID, "tiktok", T).status == "cancelled"
    assert store.claim(table, CID, CLID, "tiktok", "w1", 60, T + 1000) is None

    new(table, platform="discord")
    assert store.claim(table, CID, CLID, "discord", "w1", 60, T) is not None
    with pytest.raises(NotChanged):
        store.cancel(table, CID, CLID, "discord", T)
    with pytest.raises(NotChanged):
        store.reschedule(table, CID, CLID, "discord", T + 900, T)


def test_retry_keeps_the_session_unless_the_platform_refused_the_content(table: Table) -> None:
    for platform, kind in (("youtube", "quota"), ("tiktok", "content")):
        new(table, platform=platform)
        pub = store.claim(table, CID, CLID, platform, "w1", 60, T)
        assert pub is not None
        pub = store.save_session(table, pub, "w1", {"upload_url": "u"}, T)
        store.mark_failed(
            table, pub, "w1", kind, "No", "x", T + 3600 if kind == "quota" else None, T
        )

    kept = store.retry(table, CID, CLID, "youtube", T + 10)
    dropped = store.retry(table, CID, CLID, "tiktok", T + 10)

    assert (kept.status, kept.scheduled_at, kept.session, kept.retry_at) == (
        "scheduled",
        T + 10,
        {"upload_url": "u"},
        None,
    )
    assert dropped.session is None
    with pytest.raises(NotChanged):
        store.retry(table, CID, CLID, "youtube", T + 20)  # scheduled: nothing to retry


def test_the_reconciles_missed_mark_loses_to_a_reschedule_made_after_its_read(
    table: Table,
) -> None:
    read = new(table, platform="tiktok")
    store.reschedule(table, CID, CLID, "tiktok", T + 7200, T)

    with pytest.raises(Conflict):
        store.mark_missed(table, read, None, "Missed", T + 3700)

    assert store.get(table, CID, CLID, "tiktok").status == "scheduled"
