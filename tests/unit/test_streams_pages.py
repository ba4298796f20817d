"""The streams pages as a creator uses them: add, start, watch live, mark, end, link, import."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import make_asset
from tests.support.streams import csrf, start_import, stored
from truss.data import assets, keys
from truss.data import streams as data
from truss.data.table import Table
from truss.extensions import get_storage, get_table
from truss.streams import live_store
from truss.streams.model import SecondBin, Spike


def add_twitch(client: FlaskClient, channel: str = "SomeChannel", title: str = "Friday") -> str:
    token = csrf(client)
    form = {"csrf_token": token, "source": "twitch", "channel": channel, "title": title}
    response = client.post("/streams", data=form)
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[-1]


def post(client: FlaskClient, path: str, **form: str) -> str:
    sid_page = path.rsplit("/", 1)[0]
    response = client.post(
        path, data={"csrf_token": csrf(client, sid_page), **form}, follow_redirects=True
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_creator_adds_a_twitch_stream_and_finds_it_in_the_list(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    empty = client.get("/streams").get_data(as_text=True)
    assert "No streams yet" in empty and 'href="/streams"' in empty  # the nav entry
    sid = add_twitch(client, "https://www.twitch.tv/SomeChannel")
    stream = stored(app, creator.id, sid)
    assert (stream.source, stream.channel, stream.status) == ("twitch", "somechannel", "waiting")
    listing = client.get("/streams").get_data(as_text=True)
    assert "Friday" in listing and "waiting to start" in listing
    page = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "Start listening to the chat" in page


def test_a_youtube_link_becomes_its_video_id(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    form = {
        "csrf_token": csrf(client),
        "source": "youtube",
        "channel": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=3",
    }
    sid = client.post("/streams", data=form).headers["Location"].rsplit("/", 1)[-1]
    assert stored(app, creator.id, sid).channel == "dQw4w9WgXcQ"


def test_a_bad_channel_name_says_what_to_type_and_adds_nothing(
    app: Flask, client: FlaskClient, auth
) -> None:
    auth.login()
    form = {"csrf_token": csrf(client), "source": "twitch", "channel": "no spaces!"}
    page = client.post("/streams", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Type the Twitch channel" in page
    assert "No streams yet" in client.get("/streams").get_data(as_text=True)


def test_start_puts_the_stream_in_the_live_set_and_end_takes_it_out(
    app: Flask, client: FlaskClient, auth, redis
) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    page = post(client, f"/streams/{sid}/start")
    assert "Mark this moment" in page and "End the stream" in page
    (ref,) = live_store.live_streams(redis)
    assert (ref.cid, ref.sid, ref.channel) == (creator.id, sid, "somechannel")
    assert stored(app, creator.id, sid).status == data.LIVE
    post(client, f"/streams/{sid}/end")
    assert live_store.live_streams(redis) == []
    assert stored(app, creator.id, sid).status == data.ENDED


def live_url(page: str) -> str:
    found = re.search(r'hx-get="(/streams/[^"]+/live\?t=[^"]+)"', page)
    assert found, "the live page does not poll"
    return found.group(1).replace("&amp;", "&")


def test_the_live_fragment_draws_the_chart_from_redis_only(
    app: Flask, client: FlaskClient, auth, redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    page = post(client, f"/streams/{sid}/start")
    url = live_url(page)
    (ref,) = live_store.live_streams(redis)
    calm = [SecondBin(s, 2, 2, 0.0) for s in range(0, 200)]
    burst = [SecondBin(s, 40, 35, 30.0) for s in range(200, 206)]
    live_store.write_bins(redis, ref, calm + burst + [SecondBin(206, 2, 2, 0.0)])
    found = Spike(201.0, 199.0, 207.0, 12.5, 97, top_emotes=(("KEKW", 41),))
    live_store.add_live_spike(redis, ref, found)  # what the listener found in the burst

    def no_dynamodb(*args: object, **kwargs: object) -> None:
        raise AssertionError("the live poll read DynamoDB")

    for name in ("get", "page", "query_all", "get_many", "_query"):
        monkeypatch.setattr(Table, name, no_dynamodb)
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert "<polyline" in html and "<script" not in html
    assert 'hx-trigger="every 2s"' in html
    assert "messages a minute" in html
    assert "3:21 · 12.5\N{MULTIPLICATION SIGN} normal · KEKW \N{MULTIPLICATION SIGN}41" in html
    assert 'class="spike-mark"' in html  # and marked on the chart
    monkeypatch.undo()
    assert stored(app, creator.id, sid).status == data.LIVE


def test_the_live_fragment_shows_the_listeners_spikes_only(
    app: Flask, client: FlaskClient, auth, redis
) -> None:
    """One source of truth: the spikes the listener found (and stores), not a second detector
    run over the chart's seconds, so the live list and the stream's stored spikes agree."""
    auth.login()
    sid = add_twitch(client)
    url = live_url(post(client, f"/streams/{sid}/start"))
    (ref,) = live_store.live_streams(redis)
    calm = [SecondBin(s, 2, 2, 0.0) for s in range(0, 200)]
    burst = [SecondBin(s, 40, 35, 30.0) for s in range(200, 206)]
    live_store.write_bins(redis, ref, calm + burst + [SecondBin(206, 2, 2, 0.0)])
    html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<polyline" in html and "None yet." in html and "spike-mark" not in html
    live_store.add_live_spike(redis, ref, Spike(202.0, 200.0, 207.0, 9.0, 88))
    html = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "3:22 · 9.0\N{MULTIPLICATION SIGN} normal" in html and "None yet." not in html


def test_is_live_follows_start_and_end(app: Flask, client: FlaskClient, auth, redis) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    assert not live_store.is_live(redis, creator.id, sid)
    post(client, f"/streams/{sid}/start")
    assert live_store.is_live(redis, creator.id, sid)
    post(client, f"/streams/{sid}/end")
    assert not live_store.is_live(redis, creator.id, sid)


def test_the_live_poll_stops_once_the_stream_ended(app: Flask, client: FlaskClient, auth) -> None:
    auth.login()
    sid = add_twitch(client)
    url = live_url(post(client, f"/streams/{sid}/start"))
    post(client, f"/streams/{sid}/end")
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 286
    assert "not live any more" in response.get_data(as_text=True)


def test_mark_this_moment_stores_a_marker_shown_with_the_spikes(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    refused = post(client, f"/streams/{sid}/mark")
    assert "Start it first" in refused
    post(client, f"/streams/{sid}/start")
    page = post(client, f"/streams/{sid}/mark")
    assert "Marked the moment" in page and "marked by you" in page
    with app.app_context():
        (marker,) = data.spikes(get_table(), creator.id, sid)
    assert marker.marker


def test_spike_evidence_is_escaped(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    evil = Spike(50.0, 45.0, 55.0, 14.2, 88, (("<b>KEKW</b>", 83),), ("<script>alert(1)</script>",))
    with app.app_context():
        data.put_spike(get_table(), creator.id, sid, evil)
    page = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<b>KEKW</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "14.2\N{MULTIPLICATION SIGN} normal" in page and "0:50" in page


def test_the_reaction_lag_can_be_overridden_and_reset(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    page = post(client, f"/streams/{sid}/lag", lag="9.5")
    assert "9.5 s" in page and "set by you" in page
    assert stored(app, creator.id, sid).lag_s == 9.5
    refused = post(client, f"/streams/{sid}/lag", lag="-3")
    assert "from 0 to 120" in refused and stored(app, creator.id, sid).lag_s == 9.5
    post(client, f"/streams/{sid}/lag", lag="")
    assert stored(app, creator.id, sid).lag_s == data.DEFAULT_LAG_S


def test_linking_a_video_and_deleting_that_video(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    video = make_asset(app, creator.id, title="The VOD", status=assets.READY)
    sid = add_twitch(client)
    page = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert f'<option value="{video.id}">The VOD</option>' in page
    linked = post(client, f"/streams/{sid}/link", asset=video.id)
    assert "Linked to" in linked and "The VOD" in linked
    with app.app_context():
        assert data.stream_for_asset(get_table(), creator.id, video.id) is not None
        assets.delete(get_table(), creator.id, video.id)
    after = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "was deleted" in after


def test_deleting_a_stream_removes_its_spikes_and_chat_archive(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    with app.app_context():
        data.put_spike(get_table(), creator.id, sid, Spike(5.0, 1.0, 8.0, 5.0, 50))
        prefix = keys.stream_archive_prefix(creator.id, sid)
        get_storage().put_bytes(prefix + "chat/1.jsonl.gz", b"x", "application/gzip")
    page = post(client, f"/streams/{sid}/delete")
    assert "Deleted the stream" in page
    assert client.get(f"/streams/{sid}").status_code == 404
    with app.app_context():
        assert data.spikes(get_table(), creator.id, sid) == []
        assert get_storage().head(prefix + "chat/1.jsonl.gz") is None


def test_the_list_pages_with_load_more(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    with app.app_context():
        for n in range(30):
            data.create(get_table(), creator.id, "twitch", f"chan{n}", f"Stream {n:02d}")
    first = client.get("/streams").get_data(as_text=True)
    assert "Stream 29" in first and "Stream 04" not in first
    found = re.search(r'hx-get="(/streams\?cursor=[^"]+)"', first)
    assert found
    more = client.get(found.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    html = more.get_data(as_text=True)
    assert "Stream 04" in html and "Stream 00" in html and "Load more" not in html


def chat_downloader_file() -> bytes:
    """A chat-downloader export: calm chat, then a burst of KEKW at 200 s."""
    messages = []
    for second in range(300):
        count = 25 if 200 <= second < 205 else 1
        for n in range(count):
            text = "KEKW KEKW" if count > 1 else f"hello {second}"
            messages.append(
                {
                    "message_id": f"m{second}-{n}",
                    "message": text,
                    "time_in_seconds": second + n / count,
                    "timestamp": 1_700_000_000_000_000 + int((second + n / count) * 1e6),
                    "author": {"id": f"u{(second * 7 + n) % 400}", "name": f"user{n}"},
                }
            )
    return json.dumps(messages).encode()


def test_an_imported_chat_file_becomes_a_stream_with_spikes(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    body = chat_downloader_file()
    sid, answer = start_import(client, body)
    assert answer["post"]["fields"]["key"] == keys.stream_import_object(creator.id, sid)
    assert stored(app, creator.id, sid).status == data.IMPORTING
    with app.app_context():
        get_storage().put_bytes(answer["post"]["fields"]["key"], body, "application/json")
    waiting = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "Reading the chat file" in waiting and f"/streams/{sid}/status" in waiting
    assert client.get(f"/streams/{sid}/status", headers={"HX-Request": "true"}).status_code == 200
    confirmed = client.post(answer["confirm"], headers={"X-CSRFToken": csrf(client)})
    assert confirmed.status_code == 200
    stream = stored(app, creator.id, sid)
    assert stream.status == data.IMPORTED and stream.messages == 295 + 125
    done = client.get(f"/streams/{sid}/status", headers={"HX-Request": "true"})
    assert done.status_code == 286 and done.headers["HX-Refresh"] == "true"
    page = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "KEKW \N{MULTIPLICATION SIGN}" in page and "3:2" in page  # the spike around 3:20


def test_a_broken_chat_file_fails_with_a_reason_and_writes_no_spike(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    body = chat_downloader_file()[:-5000]  # truncated JSON
    sid, answer = start_import(client, body)
    with app.app_context():
        get_storage().put_bytes(answer["post"]["fields"]["key"], body, "application/json")
    client.post(answer["confirm"], headers={"X-CSRFToken": csrf(client)})
    stream = stored(app, creator.id, sid)
    assert stream.status == data.FAILED and "Nothing was saved" in stream.error
    with app.app_context():
        assert data.spikes(get_table(), creator.id, sid) == []
    assert "can&#39;t be imported" in client.get(f"/streams/{sid}").get_data(as_text=True)


def test_an_import_whose_file_never_arrived_says_so(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    sid, answer = start_import(client, b"{}" * 10)
    response = client.post(answer["confirm"], headers={"X-CSRFToken": csrf(client)})
    assert response.status_code == 400 and "didn't arrive" in response.get_json()["error"]
    assert stored(app, creator.id, sid).status == data.FAILED


def test_an_oversized_chat_file_is_refused_before_upload(client: FlaskClient, auth) -> None:
    auth.login()
    response = client.post(
        "/streams/import",
        json={"file_name": "huge.json", "size": 10 * 1024**3},
        headers={"X-CSRFToken": csrf(client)},
    )
    assert response.status_code == 400 and "MB" in response.get_json()["error"]
    assert "No streams yet" in client.get("/streams").get_data(as_text=True)


def test_the_chat_archive_can_be_downloaded(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    sid = add_twitch(client)
    assert "No chat has been saved" in client.get(f"/streams/{sid}/archive").get_data(as_text=True)
    with app.app_context():
        prefix = keys.stream_archive_prefix(creator.id, sid)
        for seq in (1, 2):
            get_storage().put_bytes(f"{prefix}chat/{seq}.jsonl.gz", b"x" * seq, "application/gzip")
    page = client.get(f"/streams/{sid}/archive").get_data(as_text=True)
    assert f"Download {sid}-chat-1.jsonl.gz" in page and f"{sid}-chat-2.jsonl.gz" in page
    assert "X-Amz-Signature" in page or "Signature=" in page


def test_an_import_that_keeps_crashing_says_so(app: Flask, client: FlaskClient, auth) -> None:
    from types import SimpleNamespace

    from truss.streams.jobs import CRASHED, import_crashed

    creator = auth.login()
    sid, _ = start_import(client, b"[]")
    boom = RuntimeError("worker died")
    with app.app_context():
        job = SimpleNamespace(retries_left=1, args=[creator.id, sid, "key"])
        import_crashed(job, None, RuntimeError, boom, None)  # type: ignore[arg-type]
        assert data.get(get_table(), creator.id, sid).status == data.IMPORTING  # retried
        job.retries_left = 0
        import_crashed(job, None, RuntimeError, boom, None)  # type: ignore[arg-type]
    stream = stored(app, creator.id, sid)
    assert stream.status == data.FAILED and stream.error == CRASHED
    assert "stopped unexpectedly" in client.get(f"/streams/{sid}").get_data(as_text=True)


def test_an_import_request_of_the_wrong_shape_is_refused_not_a_crash(
    client: FlaskClient, auth
) -> None:
    auth.login()
    good = {"file_name": "chat.json", "size": 100, "content_type": "application/json"}
    for body in ([good], "chat.json", 7, {**good, "title": ["a"]}, {**good, "title": {"x": 1}}):
        response = client.post("/streams/import", json=body, headers={"X-CSRFToken": csrf(client)})
        assert response.status_code == 400, body
        assert response.get_json()["error"]
    assert "No streams yet" in client.get("/streams").get_data(as_text=True)
