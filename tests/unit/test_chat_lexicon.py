"""A creator's chat lexicon: edited on /streams/lexicon, used by the chat import and the live
listener to weigh chat, each creator's own."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.listener_fakes import STARTED, Clock, MemoryArchive, MemorySink, scripted
from tests.support.streams import csrf, start_import, stored
from truss.data import lexicon
from truss.data import streams as data
from truss.extensions import get_storage, get_table
from truss.streams import jobs, live_store
from truss.streams.listener import Listener, ListenerSettings
from truss.streams.model import ChatMessage
from truss.streams.spikes import DEFAULT_LEXICON

BURST = "Sadge Sadge"  # not in the default lexicon


def calm_chat_with_a_burst_of(text: str) -> bytes:
    """Two chatters a second all along; at 200 s, for 6 s, the same number say `text`: only
    the words differ, so only the lexicon can make it a spike."""
    messages = []
    for second in range(300):
        for n in range(2):
            offset = second + n / 2
            messages.append(
                {
                    "message_id": f"m{second}-{n}",
                    "message": text if 200 <= second < 206 else f"hello {second} {n}",
                    "time_in_seconds": offset,
                    "timestamp": 1_700_000_000_000_000 + int(offset * 1e6),
                    "author": {"id": f"u{(second * 2 + n) % 300}", "name": f"user{n}"},
                }
            )
    return json.dumps(messages).encode()


def save_form(client: FlaskClient, text: str) -> tuple[int, str]:
    response = client.post(
        "/streams/lexicon",
        data={"csrf_token": csrf(client, "/streams/lexicon"), "terms": text},
        follow_redirects=True,
    )
    return response.status_code, response.get_data(as_text=True)


def textarea(page: str) -> str:
    found = re.search(r'<textarea id="lexicon-terms"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no lexicon textarea"
    return found.group(1)


def import_file(app: Flask, client: FlaskClient, body: bytes) -> str:
    sid, answer = start_import(client, body)
    with app.app_context():
        get_storage().put_bytes(answer["post"]["fields"]["key"], body, "application/json")
    client.post(answer["confirm"], headers={"X-CSRFToken": csrf(client)})
    return sid


def spikes_of(app: Flask, cid: str, sid: str) -> list:
    assert stored(app, cid, sid).status == data.IMPORTED
    with app.app_context():
        return data.spikes(get_table(), cid, sid)


def test_the_page_shows_the_default_lexicon_with_labelled_inputs(client: FlaskClient, auth) -> None:
    auth.login()
    assert "/streams/lexicon" in client.get("/streams").get_data(as_text=True)
    page = client.get("/streams/lexicon").get_data(as_text=True)
    assert "KEKW = 1\n" in textarea(page) and "clip it = 1.5" in textarea(page)
    assert '<label for="lexicon-terms">' in page and "default list" in page
    assert "Save the lexicon" in page and "Reset to the default lexicon" in page
    for action in ("/streams/lexicon", "/streams/lexicon/reset"):
        form = re.search(rf'<form method="post" action="{action}">(.*?)</form>', page, re.S)
        assert form and 'name="csrf_token"' in form.group(1)


def test_a_term_added_to_the_lexicon_makes_its_burst_a_spike_in_an_import(
    app: Flask, client: FlaskClient, auth
) -> None:
    creator = auth.login()
    body = calm_chat_with_a_burst_of(BURST)
    before = import_file(app, client, body)
    assert spikes_of(app, creator.id, before) == []

    status, page = save_form(client, "KEKW = 1\nSadge = 2\nclip   it = 1.5\n")
    assert status == 200 and "Your chat lexicon is saved (3 terms)" in page
    assert textarea(page) == "KEKW = 1\nSadge = 2\nclip it = 1.5"
    assert "your own list" in page

    after = import_file(app, client, body)
    (spike,) = spikes_of(app, creator.id, after)
    assert 198 <= spike.offset_s <= 206 and spike.top_emotes[0][0] == "Sadge"


def test_another_creator_keeps_their_own_lexicon(app: Flask, client: FlaskClient, auth) -> None:
    auth.login("a@example.com")
    assert save_form(client, "Sadge = 5")[0] == 200
    other = app.test_client()
    someone = auth.login("b@example.com", client=other)
    assert textarea(other.get("/streams/lexicon").get_data(as_text=True)).startswith("KEKW = 1")
    sid = import_file(app, other, calm_chat_with_a_burst_of(BURST))
    assert spikes_of(app, someone.id, sid) == []  # a's Sadge weighs nothing for b
    assert textarea(client.get("/streams/lexicon").get_data(as_text=True)) == "Sadge = 5"


def test_reset_goes_back_to_the_default_lexicon(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    save_form(client, "Sadge = 5")
    response = client.post(
        "/streams/lexicon/reset",
        data={"csrf_token": csrf(client, "/streams/lexicon")},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "back to the default" in page and "default list" in page
    with app.app_context():
        assert lexicon.get(get_table(), creator.id) == dict(DEFAULT_LEXICON)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("KEKW = lots", "Line 1 (KEKW = lots): the weight must be a number from 0 to 5"),
        ("KEKW = 1\nPog = 6", "Line 2 (Pog = 6): the weight must be from 0 to 5"),
        ("KEKW = -1", "the weight must be from 0 to 5"),
        ("KEKW = nan", "the weight must be from 0 to 5"),
        ("= 1", "write the term, then = and its weight"),
        ("x" * 41 + " = 1", "a term can be 40 characters at most"),
        ("\n".join(f"t{n} = 1" for n in range(201)), "The list has 201 terms; keep it to 200"),
    ],
)
def test_a_lexicon_with_a_mistake_is_not_saved_and_says_what_to_fix(
    app: Flask, client: FlaskClient, auth, text: str, problem: str
) -> None:
    creator = auth.login()
    response = client.post(
        "/streams/lexicon",
        data={"csrf_token": csrf(client, "/streams/lexicon"), "terms": text},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "wasn't saved" in page and problem in page.replace("&#39;", "'")
    assert 'aria-invalid="true"' in page
    assert textarea(page).replace("&#39;", "'") == text  # what they typed, to fix
    with app.app_context():
        assert lexicon.get(get_table(), creator.id) == dict(DEFAULT_LEXICON)


def test_saving_without_the_csrf_token_is_refused(app: Flask, client: FlaskClient, auth) -> None:
    creator = auth.login()
    response = client.post("/streams/lexicon", data={"terms": "Sadge = 5"})
    assert response.status_code == 400
    with app.app_context():
        assert lexicon.get(get_table(), creator.id) == dict(DEFAULT_LEXICON)


def test_a_weight_changed_changes_what_the_import_job_finds(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(calm_chat_with_a_burst_of(BURST))
    assert jobs.detect(str(path), terms=lexicon.parse("Sadge = 0.5"))[1] == []
    (spike,) = jobs.detect(str(path), terms=lexicon.parse("Sadge = 2"))[1]
    assert spike.top_emotes == (("Sadge", 12),)


def live_trace() -> list[ChatMessage]:
    rng = random.Random(5)
    log = []
    for second in range(300):
        for n in range(2):
            text = BURST if 150 <= second < 156 else f"hi {rng.randint(0, 10**6)}"
            author = f"v{rng.randint(0, 400)}"
            log.append(ChatMessage(f"{second}-{n}", second + n / 2, author, author, text))
    return log


def live_spikes(lexicons: dict[str, dict[str, float]]) -> dict[str, list]:
    """Two creators live at once, the same chat; each one's spikes."""
    redis = fakeredis.FakeRedis()
    clock = Clock(STARTED)
    asked: list[str] = []

    def load(cid: str) -> dict[str, float]:
        asked.append(cid)
        return lexicons.get(cid, dict(DEFAULT_LEXICON))

    for cid in ("c1", "c2"):
        live_store.add_live(redis, cid, "s1", "twitch", "streamer", started_at=STARTED)
    listener = Listener(
        redis,
        MemorySink(),
        MemoryArchive(),  # type: ignore[arg-type]
        ListenerSettings(flush_s=10),
        source_factory=scripted([]),
        clock=clock,
        lexicons=load,
    )
    listener.tick()
    log = live_trace()
    for second in range(300):
        clock.now = STARTED + second + 1
        for cid in ("c1", "c2"):
            batch = [m for m in log if second <= m.offset_s < second + 1]
            listener.captures[f"{cid}:s1"].accept(batch)
        listener.tick()
    clock.now = STARTED + 320
    listener.tick()
    listener.shutdown()
    assert sorted(asked) == ["c1", "c2"]  # read once per stream taken, not per tick
    sink = listener.sink
    assert isinstance(sink, MemorySink)
    return {cid: sink.spikes.get(f"{cid}:s1", []) for cid in ("c1", "c2")}


def test_the_live_listener_weighs_each_creators_chat_by_their_lexicon() -> None:
    found = live_spikes({"c1": {"Sadge": 2.0}})
    (spike,) = found["c1"]
    assert 148 <= spike.offset_s <= 157 and spike.top_emotes[0][0] == "Sadge"
    assert found["c2"] == []


def test_a_lexicon_that_cant_be_read_leaves_the_listener_on_the_default() -> None:
    redis = fakeredis.FakeRedis()
    live_store.add_live(redis, "c1", "s1", "twitch", "streamer", started_at=STARTED)

    def broken(cid: str) -> dict[str, float]:
        raise RuntimeError("table down")

    listener = Listener(
        redis,
        MemorySink(),
        MemoryArchive(),  # type: ignore[arg-type]
        source_factory=scripted([]),
        clock=Clock(STARTED),
        lexicons=broken,
    )
    listener.tick()
    assert listener.captures["c1:s1"].terms == DEFAULT_LEXICON
    listener.shutdown()
