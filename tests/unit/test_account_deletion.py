"""Deleting an account from its page: the email typed again, a job that stops what could
write, removes every item, file and pointer of the creator, and ends its sessions; another
creator's things untouched; the email signs up again as a new, empty account."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import AuthActions, SignInHelper
from tests.support.clips import clip_id
from tests.support.deletion import Account, bucket_traces, populate, table_traces
from truss.data import deletions, keys
from truss.data.creators import find_creator_by_email, get_creator
from truss.deletion import service
from truss.extensions import get_redis, get_table
from truss.streams import live_store

ALICE, BOB = "alice@example.com", "bob@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def text(answer: Any) -> str:
    return html.unescape(answer.get_data(as_text=True))


def csrf(client: FlaskClient, path: str = "/account/delete") -> str:
    found = CSRF.search(text(client.get(path)))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def ask_to_delete(client: FlaskClient, typed: str) -> Any:
    return client.post("/account/delete", data={"csrf_token": csrf(client), "email": typed})


@pytest.fixture
def alice(app: Flask) -> Account:
    return populate(app, ALICE, clip_id(1))


@pytest.fixture
def bob(app: Flask) -> Account:
    return populate(app, BOB, clip_id(2))


def test_the_page_says_what_goes_and_asks_for_the_email(
    client: FlaskClient, auth: AuthActions, alice: Account
) -> None:
    auth.login(ALICE)
    page = text(client.get("/account/delete"))
    assert "This can't be undone." in page
    assert "share link" in page and "connected platforms" in page
    assert '<label for="confirm-email">' in page
    assert "Delete my account and everything in it</button>" in page
    dashboard = text(client.get("/dashboard"))
    assert 'href="/account/delete"' in dashboard


def test_deleting_leaves_nothing_of_the_creator_and_nothing_of_others_goes(
    app: Flask, client: FlaskClient, auth: AuthActions, alice: Account, bob: Account
) -> None:
    bobs_items = len(table_traces(app, bob.cid, bob.email))
    bobs_files = bucket_traces(app, bob.cid)
    assert table_traces(app, alice.cid, alice.email) and bucket_traces(app, alice.cid)
    auth.login(ALICE)

    answer = ask_to_delete(client, "  Alice@Example.com ")  # case and spaces don't matter
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/account/deleted")

    # the job ran (RQ_ASYNC off runs it in process): nothing of Alice in the table or bucket
    assert table_traces(app, alice.cid, alice.email) == []
    assert bucket_traces(app, alice.cid) == []
    with app.app_context():
        assert not live_store.is_live(get_redis(), alice.cid, alice.sid)
    # Bob's things are all there, his share link still plays, Alice's is dead
    assert len(table_traces(app, bob.cid, bob.email)) == bobs_items
    assert bucket_traces(app, bob.cid) == bobs_files
    assert client.get(f"/s/{bob.share}").status_code == 200
    assert client.get(f"/s/{alice.share}").status_code in (404, 410)

    progress = text(client.get("/account/deleted"))
    assert "Done: your account and everything in it are deleted." in progress
    assert progress.count("Done: ") == 1 + len(service.STEPS)
    status = client.get("/account/deleted/status", headers={"HX-Request": "true"})
    assert status.status_code == 286  # polling stops


def test_the_session_ends_and_the_email_signs_up_afresh(
    app: Flask, client: FlaskClient, auth: AuthActions, alice: Account
) -> None:
    auth.login(ALICE)
    other_browser = app.test_client()
    auth.login(ALICE, client=other_browser)
    assert other_browser.get("/dashboard").status_code == 200

    ask_to_delete(client, ALICE)

    for browser in (client, other_browser):
        answer = browser.get("/dashboard")
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    fresh = auth.login(ALICE)
    assert fresh.id != alice.cid
    library = client.get("/assets")
    assert library.status_code == 200
    assert "No videos yet." in text(library) and f"Talk of {ALICE}" not in text(library)
    with app.app_context():
        assert deletions.asset_ids(get_table(), fresh.id) == []
        assert not fresh.deleting


def test_a_wrong_email_is_refused_and_nothing_is_deleted(
    app: Flask, client: FlaskClient, auth: AuthActions, alice: Account
) -> None:
    before = table_traces(app, alice.cid, alice.email)
    auth.login(ALICE)
    answer = ask_to_delete(client, BOB)
    assert answer.status_code == 400
    assert "That isn't the email of this account, so nothing was deleted." in text(answer)
    assert 'aria-invalid="true"' in text(answer)
    assert table_traces(app, alice.cid, alice.email) == before
    assert client.get("/dashboard").status_code == 200  # still signed in


def test_another_creator_can_neither_start_nor_see_a_deletion(
    app: Flask, client: FlaskClient, auth: AuthActions, alice: Account, bob: Account
) -> None:
    with app.app_context():  # Alice's deletion has started (its job not run yet)
        ticket = service.begin(get_table(), get_creator(get_table(), alice.cid))
    auth.login(BOB)
    assert client.get("/account/deleted").status_code == 404
    assert client.get("/account/deleted/status").status_code == 404
    with client.session_transaction() as sess:
        assert ticket not in str(dict(sess))

    answer = ask_to_delete(client, ALICE)  # Bob types Alice's email on his own page
    assert answer.status_code == 400
    with app.app_context():
        assert get_creator(get_table(), bob.cid).deleting == ""
        assert deletions.get(get_table(), ticket).steps_done == ()
    assert table_traces(app, alice.cid, alice.email)  # untouched


def test_sign_in_is_refused_while_the_deletion_runs(
    app: Flask, client: FlaskClient, signin: SignInHelper, alice: Account
) -> None:
    with app.app_context():
        service.begin(get_table(), get_creator(get_table(), alice.cid))
    answer = signin.sign_in_by_email(client, ALICE)
    assert answer.status_code == 303 and "/login" in answer.headers["Location"]
    assert "This account is being deleted" in text(client.get("/login"))
    assert client.get("/dashboard").status_code == 302


def test_a_deletion_asked_twice_keeps_one_ticket(app: Flask, alice: Account) -> None:
    with app.app_context():
        table = get_table()
        first = service.begin(table, get_creator(table, alice.cid))
        again = service.begin(table, get_creator(table, alice.cid))
        assert again == first


def test_the_deleted_creators_email_finds_no_account(
    app: Flask, client: FlaskClient, auth: AuthActions, alice: Account
) -> None:
    auth.login(ALICE)
    ask_to_delete(client, ALICE)
    with app.app_context():
        assert find_creator_by_email(get_table(), ALICE) is None
        assert get_table().find(keys.creator_profile(alice.cid)) is None


def test_the_progress_page_says_when_an_attempt_stopped(
    app: Flask, client: FlaskClient, alice: Account
) -> None:
    with app.app_context():
        ticket = service.begin(get_table(), get_creator(get_table(), alice.cid))
        deletions.step_done(get_table(), ticket, "stop")
        deletions.note_problem(get_table(), ticket, "ConnectionError: s3.internal:9000 refused")
    with client.session_transaction() as sess:
        sess["deletion_ticket"] = ticket  # what the confirmation leaves in this browser

    shown = text(client.get("/account/deleted/status", headers={"HX-Request": "true"}))

    assert "1 of 7 steps done" in shown
    assert "The last attempt stopped on an error. Truss tries again" in shown
    assert "s3.internal" not in shown  # the details are for the operator, not the page
