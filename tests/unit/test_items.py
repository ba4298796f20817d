"""One reader for every dataclass's item (truss.data.items): today's item formats read the
same as the hand-written readers did, old items missing attributes get the old defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal as D

import pytest

from truss.data import assets, chapters, clips, creators, keys, magic_links, shares, streams
from truss.data.items import attr, from_item
from truss.streams.model import Spike

CID, AID, CLID, SID = "c1", "a1", "cl1", "s1"
TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def test_a_full_asset_item_reads_every_field() -> None:
    item = {
        **keys.asset(CID, AID), "type": "asset", "title": "T", "status": "ready",
        "created_at": "2026-01-01", "updated_at": "2026-01-02", "version": D(3),
        "source_key": "s/k", "file_name": "f.mp4", "expected_size": D(100),
        "declared_type": "video/mp4", "upload_mode": "multipart", "upload_id": "u",
        "part_bytes": D(10), "upload_expires_at": D(99), "size": D(100),
        "content_type": "video/mp4", "duration_s": D("12.5"), "thumbnail_key": "t",
        "progress": D(100), "error": "e", "stage": "st", "failed_from": "queued",
        "status_changed_at": "2026-01-03", "analyzer": "gemini", "summary": "sum",
        "clips_total": D(3), "clips_done": D(2), "clips_failed": D(1), "input_tokens": D(5),
        "output_tokens": D(6), "run": D(2), "deleting": True, "gemini_file": "files/x",
        "gemini_file_expires_at": D(1800000000), "claimed_by": "h", "lease_until": D("12.25"),
        "stream_id": SID,
    }  # fmt: skip
    asset = assets.Asset.from_item(item)
    assert asset == assets.Asset(
        id=AID, creator_id=CID, title="T", status="ready", created_at="2026-01-01",
        updated_at="2026-01-02", version=3, source_key="s/k", file_name="f.mp4",
        expected_size=100, declared_type="video/mp4", upload_mode="multipart", upload_id="u",
        part_bytes=10, upload_expires_at=99, size=100, content_type="video/mp4",
        duration_s=12.5, thumbnail_key="t", progress=100, error="e", stage="st",
        failed_from="queued", status_changed_at="2026-01-03", analyzer="gemini", summary="sum",
        clips_total=3, clips_done=2, clips_failed=1, input_tokens=5, output_tokens=6, run=2,
        deleting=True, gemini_file="files/x", gemini_file_expires_at=1800000000.0,
        claimed_by="h", lease_until=12.25, stream_id=SID,
    )  # fmt: skip
    assert type(asset.size) is int and type(asset.duration_s) is float  # no Decimals


def test_an_old_asset_item_gets_the_old_defaults() -> None:
    item = {
        **keys.asset(CID, AID), "status": "uploading", "created_at": "2026-01-01",
        "source_key": "k", "updated_at": "",
    }  # fmt: skip
    asset = assets.Asset.from_item(item)
    assert (asset.updated_at, asset.status_changed_at) == ("2026-01-01", "2026-01-01")
    assert (asset.version, asset.upload_mode) == (1, "post")
    assert (asset.size, asset.duration_s) == (None, None)
    assert (asset.title, asset.run, asset.deleting, asset.lease_until) == ("", 0, False, 0.0)


def test_an_asset_item_without_a_required_attribute_is_refused() -> None:
    with pytest.raises(KeyError):
        assets.Asset.from_item({**keys.asset(CID, AID), "status": "ready", "created_at": "x"})


def test_clip_items_read_with_legacy_sources_and_defaults() -> None:
    item = {
        **keys.clip(CID, CLID), "type": "clip", "asset_id": AID, "start": D("1.5"),
        "end": D(20), "score": D(80), "title": "t", "hook": "h", "reason": "r",
        "hashtags": ["a", "b"], "transcript": "tr", "rank": D(2), "render_status": "ready",
        "render_id": "r1", "video_key": "v", "poster_key": "p", "error": "e",
        "created_at": "c", "source": "analyzer", "share_token": "tok", "run": D(4),
    }  # fmt: skip
    assert clips.Clip.from_item(item) == clips.Clip(
        id=CLID, creator_id=CID, asset_id=AID, start=1.5, end=20.0, score=80, title="t",
        hook="h", reason="r", hashtags=["a", "b"], transcript="tr", rank=2,
        render_status="ready", render_id="r1", video_key="v", poster_key="p", error="e",
        created_at="c", source=clips.SIGNALS, share_token="tok", run=4,
    )  # fmt: skip
    bare = clips.Clip.from_item({**keys.clip(CID, CLID), "asset_id": AID, "start": 0, "end": 5})
    assert (bare.score, bare.hashtags, bare.render_status, bare.source) == (
        0, [], clips.PENDING, clips.SIGNALS,
    )  # fmt: skip
    assert clips.Clip.from_item({**item, "source": "creator"}).source == clips.MANUAL


def test_creator_and_share_items() -> None:
    profile = {**keys.creator_profile(CID), "email": "a@b.c", "created_at": "x"}
    assert creators.Creator.from_item(profile) == creators.Creator(
        id=CID, email="a@b.c", name="", plan="free", created_at="x", session_version=1
    )
    stored = {**profile, "name": "N", "plan": "pro", "session_version": D(4)}
    assert creators.Creator.from_item(stored).session_version == 4
    share = {**keys.share(TOKEN), "creator_id": CID, "clip_id": CLID}
    assert shares.Share.from_item(share) == shares.Share(
        token=TOKEN, creator_id=CID, clip_id=CLID, created_at="", revoked_at=""
    )


def test_stream_items_keep_only_the_newest_gaps() -> None:
    gaps = [[D(n), D(n) + D("0.5")] for n in range(streams.MAX_GAPS + 5)]
    item = {
        **keys.stream(CID, SID), "source": "twitch", "status": "live", "created_at": "c",
        "lag_estimated_s": D("2.5"), "gaps": gaps, "messages": D(10),
    }  # fmt: skip
    stream = streams.Stream.from_item(item)
    assert (stream.id, stream.creator_id, stream.version, stream.channel) == (SID, CID, 1, "")
    assert stream.gaps[0] == streams.Gap(5.0, 5.5) and len(stream.gaps) == streams.MAX_GAPS
    assert (stream.lag_estimated_s, stream.lag_override_s, stream.messages) == (2.5, None, 10)
    assert stream.lag_default_s == streams.DEFAULT_LAG_S


def test_a_spike_round_trips_through_its_item() -> None:
    spike = Spike(10.0, 8.0, 12.0, 3.25, 70, (("KEKW", 4), ("LUL", 2)), ("a", "b"), True)
    item = streams.spike_item(CID, SID, spike)
    assert streams.spike_from_item(item) == spike
    bare = streams.spike_from_item({"offset_s": D(10), "start_s": D(8), "end_s": D(12)})
    assert bare == Spike(10.0, 8.0, 12.0, 0.0, 0)


@dataclass(frozen=True, kw_only=True)
class Renamed:
    key: str = field(metadata=attr(name="PK", read=lambda pk: pk.split("#")[-1]))
    next_path: str | None = field(default=None, metadata=attr(name="next"))
    pairs: tuple[tuple[str, int], ...] = ()
    seen: list[float] = field(default_factory=list)


def test_renamed_and_nested_fields_are_declared_once() -> None:
    item = {"PK": "X#k", "next": "/a", "pairs": [["a", D(1)]], "seen": [D("0.5")]}
    assert from_item(Renamed, item) == Renamed(
        key="k", next_path="/a", pairs=(("a", 1),), seen=[0.5]
    )
    assert from_item(Renamed, {"PK": "X#k"}) == Renamed(key="k")


def test_a_magic_link_round_trips_through_its_item() -> None:
    item = magic_links.link_item("tok", "a@b.c", "/assets", 1800000000)
    assert item == {
        **keys.magic_link("tok"), "type": "magic_link", "email": "a@b.c",
        "expires_at": 1800000000, "next": "/assets",
    }  # fmt: skip
    assert from_item(magic_links.StoredLink, item) == magic_links.StoredLink(
        email="a@b.c", next_path="/assets", expires_at=1800000000
    )
    bare = magic_links.link_item("tok", "a@b.c", None, 1)
    assert "next" not in bare and from_item(magic_links.StoredLink, bare).next_path is None


def test_chapters_round_trip_through_their_item() -> None:
    rows = [{"start": 0.0, "end": 5.5, "title": "Intro", "summary": "s"}]
    inline = chapters.chapters_item(CID, AID, rows, None)
    assert inline == {**keys.asset_chapters(CID, AID), "type": "chapters", "asset_id": AID,
                      "chapters": rows}  # fmt: skip
    assert from_item(chapters.StoredChapters, inline) == chapters.StoredChapters(
        asset_id=AID, rows=rows
    )
    pointer = chapters.chapters_item(CID, AID, None, "creators/c1/chapters.json")
    assert "chapters" not in pointer
    assert from_item(chapters.StoredChapters, pointer).object_key == "creators/c1/chapters.json"
    assert from_item(chapters.StoredChapters, chapters.chapters_item(CID, AID, [], None)).rows == []
