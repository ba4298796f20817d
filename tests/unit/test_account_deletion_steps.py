"""The deletion job's steps one by one: a step that raises and the job run again finishes
(what was done is not done twice), a connected platform's grant is revoked at the (fake)
provider, a video's Gemini upload is deleted, a chat listener's lease is waited for, and the
operator's `truss delete-account`."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from rq.job import Job

from tests.support.app import AuthActions, SignInHelper, make_app
from tests.support.clips import clip_id
from tests.support.deletion import bucket_traces, populate, table_traces
from tests.support.fake_platforms import fake_platforms, press  # noqa: F401  (fixture)
from tests.support.queues import Queued
from truss.analytics import counters, platform_stats
from truss.config import TEST_ENVIRON, from_environ
from truss.data import assets, deletions, exports, keys
from truss.data.creators import find_creator_by_email
from truss.data.table import Conflict
from truss.deletion import jobs, service
from truss.extensions import get_redis, get_storage, get_table, get_token_service
from truss.local.dev import fake_platforms_env
from truss.local.fake_platforms import FakePlatforms
from truss.queue import get_queue
from truss.storage import Storage
from truss.streams import live_store
from truss.streams.jobs import import_job_id
from truss.streams.live_store import LiveRef

EMAIL = "ada@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FlakyStorage(Storage):
    """The bucket, whose delete_prefix fails the first `fails` times (S3 went away)."""

    def __init__(self, real: Storage, fails: int) -> None:
        super().__init__(real.bucket, real.client)
        self.fails = fails

    def delete_prefix(self, prefix: str) -> int:
        if self.fails:
            self.fails -= 1
            raise ConnectionError("S3 is unreachable")
        return super().delete_prefix(prefix)


def begin(app: Flask, email: str = EMAIL) -> str:
    with app.app_context():
        table = get_table()
        creator = find_creator_by_email(table, email)
        assert creator is not None
        return service.begin(table, creator)


def test_a_step_that_raises_then_the_job_again_completes(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        flaky = dataclasses.replace(
            jobs.collaborators(), storage=FlakyStorage(get_storage(), fails=1)
        )
        with pytest.raises(ConnectionError):
            service.run(flaky, ticket)
        half = deletions.get(get_table(), ticket)
        assert not half.done
        assert half.problem == "ConnectionError: S3 is unreachable"
        assert "stop" in half.steps_done and "account" not in half.steps_done
        assert find_creator_by_email(get_table(), EMAIL) is not None  # not finished: still there

        done = service.run(flaky, ticket)  # what RQ's retry does

        assert done.done and done.steps_done == service.STEP_NAMES
        assert done.problem == ""
        assert done.items_removed > 0 and done.objects_removed > 0
        item = get_table().get(keys.account_deletion(ticket))
    assert account.cid not in str(item) and EMAIL not in str(item)  # the item forgot them
    assert table_traces(app, account.cid, EMAIL) == []
    assert bucket_traces(app, account.cid) == []


def test_a_finished_deletion_run_again_does_nothing(app: Flask) -> None:
    populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        first = service.run(jobs.collaborators(), ticket)
        again = service.run(jobs.collaborators(), ticket)
    assert first == again and again.done


def test_the_videos_gemini_upload_is_deleted(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    with app.app_context():
        assets.remember_gemini_file(get_table(), account.cid, account.aid, "files/abc123", 2**40)
    ticket = begin(app)
    deleted: list[str] = []
    with app.app_context():
        deps = dataclasses.replace(jobs.collaborators(), delete_remote_file=deleted.append)
        service.run(deps, ticket)
    assert deleted == ["files/abc123"]


def test_a_chat_listener_holding_a_stream_is_waited_for(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        redis = get_redis()
        ref = LiveRef(account.cid, account.sid, "twitch", "chan", 0.0)
        assert live_store.acquire_lease(redis, ref, "listener-1", 60_000)
        waits: list[float] = []

        def listener_lets_go(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 3:  # it noticed the stream left the live set and stopped
                live_store.release_lease(redis, ref, "listener-1")

        deps = dataclasses.replace(jobs.collaborators(), sleep=listener_lets_go)
        done = service.run(deps, ticket)
    assert done.done and len(waits) == 3
    assert not live_store.is_live(redis, account.cid, account.sid)


def test_a_listener_that_never_lets_go_makes_the_job_retry_later(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        ref = LiveRef(account.cid, account.sid, "twitch", "chan", 0.0)
        live_store.acquire_lease(get_redis(), ref, "stuck-listener", 60_000)
        deps = dataclasses.replace(jobs.collaborators(), listener_wait_s=0.0, sleep=lambda s: None)
        with pytest.raises(service.StillListening):
            service.run(deps, ticket)
        assert deletions.get(get_table(), ticket).steps_done == ()  # nothing deleted yet


def test_the_operators_command_deletes_the_account(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    browser = app.test_client()
    AuthActions(app, browser).login(EMAIL)
    assert browser.get("/dashboard").status_code == 200  # the profile is cached now
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["delete-account", "--email", "nobody@example.com", "--yes"])
    assert missing.exit_code != 0 and "No account has the email" in missing.output
    result = runner.invoke(args=["delete-account", "--email", EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert f"account {EMAIL} deleted" in result.output
    assert browser.get("/dashboard").status_code == 302  # signed out at once
    assert table_traces(app, account.cid, EMAIL) == []
    assert bucket_traces(app, account.cid) == []


# --- a connected platform -------------------------------------------------------------------


@pytest.fixture
def wired_app(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> Flask:
    """The app with the fake platforms wired in, as `truss dev` does (jobs run in process)."""
    env = {**TEST_ENVIRON, **fake_platforms_env(fake_platforms.base_url, {})}
    settings = {**from_environ(env), "TOKEN_KEY_FILE": str(tmp_path / "keys"), "RQ_ASYNC": False}
    return make_app(redis, **settings)


def csrf(client: FlaskClient, path: str) -> str:
    found = CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def connect_tiktok(client: FlaskClient) -> None:
    answer = client.post(
        "/connections/tiktok/connect", data={"csrf_token": csrf(client, "/connections")}
    )
    assert answer.status_code == 303
    back = press(answer.headers["Location"])
    client.get("/" + back.split("://", 1)[1].split("/", 1)[1], follow_redirects=True)


def test_a_connected_platform_is_revoked_at_the_provider(
    wired_app: Flask, fake_platforms: FakePlatforms
) -> None:
    client = wired_app.test_client()
    creator = AuthActions(wired_app, client).login(EMAIL)
    connect_tiktok(client)
    with wired_app.test_request_context():
        tokens = get_token_service().tokens(creator.id, "tiktok")
    profile = fake_platforms.endpoints()["tiktok"]["profile_url"]
    bearer: dict[str, Any] = {"Authorization": f"Bearer {tokens.access_token}"}
    assert requests.get(profile, params={"fields": "open_id"}, headers=bearer, timeout=5).ok

    answer = client.post(
        "/account/delete", data={"csrf_token": csrf(client, "/account/delete"), "email": EMAIL}
    )

    assert answer.status_code == 303
    gone = requests.get(profile, params={"fields": "open_id"}, headers=bearer, timeout=5)
    assert gone.status_code == 401  # revoked at TikTok (the fake)
    assert table_traces(wired_app, creator.id, EMAIL) == []
    with wired_app.app_context():
        assert get_table().find(keys.creator_profile(creator.id)) is None


def test_the_operators_command_resumes_a_deletion_that_stopped_after_the_email_went(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)

    def crash(deps: service.Collaborators, cid: str, email: str) -> tuple[int, int]:
        raise ConnectionError("DynamoDB went away")

    with app.app_context(), monkeypatch.context() as patched:
        patched.setitem(service._STEP_RUNNERS, "account", crash)
        with pytest.raises(ConnectionError):
            service.run(jobs.collaborators(), ticket)
        assert find_creator_by_email(get_table(), EMAIL) is None  # the email is gone already

    result = app.test_cli_runner().invoke(args=["delete-account", "--email", EMAIL, "--yes"])

    assert result.exit_code == 0, result.output
    assert f"account deletion {ticket}: resuming after stop" in result.output
    assert "the last attempt stopped on ConnectionError: DynamoDB went away" in result.output
    assert table_traces(app, account.cid, EMAIL) == []


def test_a_deletion_whose_job_was_lost_is_queued_again_by_the_workers(
    app: Flask, queued: Queued
) -> None:
    populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        jobs.enqueue_deletion(ticket)
        assert queued.args("default") == [(ticket,)]
        Job.fetch(jobs.job_id(ticket), connection=get_redis()).delete()  # Redis lost it
        assert queued.args("default") == []

        assert jobs.reconcile_deletions() == [ticket]
        assert queued.args("default") == [(ticket,)]
        assert jobs.reconcile_deletions() == []  # its job is waiting: nothing to do

        jobs.delete_account(ticket)  # a worker runs it
        Job.fetch(jobs.job_id(ticket), connection=get_redis()).delete()
        assert jobs.reconcile_deletions() == []  # finished: never queued again
        assert get_redis().smembers(jobs.OPEN) == set()


def test_analytics_counts_not_flushed_yet_and_statistics_rounds_are_dropped(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    other = populate(app, "bob@example.com", clip_id(2))
    with app.app_context():
        redis = get_redis()
        for cid in (account.cid, other.cid):
            assert counters.count(redis, cid, {"clip_views": 3})
            platform_stats.track(redis, cid)  # they have published posts
        assert counters.pending(redis, account.cid)
    ticket = begin(app)
    with app.app_context():
        service.run(jobs.collaborators(), ticket)
        assert counters.pending(redis, account.cid) == {}
        assert counters.pending(redis, other.cid) == {"clip_views": 3.0}  # Bob's still count
        rounds = platform_stats.schedule_round(redis, 60, lambda cid, n: None)
        assert rounds == [other.cid]  # no statistics job for Alice any more


def test_a_running_export_and_import_stop_at_their_next_progress_write(app: Flask) -> None:
    account = populate(app, EMAIL, clip_id(1))
    with app.app_context():
        table = get_table()
        export = exports.create_export(table, account.cid, include_sources=False)
        imported = exports.create_import(table, account.cid, size=1000)
    ticket = begin(app)
    with app.app_context():
        stop = service._STEP_RUNNERS["stop"]
        stop(jobs.collaborators(), account.cid, account.email)
        with pytest.raises(Conflict):  # what the export job's next write meets
            exports.update_export(table, account.cid, export.id, files_done=1)
        with pytest.raises(Conflict):
            exports.update_import(table, account.cid, imported.id, items_done=1)
        assert not deletions.get(table, ticket).done


def test_a_step_recorded_twice_counts_once(app: Flask) -> None:
    populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        for _ in range(2):  # a job killed after recording, before going on, does it again
            progress = deletions.step_done(get_table(), ticket, "records", items=3)
    assert progress.steps_done == ("records",) and progress.items_removed == 3


def test_a_running_chat_import_is_waited_for(app: Flask, queued: Queued) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        importing = get_queue("analysis").enqueue(
            "truss.jobs.ping", job_id=import_job_id(account.sid)
        )  # its spikes are written when it ends
        deps = dataclasses.replace(jobs.collaborators(), listener_wait_s=0.0, sleep=lambda s: None)
        with pytest.raises(service.StillListening, match="chat import"):
            service.run(deps, ticket)
        importing.delete()  # it ended
        assert service.run(deps, ticket).done


def test_a_view_counted_while_the_deletion_runs_is_dropped_too(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    videos = service._STEP_RUNNERS["videos"]

    def share_viewed_then_videos(deps: service.Collaborators, cid: str, email: str) -> Any:
        counters.count(deps.redis, cid, {"clip_views": 1})  # before its share link went
        return videos(deps, cid, email)

    monkeypatch.setitem(service._STEP_RUNNERS, "videos", share_viewed_then_videos)
    with app.app_context():
        service.run(jobs.collaborators(), ticket)
        assert counters.pending(get_redis(), account.cid) == {}


def test_an_upload_landing_after_the_deletion_is_swept_once_upload_urls_expired(
    app: Flask, queued: Queued
) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        jobs.run_deletion(ticket)
        late = keys.asset_source_object(account.cid, "01LATELATELATELATELATELATE")
        get_storage().put_bytes(late, b"a browser's presigned POST", "video/mp4")
        assert bucket_traces(app, account.cid) == [late]

        registry = get_queue("default").scheduled_job_registry
        job_id = jobs.late_sweep_job_id(account.cid)
        assert registry.get_job_ids() == [job_id]
        wait_s = (registry.get_scheduled_time(job_id) - datetime.now(UTC)).total_seconds()
        expires_s = app.config["UPLOAD_URL_EXPIRES_S"]
        assert expires_s < wait_s <= expires_s + jobs.LATE_UPLOAD_MARGIN_S

        Job.fetch(job_id, connection=get_redis()).perform()  # the scheduler's turn
    assert bucket_traces(app, account.cid) == []


# --- the person signs up again while a deletion of their old account is unfinished ---------


@dataclasses.dataclass(frozen=True)
class SignedUpAgain:
    old: Any  # the deleted account (tests.support.deletion.Account)
    ticket: str  # its deletion, stopped after the sign-in step removed its email
    new_id: str  # the account made by signing up again with the same email
    browser: FlaskClient  # signed in as the new account
    pending_link: str  # a sign-in link the new account asked for and hasn't used yet


def signed_up_again_while_deletion_stopped(
    app: Flask, signin: SignInHelper, monkeypatch: pytest.MonkeyPatch
) -> SignedUpAgain:
    """The sign-in step removed the email and links, then recording it failed (throttled):
    the job is retried minutes later; meanwhile the person signs up again, as the page says
    they can, and asks for one more sign-in link in another browser."""
    old = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    recorded = deletions.step_done

    def throttled(table: Any, ticket: str, step: str, items: int = 0, objects: int = 0) -> Any:
        if step == "sign-in":
            raise ConnectionError("ProvisionedThroughputExceededException")
        return recorded(table, ticket, step, items, objects)

    with app.app_context(), monkeypatch.context() as patched:
        patched.setattr(deletions, "step_done", throttled)
        with pytest.raises(ConnectionError):
            service.run(jobs.collaborators(), ticket)
        assert "sign-in" not in deletions.get(get_table(), ticket).steps_done
        assert find_creator_by_email(get_table(), EMAIL) is None  # the email is free again

    browser = app.test_client()
    assert signin.sign_in_by_email(browser, EMAIL).status_code in (302, 303)
    assert browser.get("/dashboard").status_code == 200
    with app.app_context():
        new = find_creator_by_email(get_table(), EMAIL)
    assert new is not None and new.id != old.cid
    signin.request_link(app.test_client(), EMAIL)
    return SignedUpAgain(old, ticket, new.id, browser, signin.last_link_path())


def assert_the_new_account_is_whole(app: Flask, again: SignedUpAgain, signin: SignInHelper) -> None:
    with app.app_context():
        table = get_table()
        assert table.find(keys.creator_profile(again.new_id)) is not None
        assert table.get(keys.email_owner(EMAIL))["creator_id"] == again.new_id
    assert again.browser.get("/dashboard").status_code == 200  # still signed in
    other = app.test_client()  # the link asked for before the retry still signs in
    other.post(again.pending_link, data={"csrf_token": signin.csrf(other, again.pending_link)})
    assert other.get("/dashboard").status_code == 200
    fresh = app.test_client()
    signin.sign_in_by_email(fresh, EMAIL)
    assert fresh.get("/dashboard").status_code == 200
    with app.app_context():
        assert find_creator_by_email(get_table(), EMAIL).id == again.new_id  # type: ignore[union-attr]


def test_a_retried_sign_in_step_leaves_a_new_account_with_the_same_email_alone(
    app: Flask, signin: SignInHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = signed_up_again_while_deletion_stopped(app, signin, monkeypatch)

    with app.app_context():
        done = service.run(jobs.collaborators(), again.ticket)  # RQ's retry, minutes later

    assert done.done
    assert_the_new_account_is_whole(app, again, signin)
    assert table_traces(app, again.old.cid, again.old.cid) == []  # the old account is gone
    assert bucket_traces(app, again.old.cid) == []


def test_the_operators_command_finishes_the_old_deletion_and_leaves_the_new_account(
    app: Flask, signin: SignInHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = signed_up_again_while_deletion_stopped(app, signin, monkeypatch)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["delete-account", "--email", EMAIL, "--yes"])

    assert result.exit_code != 0  # the new account wasn't what was confirmed: refused
    assert f"account deletion {again.ticket}: resuming after stop, " in result.output
    assert f"account {again.old.cid} deleted" in result.output
    assert f"now belongs to another account ({again.new_id}" in result.output
    assert "it was NOT deleted" in result.output
    with app.app_context():
        assert deletions.get(get_table(), again.ticket).done
    assert table_traces(app, again.old.cid, again.old.cid) == []
    assert_the_new_account_is_whole(app, again, signin)

    second = runner.invoke(args=["delete-account", "--email", EMAIL, "--yes"])  # asked again

    assert second.exit_code == 0, second.output
    assert f"account {EMAIL} deleted" in second.output
    assert table_traces(app, again.new_id, EMAIL) == []


def test_a_pointer_that_changed_hands_since_the_scan_stays(
    app: Flask, signin: SignInHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one deletion at once (the job and the operator's command): the Scan saw the
    old account's email item, the other run removed it and the person signed up again before
    this run's delete; the delete is conditional on the owner, so the new one stays."""
    again = signed_up_again_while_deletion_stopped(app, signin, monkeypatch)
    seen_before = [keys.email_owner(EMAIL)]
    monkeypatch.setattr(deletions, "pointer_keys", lambda table, cid, email: seen_before)
    with app.app_context():
        assert deletions.remove_pointers(get_table(), again.old.cid, EMAIL) == 0
    assert_the_new_account_is_whole(app, again, signin)


def test_the_operators_command_resumes_a_confirmed_deletion_without_asking_again(
    app: Flask,
) -> None:
    account = populate(app, EMAIL, clip_id(1))
    ticket = begin(app)
    with app.app_context():
        flaky = dataclasses.replace(
            jobs.collaborators(), storage=FlakyStorage(get_storage(), fails=1)
        )
        with pytest.raises(ConnectionError):
            service.run(flaky, ticket)  # stopped on S3: the account still has its email
        assert find_creator_by_email(get_table(), EMAIL) is not None

    result = app.test_cli_runner().invoke(args=["delete-account", "--email", EMAIL])

    assert result.exit_code == 0, result.output  # no confirmation asked: it was given before
    assert f"account deletion {ticket}: resuming after stop, disconnect" in result.output
    assert table_traces(app, account.cid, EMAIL) == []
