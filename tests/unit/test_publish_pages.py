"""The publish pages: the clip page's Publish section (only connected platforms, limits counted
and enforced, TikTok's privacy options, now or a time in the creator's zone), each post's
status polled until final, cancel / reschedule / retry, several clips from the clips page,
the time zone setting; another creator gets 404 and changes nothing; no token in any page."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)
from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import fakeredis
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq.registry import ScheduledJobRegistry

from tests.support.app import make_app
from tests.support.clips import clip_id, htmx_headers, install_queue, make_clip, ready_asset
from tests.support.fake_platforms import connect, fake_platforms  # noqa: F401  (the fixture)
from truss.data import keys, platform_tokens, publications
from truss.data.platform_tokens import Account
from truss.extensions import get_table, get_token_service
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.tokens import TokenSet
from truss.queue import get_queue

CLID = clip_id(1)
SECRETS = ("yt-access-SECRET", "yt-refresh-SECRET", "dc-access-SECRET")
PARIS_SUMMER = "2030-07-01T18:30"  # CEST, UTC+2
PARIS_SUMMER_UTC = int(datetime(2030, 7, 1, 16, 30, tzinfo=UTC).timestamp())
HX = {"HX-Request": "true"}


@pytest.fixture
def app(
    aws: None, redis: fakeredis.FakeRedis, fake_platforms: FakePlatforms, tmp_path: Path
) -> Flask:
    """The app with its TikTok API on the fakes and a key file for the tokens."""
    tiktok = fake_platforms.endpoints()["tiktok"]
    return make_app(
        redis,
        TIKTOK_API_BASE=tiktok["api_base_url"],
        TOKEN_KEY_FILE=str(tmp_path / "token-keys"),
        TOKEN_KEY_FILE_CREATE=True,
    )


@pytest.fixture
def queued(app: Flask) -> Any:
    return install_queue(app)


def jobs_waiting(app: Flask) -> tuple[int, int]:
    """(jobs queued to run now, jobs scheduled for later) on the publish queue."""
    with app.app_context():
        queue = get_queue("publish")
        return len(queue.get_jobs()), len(ScheduledJobRegistry(queue=queue).get_job_ids())


def link(app: Flask, cid: str, platform: str, access: str, refresh: str = "") -> None:
    """Store a connection the way the connections page does (sealed)."""
    account = Account(platform, f"{platform}-1", f"{platform} account", "", ("scope",))
    with app.test_request_context():
        get_token_service().connect(cid, account, TokenSet(access, refresh, None))


def link_tiktok(app: Flask, fake: FakePlatforms, cid: str) -> tuple[str, str]:
    """Connect TikTok on the fakes; its (access, refresh) tokens."""
    token = connect(fake, "tiktok")
    account = Account("tiktok", "tt-1", "tiktok account", "", ("video.publish",))
    tokens = TokenSet(token["access_token"], token.get("refresh_token", ""), None)
    with app.test_request_context():
        get_token_service().connect(cid, account, tokens)
    return tokens.access_token, tokens.refresh_token


@pytest.fixture
def creator(app: Flask, auth: Any) -> Any:
    return auth.login("publisher@example.com")


@pytest.fixture
def clip(app: Flask, creator: Any) -> Any:
    asset = ready_asset(app, creator.id, "Launch talk")
    return make_clip(
        app, creator.id, asset.id, CLID, title="Rocket lands", hook="Watch the landing",
        hashtags=("#space", "#launch"),
    )  # fmt: skip


@pytest.fixture
def linked(app: Flask, creator: Any) -> None:
    link(app, creator.id, "youtube", SECRETS[0], SECRETS[1])
    link(app, creator.id, "discord", SECRETS[2])


def section(client: FlaskClient, clid: str = CLID) -> str:
    answer = client.get(f"/clips/{clid}/publish", headers=HX)
    assert answer.status_code == 200
    return text(answer)


def text(answer: Any) -> str:
    """The page as read (entities such as &#39; decoded)."""
    return unescape(answer.get_data(as_text=True))


def publish(client: FlaskClient, data: dict[str, Any], clid: str = CLID) -> Any:
    headers = htmx_headers(client, f"/clips/{clid}")
    return client.post(f"/clips/{clid}/publish", data=data, headers=headers)


def stored(app: Flask, cid: str, platform: str, clid: str = CLID) -> publications.Publication:
    with app.app_context():
        return publications.get(get_table(), cid, clid, platform)


def set_status(app: Flask, cid: str, platform: str, **fields: Any) -> None:
    with app.app_context():
        get_table().update(keys.publication(cid, CLID, platform), fields)


# -- the form -------------------------------------------------------------------------------


def test_the_clip_page_loads_the_publish_section(client: FlaskClient, clip: Any) -> None:
    page = client.get(f"/clips/{CLID}").get_data(as_text=True)
    assert f'hx-get="/clips/{CLID}/publish"' in page and 'hx-trigger="load"' in page
    assert f'href="/clips/{CLID}/publish"' in page  # without JavaScript: a link
    assert "js/publish.js" in page


def test_without_connections_the_form_says_to_connect(client: FlaskClient, clip: Any) -> None:
    html = section(client)
    assert "Connect a platform" in html and 'href="/connections"' in html
    assert 'name="platform"' not in html
    assert "Clips can't be uploaded to Twitch" in html


def test_the_form_lists_only_connected_platforms_with_drafted_text(
    client: FlaskClient, clip: Any, linked: None
) -> None:
    html = section(client)
    assert 'id="platform-youtube"' in html and 'id="platform-discord"' in html
    assert 'id="platform-tiktok"' not in html
    assert '<label for="platform-youtube">Post to YouTube</label>' in html
    title = re.search(r'<textarea id="text-youtube"[^>]*>([^<]*)</textarea>', html)
    assert title and title.group(1) == "Rocket lands"
    # No maxlength (the browser counts an emoji as two): the counter and the server count.
    assert "maxlength" not in html
    assert re.search(r'id="text-youtube"[^>]*aria-describedby="count-youtube"', html)
    assert 'id="count-discord" data-limit="2000"' in html
    assert '<label for="text-youtube">YouTube title</label>' in html
    assert '<label for="text-discord">Discord message</label>' in html
    assert 'id="count-youtube" data-limit="100">12 of 100 characters' in html
    assert "Europe" not in html and "Date and time (UTC)" in html
    for box in ("text-youtube", "description-youtube", "text-discord", "privacy-youtube"):
        assert f'<label for="{box}">' in html, box


def test_a_platform_that_needs_reconnecting_is_not_offered(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None
) -> None:
    with app.app_context():
        record = platform_tokens.get(get_table(), creator.id, "youtube")
        assert record is not None
        platform_tokens.mark_needs_reconnect(
            get_table(), creator.id, "youtube", record.version, "x"
        )
    html = section(client)
    assert 'id="platform-youtube"' not in html and 'id="platform-discord"' in html
    assert "Reconnect YouTube" in html


def test_tiktok_privacy_comes_from_creator_info_and_the_page_says_posts_are_private(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, fake_platforms: FakePlatforms
) -> None:
    link_tiktok(app, fake_platforms, creator.id)
    html = section(client)
    options = re.findall(r'<option value="([A-Z_]+)"', html)
    assert set(options) >= {"PUBLIC_TO_EVERYONE", "SELF_ONLY"}
    assert "publishes every post privately" in html
    fake_platforms.fail_next("tiktok.creator_info")
    html = section(client)
    assert re.findall(r'<option value="([A-Z_]+)"', html) == ["SELF_ONLY"]
    assert "TikTok didn't say which privacy options" in html


def test_a_tiktok_privacy_the_account_is_not_offered_is_refused_on_submit(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, fake_platforms: FakePlatforms
) -> None:
    link_tiktok(app, fake_platforms, creator.id)
    fake_platforms.fail_next("tiktok.creator_info")  # TikTok can't say: "Only me" alone
    form = {"platform": "tiktok", "text-tiktok": "hi", "when": "now"}
    html = publish(client, {**form, "privacy-tiktok": "PUBLIC_TO_EVERYONE"}).get_data(as_text=True)
    error = re.search(r'<p class="field-error" id="error-tiktok" role="alert">([^<]*)', html)
    assert error, html
    with app.app_context():
        assert publications.find(get_table(), creator.id, CLID, "tiktok") is None


# -- publishing -----------------------------------------------------------------------------


def test_an_over_long_youtube_title_is_refused_and_the_others_still_go(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None, queued: Any
) -> None:
    answer = publish(
        client,
        {
            "platform": ["youtube", "discord"],
            "text-youtube": "x" * 101,
            "description-youtube": "",
            "privacy-youtube": "private",
            "text-discord": "Look at this",
            "when": "now",
        },
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    error = re.search(r'<p class="field-error" id="error-youtube" role="alert">([^<]*)', html)
    assert error and "101 characters" in error.group(1) and "100" in error.group(1)
    assert "Publishing now: Discord." in html
    assert stored(app, creator.id, "discord").text == "Look at this"
    with app.app_context():
        assert publications.find(get_table(), creator.id, CLID, "youtube") is None
    assert jobs_waiting(app) == (1, 0)
    assert re.search(r'id="platform-youtube"[^>]*checked', html)  # left ready to fix
    assert 'id="publication-discord"' in html


def test_nothing_chosen_or_no_time_says_what_to_fix(
    client: FlaskClient, clip: Any, linked: None
) -> None:
    html = publish(client, {"when": "now"}).get_data(as_text=True)
    assert "Choose at least one platform" in html
    html = publish(client, {"platform": "discord", "text-discord": "hi", "when": "later"})
    assert "Enter the date and time" in html.get_data(as_text=True)


def test_a_time_in_europe_paris_is_stored_in_utc_and_shown_in_paris(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None, queued: Any
) -> None:
    headers = htmx_headers(client, "/dashboard")
    saved = client.post("/dashboard/time-zone", data={"time_zone": "Europe/Paris"}, headers=headers)
    assert "Times are now shown in Europe/Paris" in saved.get_data(as_text=True)
    html = section(client)
    assert "Date and time (Europe/Paris)" in html
    answer = publish(
        client,
        {"platform": "discord", "text-discord": "Later!", "when": "later", "at": PARIS_SUMMER},
    )
    html = answer.get_data(as_text=True)
    assert stored(app, creator.id, "discord").scheduled_at == PARIS_SUMMER_UTC
    assert "Mon 1 Jul 2030, 18:30 CEST" in html
    assert jobs_waiting(app) == (0, 1)


def test_a_time_zone_that_does_not_exist_is_refused(
    app: Flask, client: FlaskClient, creator: Any
) -> None:
    headers = htmx_headers(client, "/dashboard")
    answer = client.post(
        "/dashboard/time-zone", data={"time_zone": "Mars/Olympus"}, headers=headers
    )
    assert "Choose a time zone from the list" in answer.get_data(as_text=True)
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<strong data-testid="creator-time-zone">UTC</strong>' in page
    assert '<label for="time-zone-input">Change time zone</label>' in page


def test_a_time_the_clocks_skip_is_refused(
    app: Flask, client: FlaskClient, clip: Any, linked: None
) -> None:
    headers = htmx_headers(client, "/dashboard")
    client.post("/dashboard/time-zone", data={"time_zone": "Europe/Paris"}, headers=headers)
    html = publish(
        client,
        {"platform": "discord", "text-discord": "x", "when": "later", "at": "2030-03-31T02:30"},
    )
    assert "doesn't exist in Europe/Paris" in text(html)


# -- each post: status, cancel, reschedule, retry, polling ----------------------------------


@pytest.fixture
def scheduled(app: Flask, client: FlaskClient, clip: Any, linked: None, queued: Any) -> None:
    publish(
        client,
        {"platform": "discord", "text-discord": "Later", "when": "later", "at": PARIS_SUMMER},
    )


def action(client: FlaskClient, name: str, platform: str = "discord", **data: str) -> str:
    headers = htmx_headers(client, f"/clips/{CLID}")
    url = f"/clips/{CLID}/publications/{platform}/{name}"
    answer = client.post(url, data=data, headers=headers)
    assert answer.status_code == 200
    return text(answer)


def test_reschedule_and_cancel_only_while_scheduled(
    app: Flask, client: FlaskClient, creator: Any, scheduled: None
) -> None:
    html = action(client, "reschedule", at="2030-07-02T09:15")
    assert "now scheduled for Tue 2 Jul 2030, 09:15 UTC" in html
    moved = int(datetime(2030, 7, 2, 9, 15, tzinfo=UTC).timestamp())
    assert stored(app, creator.id, "discord").scheduled_at == moved
    assert "Cancel" in html and "Reschedule" in html
    set_status(app, creator.id, "discord", status="uploading")
    html = action(client, "cancel")
    assert "can't be cancelled any more" in html
    html = action(client, "reschedule", at="2030-07-03T09:15")
    assert "already started" in html
    assert stored(app, creator.id, "discord").status == "uploading"
    assert stored(app, creator.id, "discord").scheduled_at == moved
    set_status(app, creator.id, "discord", status="scheduled")
    html = action(client, "cancel")
    assert "Cancelled the Discord post" in html
    assert stored(app, creator.id, "discord").status == "cancelled"


def test_a_failed_post_shows_the_error_with_the_code_and_can_be_retried(
    app: Flask, client: FlaskClient, creator: Any, scheduled: None
) -> None:
    set_status(
        app, creator.id, "discord", status="failed", error="The video is over 10 MiB.",
        error_code="40005", error_kind="content",
    )  # fmt: skip
    html = client.get(f"/clips/{CLID}/publications", headers=HX).get_data(as_text=True)
    assert "The video is over 10 MiB. (Discord's code: 40005)" in html
    assert "Retry" in html and "Cancel" not in html
    html = action(client, "retry")
    assert "Trying the Discord post again now." in html
    assert stored(app, creator.id, "discord").status == "scheduled"


def test_needs_reconnect_links_to_the_connections_page(
    app: Flask, client: FlaskClient, creator: Any, scheduled: None
) -> None:
    set_status(app, creator.id, "discord", status="needs_reconnect", error="Reconnect Discord.")
    html = client.get(f"/clips/{CLID}/publications", headers=HX).get_data(as_text=True)
    assert 'href="/connections">Reconnect Discord</a>' in html


def poll_trigger(client: FlaskClient) -> str:
    answer = client.get(f"/clips/{CLID}/publications", headers=HX)
    assert answer.status_code == 200
    found = re.search(r'hx-trigger="(every [^"]+)"', answer.get_data(as_text=True))
    assert found, "not polled"
    return found.group(1)


def test_the_status_poll_is_slow_for_later_posts_and_stops_with_286_once_every_post_is_final(
    app: Flask, client: FlaskClient, creator: Any, scheduled: None
) -> None:
    assert poll_trigger(client) == "every 30s"  # scheduled for 2030: no query every 2 s
    due_soon = int(time.time()) + 120  # within pages.SOON_S (300 s)
    set_status(app, creator.id, "discord", scheduled_at=due_soon)
    assert poll_trigger(client) == "every 2s"
    set_status(app, creator.id, "discord", status="processing", scheduled_at=PARIS_SUMMER_UTC)
    assert poll_trigger(client) == "every 2s"
    set_status(
        app, creator.id, "discord", status="published",
        remote_url="https://discord.com/channels/1/2/3",
    )  # fmt: skip
    answer = client.get(f"/clips/{CLID}/publications", headers=HX)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 286 and "hx-trigger" not in html
    assert 'href="https://discord.com/channels/1/2/3"' in html
    assert '<span class="badge badge-ready">Published</span>' in html


# -- several clips --------------------------------------------------------------------------


def test_publish_selected_clips_each_with_its_own_words(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None, queued: Any
) -> None:
    other = make_clip(app, creator.id, clip.asset_id, clip_id(2), title="Second moment")
    page = client.get("/clips").get_data(as_text=True)
    assert 'form="publish-selected"' in page and "Publish selected" in page
    form = client.get(f"/clips/publish?clid={CLID}&clid={other.id}").get_data(as_text=True)
    assert "Publish 2 clips" in form and 'id="platform-discord"' in form
    assert 'name="text-discord"' not in form  # each clip keeps its own words
    headers = htmx_headers(client, "/clips")
    headers.pop("HX-Request")
    answer = client.post(
        "/clips/publish",
        data={"clid": [CLID, other.id], "platform": ["discord", "youtube"], "when": "now",
              "privacy-youtube": "unlisted"},
        headers=headers,
    )  # fmt: skip
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert html.count("Queued: YouTube, Discord.") == 2
    assert "Second moment" in stored(app, creator.id, "discord", other.id).text
    assert stored(app, creator.id, "youtube", CLID).text == "Rocket lands"
    assert stored(app, creator.id, "youtube", CLID).privacy == "unlisted"
    assert jobs_waiting(app) == (4, 0)
    again = client.post(
        "/clips/publish",
        data={"clid": [CLID], "platform": ["discord"], "when": "now"},
        headers=headers,
    )
    assert "Not queued on Discord" in again.get_data(as_text=True)  # already published/queued


# -- another creator; no token anywhere -----------------------------------------------------


def test_another_creator_gets_404_and_changes_nothing(
    app: Flask, client: FlaskClient, creator: Any, scheduled: None, auth: Any
) -> None:
    before = stored(app, creator.id, "discord")
    auth.login("someone-else@example.com")
    headers = htmx_headers(client, "/clips")
    for method, url, data in [
        ("get", f"/clips/{CLID}/publish", {}),
        ("post", f"/clips/{CLID}/publish", {"platform": "discord", "when": "now"}),
        ("get", f"/clips/{CLID}/publications", {}),
        ("post", f"/clips/{CLID}/publications/discord/cancel", {}),
        ("post", f"/clips/{CLID}/publications/discord/reschedule", {"at": "2031-01-01T10:00"}),
        ("post", f"/clips/{CLID}/publications/discord/retry", {}),
        ("get", f"/clips/publish?clid={CLID}", {}),
        ("post", "/clips/publish", {"clid": CLID, "platform": "discord", "when": "now"}),
    ]:
        answer = getattr(client, method)(url, data=data, headers=headers)
        assert answer.status_code == 404, url
    assert stored(app, creator.id, "discord") == before


def test_no_token_in_any_page_or_log_line(
    app: Flask,
    client: FlaskClient,
    creator: Any,
    scheduled: None,
    fake_platforms: FakePlatforms,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tiktok = link_tiktok(app, fake_platforms, creator.id)
    set_status(app, creator.id, "discord", status="failed", error="Boom.", error_code="500")
    fake_platforms.fail_next("tiktok.creator_info", "unauthorized")
    pages = [
        client.get(f"/clips/{CLID}").get_data(as_text=True),
        section(client),
        section(client),
        client.get(f"/clips/{CLID}/publish").get_data(as_text=True),
        client.get(f"/clips/{CLID}/publications", headers=HX).get_data(as_text=True),
        client.get(f"/clips/publish?clid={CLID}").get_data(as_text=True),
        client.get("/dashboard").get_data(as_text=True),
        action(client, "retry"),
    ]
    secrets = [*SECRETS, *tiktok]
    for html in pages:
        for secret in secrets:
            assert secret not in html
    for secret in secrets:
        assert secret not in caplog.text


def test_a_foreign_clip_among_the_selected_ones_is_404_and_nothing_is_queued(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None, queued: Any, auth: Any
) -> None:
    theirs = auth.login("other@example.com")
    asset = ready_asset(app, theirs.id, "Their talk")
    make_clip(app, theirs.id, asset.id, clip_id(7))
    auth.login("publisher@example.com")
    data = {"clid": [CLID, clip_id(7)], "platform": ["discord"], "when": "now"}
    headers = htmx_headers(client, "/clips")
    headers.pop("HX-Request")
    assert client.post("/clips/publish", data=data, headers=headers).status_code == 404
    with app.app_context():
        assert publications.find(get_table(), creator.id, CLID, "discord") is None
    assert jobs_waiting(app) == (0, 0)


def test_without_javascript_publishing_redirects_back_with_a_message(
    app: Flask, client: FlaskClient, clip: Any, creator: Any, linked: None, queued: Any
) -> None:
    headers = htmx_headers(client, f"/clips/{CLID}")
    headers.pop("HX-Request")
    data = {"platform": "discord", "text-discord": "Plain form", "when": "now"}
    answer = client.post(f"/clips/{CLID}/publish", data=data, headers=headers)
    assert answer.status_code == 302 and answer.location.endswith(f"/clips/{CLID}/publish")
    page = text(client.get(answer.location))
    assert "Discord: queued." in page and 'id="publication-discord"' in page


def test_poll_every_is_fast_only_while_a_post_moves_or_is_due_within_five_minutes() -> None:
    from truss.publishing.pages import FAST_POLL, SLOW_POLL, SOON_S, poll_every

    def post(status: str, at: int = 0) -> publications.Publication:
        return publications.Publication(
            creator_id="c", clip_id=CLID, platform="discord", status=status, scheduled_at=at
        )

    now = 1_000_000
    assert poll_every([post("published"), post("cancelled")], now) == ""
    assert poll_every([post("scheduled", now + SOON_S + 1), post("failed")], now) == SLOW_POLL
    assert poll_every([post("scheduled", now + SOON_S)], now) == FAST_POLL
    assert poll_every([post("scheduled", now + 86_400), post("uploading")], now) == FAST_POLL
    assert poll_every([post("processing")], now) == FAST_POLL
