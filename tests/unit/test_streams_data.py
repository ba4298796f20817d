"""The stream aggregate: life cycle, counters, gaps, spikes, lag, the asset link, delete."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.support.assets import make_asset
from truss.data import assets, keys
from truss.data import streams as data
from truss.data.table import Conflict, NotFound, Table
from truss.extensions import get_table
from truss.streams.model import Spike


def spike(offset: float, score: int = 70, marker: bool = False) -> Spike:
    return Spike(
        offset_s=offset,
        start_s=offset - 5,
        end_s=offset + 3,
        intensity=14.0,
        score=score,
        top_emotes=(("KEKW", 83), ("LUL", 12)),
        samples=("KEKW", "<b>clip it</b>"),
        marker=marker,
    )


def test_a_live_stream_walks_waiting_live_ended_and_never_back(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        stream = data.create(table, "c1", "twitch", "somechannel", "Friday")
        assert stream.status == data.WAITING and stream.title == "Friday"
        live = data.set_status(table, "c1", stream.id, data.LIVE, data.WAITING)
        assert live.started_at
        ended = data.set_status(table, "c1", stream.id, data.ENDED, data.LIVE)
        assert ended.ended_at
        with pytest.raises(Conflict):  # a late "start" can't reopen it
            data.set_status(table, "c1", stream.id, data.LIVE, data.WAITING)
        with pytest.raises(data.InvalidTransition):
            data.set_status(table, "c1", stream.id, data.WAITING, data.ENDED)


def test_counters_add_up_and_gaps_stay_bounded(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "youtube", "dQw4w9WgXcQ").id
        data.add_counts(table, "c1", sid, 120, 30)
        data.add_counts(table, "c1", sid, 80, 5)
        for n in range(data.MAX_GAPS + 3):
            data.record_gap(table, "c1", sid, float(n * 100), float(n * 100 + 7))
        stream = data.get(table, "c1", sid)
        assert (stream.messages, stream.chatters) == (200, 35)
        assert len(stream.gaps) == data.MAX_GAPS and stream.gaps_total == data.MAX_GAPS + 3
        assert stream.gaps[-1] == data.Gap(float((data.MAX_GAPS + 2) * 100), 5207.0)
        assert stream.gaps[-1].length_s == 7.0


def test_spikes_come_back_in_time_order_with_their_evidence(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        other = data.create(table, "c1", "twitch", "chan").id
        for offset in (900.5, 12.0, 3600.0, 95.0):
            data.put_spike(table, "c1", sid, spike(offset))
        data.put_spike(table, "c1", other, spike(50.0))
        found = data.spikes(table, "c1", sid)
        assert [s.offset_s for s in found] == [12.0, 95.0, 900.5, 3600.0]
        assert found[0].top_emotes == (("KEKW", 83), ("LUL", 12))
        assert found[0].samples == ("KEKW", "<b>clip it</b>")
        assert table.calls["query"] >= 1


def test_mark_this_moment_is_a_strong_spike(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        data.mark_moment(table, "c1", sid, 321.0)
        (marker,) = data.spikes(table, "c1", sid)
        assert marker.marker and marker.score == data.MARKER_SCORE
        assert marker.start_s < 321.0 < marker.end_s


def test_the_lag_in_use_is_override_then_estimate_then_default(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        assert data.get(table, "c1", sid).lag_s == data.DEFAULT_LAG_S
        data.set_lag_estimate(table, "c1", sid, 8.0)
        assert data.get(table, "c1", sid).lag_s == 8.0
        assert data.set_lag_override(table, "c1", sid, 3.5).lag_s == 3.5
        assert data.set_lag_override(table, "c1", sid, None).lag_s == 8.0


def test_spikes_for_asset_follow_the_linked_stream(app: Flask) -> None:
    video = make_asset(app, "c1", status=assets.READY)
    with app.app_context():
        table = get_table()
        assert data.spikes_for_asset(table, "c1", video.id) == (data.DEFAULT_LAG_S, [])
        sid = data.create(table, "c1", "twitch", "chan").id
        data.put_spike(table, "c1", sid, spike(40.0))
        data.set_lag_override(table, "c1", sid, 9.0)
        data.link_asset(table, "c1", sid, video.id)
        lag, found = data.spikes_for_asset(table, "c1", video.id)
        assert lag == 9.0 and [s.offset_s for s in found] == [40.0]
        data.unlink_asset(table, "c1", sid)
        assert data.spikes_for_asset(table, "c1", video.id) == (data.DEFAULT_LAG_S, [])


def test_linking_refuses_another_creators_video(app: Flask) -> None:
    theirs = make_asset(app, "c2", status=assets.READY)
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        with pytest.raises(NotFound):
            data.link_asset(table, "c1", sid, theirs.id)
        assert data.get(table, "c1", sid).asset_id == ""


def test_deleting_the_video_unlinks_it(app: Flask) -> None:
    video = make_asset(app, "c1", status=assets.READY)
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        data.put_spike(table, "c1", sid, spike(40.0))
        data.link_asset(table, "c1", sid, video.id)
        assets.delete(table, "c1", video.id)  # deletes everything under ASSET#<aid>#
        assert data.stream_for_asset(table, "c1", video.id) is None
        assert data.spikes(table, "c1", sid)  # the stream's own spikes stay


def test_delete_removes_the_stream_its_spikes_and_its_link(app: Flask) -> None:
    video = make_asset(app, "c1", status=assets.READY)
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "chan").id
        keep = data.create(table, "c1", "twitch", "chan").id
        for offset in (1.0, 2.0):
            data.put_spike(table, "c1", sid, spike(offset))
        data.put_spike(table, "c1", keep, spike(3.0))
        data.link_asset(table, "c1", sid, video.id)
        data.delete(table, "c1", sid)
        with pytest.raises(NotFound):
            data.get(table, "c1", sid)
        assert data.spikes(table, "c1", sid) == []
        assert table.find(keys.asset_stream_link("c1", video.id)) is None
        assert [s.offset_s for s in data.spikes(table, "c1", keep)] == [3.0]


def test_the_list_is_newest_first_with_a_cursor_bound_to_its_creator(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        made = [data.create(table, "c1", "twitch", f"chan{n}").id for n in range(5)]
        data.put_spike(table, "c1", made[0], spike(1.0))  # spikes never show up as streams
        first, cursor = data.page(table, "c1", limit=3)
        assert [s.id for s in first] == made[::-1][:3]
        assert cursor
        rest, last = data.page(table, "c1", cursor=cursor, limit=3)
        assert [s.id for s in rest] == made[::-1][3:] and last is None
        from truss.data.table import BadCursor

        with pytest.raises(BadCursor):
            data.page(table, "c2", cursor=cursor)


def test_an_import_writes_its_spikes_and_counters_once_parsed(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "import", "chat.json").id
        assert data.get(table, "c1", sid).status == data.IMPORTING
        done = data.finish_import(table, "c1", sid, [spike(5.0)], 1000, 50, "chat-downloader")
        assert (done.status, done.messages, done.chatters) == (data.IMPORTED, 1000, 50)
        assert [s.offset_s for s in data.spikes(table, "c1", sid)] == [5.0]


def test_the_table_sink_is_the_listeners_stream_sink(app: Flask) -> None:
    from truss.streams.listener import StreamSink

    with app.app_context():
        table = get_table()
        sink: StreamSink = data.TableSink(table)
        sid = data.create(table, "c1", "youtube", "dQw4w9WgXcQ").id
        sink.set_status("c1", sid, data.LIVE, data.WAITING)
        sink.add_counts("c1", sid, 10, 4)
        sink.record_gap("c1", sid, 60.0, 75.0)
        sink.put_spike("c1", sid, spike(90.0))
        sink.set_quota_message("c1", sid, "YouTube's daily quota is used up.")
        sink.set_status("c1", sid, data.ENDED, data.LIVE)
        stream = data.get(table, "c1", sid)
        assert (stream.status, stream.messages, stream.chatters) == (data.ENDED, 10, 4)
        assert stream.gaps == (data.Gap(60.0, 75.0),) and stream.quota_message
        assert [s.offset_s for s in data.spikes(table, "c1", sid)] == [90.0]


def test_a_gap_lands_while_other_writes_keep_changing_the_stream(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another listener's write between every read and write used to lose the gap after 3
    tries; now a gap is one UpdateItem with no read first."""
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "streamer").id
        real_get = Table.get

        def busy_get(self: Table, key: keys.Key, *args: Any, **kw: Any) -> Any:
            item = real_get(self, key, *args, **kw)
            data.set_quota_message(table, "c1", sid, "another write")
            table.update(keys.stream("c1", sid), {}, add={"version": 1})
            return item

        monkeypatch.setattr(Table, "get", busy_get)
        before = dict(table.calls)
        data.record_gap(table, "c1", sid, 10.0, 15.0)
        assert table.calls["update"] - before.get("update", 0) == 1
        assert table.calls["get"] == before.get("get", 0)  # no read
        monkeypatch.setattr(Table, "get", real_get)
        stream = data.get(table, "c1", sid)
        assert stream.gaps == (data.Gap(10.0, 15.0),) and stream.gaps_total == 1


def test_the_stored_gap_list_is_cut_back_to_the_newest(app: Flask) -> None:
    with app.app_context():
        table = get_table()
        sid = data.create(table, "c1", "twitch", "streamer").id
        for n in range(3 * data.MAX_GAPS):
            data.record_gap(table, "c1", sid, float(n), n + 0.5)
        stored = table.get(keys.stream("c1", sid))["gaps"]
        assert data.MAX_GAPS <= len(stored) < 2 * data.MAX_GAPS
        stream = data.get(table, "c1", sid)
        assert stream.gaps_total == 3 * data.MAX_GAPS and len(stream.gaps) == data.MAX_GAPS
        assert stream.gaps[-1] == data.Gap(3.0 * data.MAX_GAPS - 1, 3 * data.MAX_GAPS - 0.5)
