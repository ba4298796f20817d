"""Tenant isolation: every stream route walked as another creator answers 404, changes nothing."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.support.assets import make_asset
from truss.data import assets, keys
from truss.data import streams as data
from truss.extensions import get_storage, get_table
from truss.polling import poll_token
from truss.streams import live_store
from truss.streams.model import Spike


def stream_routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, rule) of the streams blueprint that takes a stream id."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("streams.") and "sid" in rule.arguments:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule))
    return found


def snapshot(app: Flask, cid: str) -> list[dict]:
    """Every stream, spike and link item in the owner's partition, as stored."""
    with app.app_context():
        table = get_table()
        pk = keys.creator_pk(cid)
        prefixes = (keys.stream_prefix(), "LIVE_CHAT_SPIKE#", keys.asset_prefix())
        return sorted(
            (item for prefix in prefixes for item in table.query_all(pk, prefix)),
            key=lambda item: item["SK"],
        )


def test_every_stream_route_hides_another_creators_stream(
    app: Flask, client: FlaskClient, auth, redis
) -> None:
    owner = auth.login("b@example.com")
    video = make_asset(app, owner.id, title="B's VOD", status=assets.READY)
    mine = make_asset(app, "someone-else", status=assets.READY)
    with app.app_context():
        table = get_table()
        stream = data.create(table, owner.id, "twitch", "bchannel", "B's stream")
        data.set_status(table, owner.id, stream.id, data.LIVE, data.WAITING)
        data.put_spike(table, owner.id, stream.id, Spike(30.0, 25.0, 33.0, 9.0, 70))
        data.link_asset(table, owner.id, stream.id, video.id)
        archive = stream.archive_prefix + "chat/1.jsonl.gz"
        get_storage().put_bytes(archive, b"chat", "application/gzip")
        importing = data.create(table, owner.id, "import", "chat.json")
        get_storage().put_bytes(keys.stream_import_object(owner.id, importing.id), b"[]", "x")
    live_store.add_live(redis, owner.id, stream.id, "twitch", "bchannel")
    before = snapshot(app, owner.id)

    intruder = auth.login("a@example.com")
    page = client.get("/streams/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    headers = {"X-CSRFToken": token.group(1)}
    with app.test_request_context():
        forged = poll_token(intruder.id, "stream", stream.id)  # the intruder's own signature

    routes = stream_routes(app)
    expected = {
        "/streams/<sid>",
        "/streams/<sid>/live",
        "/streams/<sid>/status",
        "/streams/<sid>/archive",
        "/streams/<sid>/start",
        "/streams/<sid>/end",
        "/streams/<sid>/mark",
        "/streams/<sid>/lag",
        "/streams/<sid>/link",
        "/streams/<sid>/unlink",
        "/streams/<sid>/delete",
        "/streams/<sid>/imported",
    }
    assert expected <= {rule for _, rule in routes}
    form = {"lag": "1", "asset": mine.id}
    for sid in (stream.id, importing.id):
        for method, rule in routes:
            url = rule.replace("<sid>", sid)
            query = {"t": forged} if rule.endswith("/live") else None
            response = client.open(
                url, method=method, headers=headers, data=form, query_string=query
            )
            assert response.status_code == 404, f"{method} {rule} → {response.status_code}"
        listing = client.get("/streams").get_data(as_text=True)
        assert "B&#39;s stream" not in listing and sid not in listing

    assert snapshot(app, owner.id) == before
    assert [ref.sid for ref in live_store.live_streams(redis)] == [stream.id]
    with app.app_context():
        assert get_storage().head(archive) is not None
        assert get_storage().head(keys.stream_import_object(owner.id, importing.id)) is not None


def test_a_stream_cannot_link_another_creators_video(app: Flask, client: FlaskClient, auth) -> None:
    other = auth.login("b@example.com")
    theirs = make_asset(app, other.id, title="B's VOD", status=assets.READY)
    creator = auth.login("a@example.com")
    with app.app_context():
        sid = data.create(get_table(), creator.id, "twitch", "achannel").id
    page = client.get(f"/streams/{sid}").get_data(as_text=True)
    assert "B&#39;s VOD" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        f"/streams/{sid}/link", data={"csrf_token": token.group(1), "asset": theirs.id}
    )
    assert response.status_code == 404
    with app.app_context():
        assert data.get(get_table(), creator.id, sid).asset_id == ""
        assert get_table().find(keys.asset_stream_link(other.id, theirs.id)) is None
