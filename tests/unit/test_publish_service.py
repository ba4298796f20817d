"""The publishing service: drafts within each platform's limits, validation per platform (one
platform's problem never blocks the others), times, and the changes a creator can make."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from tests.support.publishing import rendered_clip
from truss.data import platform_tokens
from truss.data.clips import Clip
from truss.data.platform_tokens import Account
from truss.data.table import Table
from truss.extensions import get_table
from truss.publishing import service
from truss.publishing.service import LIMITS, PostRequest

CID = "01JCREATOR00000000000000AA"
CLID = "01J00000000000000000000001"
NOW = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def table(app: Flask) -> Table:
    with app.app_context():
        return get_table()


@pytest.fixture
def clip(app: Flask) -> Clip:
    return rendered_clip(app, CID, CLID)


def connect(table: Table, platform: str) -> None:
    account = Account(platform, f"{platform}-1", "Alice")
    platform_tokens.save(table, CID, account, {"sealed": "x"}, None, int(NOW.timestamp()))


def test_drafts_come_from_the_clip_and_fit_every_limit(clip: Clip) -> None:
    long = replace(clip, title="word " * 40, hook="hook " * 600, hashtags=["#fun", "clips"])

    drafts = service.draft(long)

    for platform, d in drafts.items():
        assert len(d.text) <= LIMITS[platform]["text"]
        assert len(d.description) <= (LIMITS[platform]["description"] or 0) or not d.description
    assert drafts["youtube"].text.startswith("word word") and drafts["youtube"].text.endswith("…")
    assert drafts["tiktok"].text.endswith("… #fun #clips")  # the hook shortened, not the tags
    assert drafts["youtube"].description.endswith("\n\n#fun #clips")
    short = service.draft(clip)
    assert short["youtube"].text == clip.title and "#demo" in short["youtube"].description


def test_one_platforms_problem_never_blocks_the_others(table: Table, clip: Clip) -> None:
    connect(table, "youtube")
    connect(table, "discord")
    platform_tokens.mark_needs_reconnect(table, CID, "discord", 1, "revoked")
    requests = [
        PostRequest("youtube", "A title", "A description", "unlisted"),
        PostRequest("tiktok", "A caption"),
        PostRequest("discord", "A message"),
    ]

    result = service.publish(table, CID, clip, requests, None, NOW)

    assert [p.platform for p in result.publications] == ["youtube"]
    assert [(p.platform, at) for p, at in result.to_enqueue] == [("youtube", NOW)]
    assert "TikTok isn't connected" in result.errors["tiktok"]
    assert "Discord needs to be reconnected" in result.errors["discord"]
    again = service.publish(table, CID, clip, requests[:1], None, NOW)
    assert "already scheduled" in again.errors["youtube"] and not again.to_enqueue


def test_text_over_the_limit_a_time_in_the_past_and_an_unrendered_clip_are_refused(
    table: Table, clip: Clip
) -> None:
    connect(table, "youtube")
    connect(table, "discord")
    too_long = PostRequest("youtube", "x" * 101)
    past = NOW - timedelta(minutes=5)

    assert (
        "allows 100" in service.publish(table, CID, clip, [too_long], None, NOW).errors["youtube"]
    )
    result = service.publish(table, CID, clip, [PostRequest("discord", "Hi")], past, NOW)
    assert "already passed" in result.errors["discord"]
    unrendered = replace(clip, render_status="rendering")
    result = service.publish(table, CID, unrendered, [PostRequest("discord", "Hi")], None, NOW)
    assert "isn't rendered yet" in result.errors["discord"]


def test_a_scheduled_post_is_rescheduled_or_cancelled_until_it_starts(
    table: Table, clip: Clip
) -> None:
    connect(table, "discord")
    at = NOW + timedelta(hours=2)
    result = service.publish(table, CID, clip, [PostRequest("discord", "Hi")], at, NOW)
    assert result.to_enqueue[0][1] == at

    pub, run_at = service.reschedule(table, CID, CLID, "discord", at + timedelta(hours=1), NOW)
    assert run_at == at + timedelta(hours=1) and pub.status == "scheduled"
    assert service.cancel(table, CID, CLID, "discord", NOW).status == "cancelled"
    with pytest.raises(service.PublicationError):
        service.cancel(table, CID, CLID, "discord", NOW)
    assert list(service.statuses(table, CID, CLID)) == ["discord"]


def test_a_tiktok_privacy_tiktok_doesnt_offer_is_refused_in_words(table: Table, clip: Clip) -> None:
    connect(table, "tiktok")
    made_up = PostRequest("tiktok", "A caption", privacy="EVERYONE_AND_THEIR_DOG")
    not_offered = PostRequest(
        "tiktok", "A caption", privacy="PUBLIC_TO_EVERYONE", privacy_options=("SELF_ONLY",)
    )

    for request in (made_up, not_offered):
        result = service.publish(table, CID, clip, [request], None, NOW)
        assert not result.publications and not result.to_enqueue
        assert "TikTok doesn't offer that privacy" in result.errors["tiktok"]
    offered = PostRequest(
        "tiktok", "A caption", privacy="SELF_ONLY", privacy_options=("SELF_ONLY",)
    )
    result = service.publish(table, CID, clip, [offered], None, NOW)
    assert [p.privacy for p in result.publications] == ["SELF_ONLY"]
