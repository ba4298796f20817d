"""The fake platforms speak the providers' protocols: driven with plain `requests` on localhost."""

# ruff: noqa: F811  (the fake_platforms fixture is imported, then named as a test argument)

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import requests

from tests.support.fake_platforms import (
    REDIRECT_URI,
    bearer,
    connect,
    consent,
    fake_platforms,  # noqa: F401  (fixture)
    press,
    token_request,
)
from truss.local.fake_platforms import FakePlatforms, FakeSettings
from truss.local.fake_platforms.tiktok import chunk_error

YT_UPLOAD = "/youtube/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status"
KIB = 1024
MIB = 1024 * KIB


def video_bytes(size: int) -> bytes:
    return os.urandom(size)


# --- OAuth ----------------------------------------------------------------------------------


def test_consent_deny_sends_access_denied_back_with_the_state(
    fake_platforms: FakePlatforms,
) -> None:
    back = consent(fake_platforms, "twitch", decision="deny")
    assert back == {"state": ["st-123"], "error": ["access_denied"]}


def test_google_issues_a_refresh_token_only_for_offline_access_with_consent(
    fake_platforms: FakePlatforms,
) -> None:
    back = consent(fake_platforms, "google", access_type="offline")  # no prompt=consent
    online = token_request(
        fake_platforms,
        "google",
        grant_type="authorization_code",
        code=back["code"][0],
        redirect_uri=REDIRECT_URI,
    ).json()
    assert "access_token" in online and "refresh_token" not in online
    offline = connect(fake_platforms, "google", account="Ada")
    assert offline["refresh_token"] and offline["token_type"] == "Bearer"
    profile = requests.get(
        fake_platforms.url("google") + "/v1/userinfo", headers=bearer(offline), timeout=5
    ).json()
    assert profile["name"] == "Ada"
    avatar = requests.get(profile["picture"], timeout=5)
    assert avatar.headers["Content-Type"] == "image/png" and avatar.content.startswith(b"\x89PNG")


def test_a_code_works_once_and_only_with_its_redirect_uri(fake_platforms: FakePlatforms) -> None:
    code = consent(fake_platforms, "discord")["code"][0]
    wrong = token_request(
        fake_platforms,
        "discord",
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://elsewhere/cb",
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = consent(fake_platforms, "discord")["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    assert token_request(fake_platforms, "discord", **form).status_code == 200
    assert token_request(fake_platforms, "discord", **form).status_code == 400


def test_wrong_client_secret_is_refused(fake_platforms: FakePlatforms) -> None:
    code = consent(fake_platforms, "google")["code"][0]
    answer = requests.post(
        fake_platforms.url("google") + "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=("fake-google-client", "not-the-secret"),
        timeout=5,
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_access_tokens_expire_and_a_refresh_brings_a_working_one(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "google")
    userinfo = fake_platforms.url("google") + "/v1/userinfo"
    fake_platforms.advance_clock(token["expires_in"] + 1)
    assert requests.get(userinfo, headers=bearer(token), timeout=5).status_code == 401
    fresh = token_request(
        fake_platforms, "google", grant_type="refresh_token", refresh_token=token["refresh_token"]
    ).json()
    assert requests.get(userinfo, headers=bearer(fresh), timeout=5).status_code == 200
    assert "refresh_token" not in fresh  # Google keeps the refresh token
    assert fake_platforms.refreshes("google") == 1


def test_tiktok_rotates_refresh_tokens_and_the_old_one_stops_working(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "tiktok")
    assert token["open_id"] and token["scope"] == "user.info.basic,video.publish"
    first = token_request(
        fake_platforms, "tiktok", grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    rotated = first.json()["refresh_token"]
    assert rotated != token["refresh_token"]
    again = token_request(
        fake_platforms, "tiktok", grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    ok = token_request(fake_platforms, "tiktok", grant_type="refresh_token", refresh_token=rotated)
    assert ok.status_code == 200


def test_revoked_refresh_tokens_get_invalid_grant(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "twitch")
    assert token["scope"] == ["clips:edit", "user:read:chat"]
    fake_platforms.revoke_refresh_tokens("twitch")
    answer = token_request(
        fake_platforms, "twitch", grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "Bad Request",
        "status": 400,
        "message": "Token has been expired or revoked.",
    }


def test_revoking_at_the_provider_ends_access(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "google")
    revoke = requests.post(
        fake_platforms.url("google") + "/revoke",
        params={"token": token["refresh_token"]},
        timeout=5,
    )
    assert revoke.status_code == 200
    userinfo = requests.get(
        fake_platforms.url("google") + "/v1/userinfo", headers=bearer(token), timeout=5
    )
    assert userinfo.status_code == 401
    refresh = token_request(
        fake_platforms, "google", grant_type="refresh_token", refresh_token=token["refresh_token"]
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_request_logs_leave_out_query_strings_with_tokens(
    fake_platforms: FakePlatforms, caplog: pytest.LogCaptureFixture
) -> None:
    token = connect(fake_platforms, "google")
    with caplog.at_level(logging.INFO, logger="truss.fake_platforms"):
        requests.post(
            fake_platforms.url("google") + "/revoke",
            params={"token": token["access_token"]},
            timeout=5,
        )
    assert "/google/revoke" in caplog.text
    assert token["access_token"] not in caplog.text


def test_issued_tokens_survive_a_restart_with_the_same_data_dir(tmp_path: Path) -> None:
    with FakePlatforms(data_dir=tmp_path) as first:
        token = connect(first, "discord", account="Grace")
    with FakePlatforms(data_dir=tmp_path) as second:
        me = requests.get(
            second.url("discord") + "/api/users/@me", headers=bearer(token), timeout=5
        )
        assert me.json()["username"] == "Grace"


def test_authlibs_client_connects_refreshes_and_revokes(fake_platforms: FakePlatforms) -> None:
    """The OAuth client the adapters use works against the fakes unchanged (PKCE included)."""
    from authlib.integrations.requests_client import OAuth2Session

    urls = fake_platforms.endpoints()["discord"]
    session = OAuth2Session(
        urls["client_id"],
        urls["client_secret"],
        scope="identify webhook.incoming",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = "v" * 64
    url, _ = session.create_authorization_url(urls["authorize_url"], code_verifier=verifier)
    back = press(url, account="Linus")
    token = session.fetch_token(
        urls["token_url"], authorization_response=back, code_verifier=verifier
    )
    assert token["webhook"]["url"].startswith(fake_platforms.url("discord") + "/api/webhooks/")
    me = session.get(urls["profile_url"], timeout=5).json()
    assert me["username"] == "Linus"
    session.refresh_token(urls["token_url"], refresh_token=token["refresh_token"])
    assert session.revoke_token(urls["revoke_url"], token=token["refresh_token"]).status_code == 200
    assert session.get(urls["profile_url"], timeout=5).status_code == 401


# --- YouTube --------------------------------------------------------------------------------


def start_youtube(fake: FakePlatforms, token: dict, size: int, title: str = "My clip") -> str:
    answer = requests.post(
        fake.base_url + YT_UPLOAD,
        json={"snippet": {"title": title}, "status": {"privacyStatus": "public"}},
        headers={
            **bearer(token),
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": "video/mp4",
        },
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.headers["Location"]


def put_range(session: str, data: bytes, first: int, total: int) -> requests.Response:
    last = first + len(data) - 1
    return requests.put(
        session, data=data, headers={"Content-Range": f"bytes {first}-{last}/{total}"}, timeout=10
    )


def status_query(session: str, total: int) -> requests.Response:
    return requests.put(session, headers={"Content-Range": f"bytes */{total}"}, timeout=5)


def test_youtube_resumable_upload_in_chunks_with_308_and_range(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "google")
    data = video_bytes(700 * KIB)
    session = start_youtube(fake_platforms, token, len(data))
    nothing = status_query(session, len(data))
    assert nothing.status_code == 308 and "Range" not in nothing.headers
    # a 300 KiB chunk: only whole 256 KiB are kept, and the server says so
    partial = put_range(session, data[: 300 * KIB], 0, len(data))
    assert partial.status_code == 308 and partial.headers["Range"] == f"bytes=0-{256 * KIB - 1}"
    kept = int(partial.headers["Range"].split("-")[1]) + 1
    done = put_range(session, data[kept:], kept, len(data))
    assert done.status_code == 200
    video = done.json()
    assert video["snippet"]["title"] == "My clip"
    assert video["status"]["privacyStatus"] == "private"  # unaudited project
    [entry] = fake_platforms.received("youtube")
    assert entry["remote_id"] == video["id"] and entry["size"] == len(data)
    played = requests.get(entry["video_url"], timeout=5)
    assert played.content == data and played.headers["Content-Type"] == "video/mp4"


def test_youtube_takes_chunks_sent_with_chunked_transfer_encoding(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "google")
    data = video_bytes(300 * KIB)
    session = start_youtube(fake_platforms, token, len(data))
    pieces = (data[i : i + 64 * KIB] for i in range(0, len(data), 64 * KIB))
    streamed = requests.put(
        session,
        data=pieces,
        headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
        timeout=10,
    )
    assert streamed.status_code == 200
    [entry] = fake_platforms.received("youtube")
    assert fake_platforms.received_bytes(entry["id"]) == data


def test_token_endpoint_faults(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "tiktok")
    fake_platforms.fail_next("tiktok.token", "server_error")
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    assert token_request(fake_platforms, "tiktok", **refresh).status_code == 503
    assert token_request(fake_platforms, "tiktok", **refresh).status_code == 200


def test_youtube_processing_finishes_after_polls_unless_told_never_to(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "google")
    session = start_youtube(fake_platforms, token, 1000)
    video_id = put_range(session, video_bytes(1000), 0, 1000).json()["id"]
    status_url = fake_platforms.base_url + "/youtube/youtube/v3/videos"
    params = {"part": "status,processingDetails", "id": video_id}

    def poll() -> str:
        items = requests.get(status_url, params=params, headers=bearer(token), timeout=5).json()[
            "items"
        ]
        return str(items[0]["processingDetails"]["processingStatus"])

    assert poll() == "processing"
    assert poll() == "succeeded"
    fake_platforms.never_complete("youtube")
    second = put_range(start_youtube(fake_platforms, token, 10), b"x" * 10, 0, 10).json()["id"]
    params["id"] = second
    assert [poll() for _ in range(5)] == ["processing"] * 5


def test_youtube_upload_dropped_at_40_percent_resumes_from_the_servers_range(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "google")
    data = video_bytes(2 * MIB)
    session = start_youtube(fake_platforms, token, len(data))
    fake_platforms.drop_upload("youtube", at=0.4)
    with pytest.raises(requests.ConnectionError):
        put_range(session, data, 0, len(data))
    where = status_query(session, len(data))
    assert where.status_code == 308
    resume_at = int(where.headers["Range"].split("-")[1]) + 1
    assert resume_at == int(len(data) * 0.4)
    done = put_range(session, data[resume_at:], resume_at, len(data))
    assert done.status_code == 200
    [entry] = fake_platforms.received("youtube")
    assert fake_platforms.received_bytes(entry["id"]) == data


def test_youtube_errors_use_googles_shape(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "google")
    fake_platforms.fail_next("youtube.insert", "quota")
    quota = requests.post(
        fake_platforms.base_url + YT_UPLOAD,
        json={"snippet": {"title": "t"}},
        headers=bearer(token),
        timeout=5,
    )
    assert quota.status_code == 403
    assert quota.json()["error"]["errors"][0]["reason"] == "quotaExceeded"
    fake_platforms.expire_access_tokens("google")
    expired = requests.post(
        fake_platforms.base_url + YT_UPLOAD,
        json={"snippet": {"title": "t"}},
        headers=bearer(token),
        timeout=5,
    )
    assert expired.status_code == 401 and expired.json()["error"]["status"] == "UNAUTHENTICATED"


def test_youtube_daily_quota_runs_out(fake_platforms: FakePlatforms) -> None:
    fake_platforms.settings.youtube_quota_per_day = 2000  # one 1600-unit upload a day
    token = connect(fake_platforms, "google")
    start_youtube(fake_platforms, token, 10)
    second = requests.post(
        fake_platforms.base_url + YT_UPLOAD,
        json={"snippet": {"title": "t"}},
        headers=bearer(token),
        timeout=5,
    )
    assert second.status_code == 403
    assert second.json()["error"]["errors"][0]["domain"] == "youtube.quota"
    fake_platforms.advance_clock(24 * 3600)
    fresh = token_request(
        fake_platforms, "google", grant_type="refresh_token", refresh_token=token["refresh_token"]
    ).json()
    start_youtube(fake_platforms, fresh, 10)  # a new Pacific day, a new quota


# --- TikTok ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunk", "count", "ok"),
    [
        (4 * MIB, 4 * MIB, 1, True),  # under 5 MB: whole
        (4 * MIB, 1 * MIB, 4, False),
        (20 * MIB, 5 * MIB, 4, True),
        (20 * MIB, 4 * MIB, 5, False),  # chunks under 5 MB
        (21 * MIB, 5 * MIB, 5, False),  # count must round down (4)
        (200 * MIB, 64 * MIB, 3, True),  # the last chunk takes the trailing 8 MB
        (200 * MIB, 100 * MIB, 2, False),  # over 64 MB
        (190 * MIB, 60 * MIB, 2, False),  # the last chunk would be 130 MB
    ],
)
def test_tiktok_chunk_rules(size: int, chunk: int, count: int, ok: bool) -> None:
    assert (chunk_error(FakeSettings(), size, chunk, count) is None) is ok


def tiktok_api(fake: FakePlatforms, path: str, token: dict, body: dict) -> requests.Response:
    return requests.post(
        f"{fake.url('tiktok')}/v2/post/publish/{path}/", json=body, headers=bearer(token), timeout=5
    )


def tiktok_init(
    fake: FakePlatforms, token: dict, size: int, chunk: int, count: int, privacy: str = "SELF_ONLY"
) -> requests.Response:
    source = {
        "source": "FILE_UPLOAD",
        "video_size": size,
        "chunk_size": chunk,
        "total_chunk_count": count,
    }
    return tiktok_api(
        fake,
        "video/init",
        token,
        {"post_info": {"title": "Caption #fyp", "privacy_level": privacy}, "source_info": source},
    )


def tiktok_put(url: str, data: bytes, first: int, total: int) -> requests.Response:
    last = first + len(data) - 1
    headers = {"Content-Type": "video/mp4", "Content-Range": f"bytes {first}-{last}/{total}"}
    return requests.put(url, data=data, headers=headers, timeout=10)


def test_tiktok_direct_post_in_chunks_until_publish_complete(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "tiktok")
    info = tiktok_api(fake_platforms, "creator_info/query", token, {}).json()
    assert info["error"]["code"] == "ok"
    assert "SELF_ONLY" in info["data"]["privacy_level_options"]
    chunk, data = 64 * KIB, video_bytes(64 * KIB * 2 + 1000)  # two chunks, the last one longer
    refused = tiktok_init(fake_platforms, token, len(data), chunk, 3)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_params"
    public = tiktok_init(fake_platforms, token, len(data), chunk, 2, privacy="PUBLIC_TO_EVERYONE")
    assert public.json()["error"]["code"] == "unaudited_client_can_only_post_to_private_accounts"
    init = tiktok_init(fake_platforms, token, len(data), chunk, 2).json()["data"]
    out_of_order = tiktok_put(init["upload_url"], data[chunk:], chunk, len(data))
    assert out_of_order.status_code == 400
    assert tiktok_put(init["upload_url"], data[:chunk], 0, len(data)).status_code == 206
    status = {"publish_id": init["publish_id"]}
    assert (
        tiktok_api(fake_platforms, "status/fetch", token, status).json()["data"]["status"]
        == "PROCESSING_UPLOAD"
    )
    assert tiktok_put(init["upload_url"], data[chunk:], chunk, len(data)).status_code == 201
    states = [
        tiktok_api(fake_platforms, "status/fetch", token, status).json()["data"]["status"]
        for _ in range(2)
    ]
    assert states == ["PROCESSING_UPLOAD", "PUBLISH_COMPLETE"]
    [entry] = fake_platforms.received("tiktok")
    assert entry["title"] == "Caption #fyp" and entry["privacy"] == "SELF_ONLY"
    assert fake_platforms.received_bytes(entry["id"]) == data


def test_tiktok_dropped_chunk_is_sent_again_and_failures_name_a_reason(
    fake_platforms: FakePlatforms,
) -> None:
    token = connect(fake_platforms, "tiktok")
    data = video_bytes(1000)
    init = tiktok_init(fake_platforms, token, len(data), len(data), 1).json()["data"]
    fake_platforms.drop_upload("tiktok", at=0.4)
    fake_platforms.fail_processing("tiktok", "file_format_check_failed")
    with pytest.raises(requests.ConnectionError):
        tiktok_put(init["upload_url"], data, 0, len(data))
    assert tiktok_put(init["upload_url"], data, 0, len(data)).status_code == 201
    status = {"publish_id": init["publish_id"]}
    answers = [
        tiktok_api(fake_platforms, "status/fetch", token, status).json()["data"] for _ in range(2)
    ]
    assert answers[-1]["status"] == "FAILED"
    assert answers[-1]["fail_reason"] == "file_format_check_failed"


def test_tiktok_status_can_stay_processing(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "tiktok")
    init = tiktok_init(fake_platforms, token, 10, 10, 1).json()["data"]
    tiktok_put(init["upload_url"], b"0123456789", 0, 10)
    requests.post(
        fake_platforms.base_url + "/_fake/faults",
        json={"fault": "never_complete", "platform": "tiktok"},
        timeout=5,
    )
    status = {"publish_id": init["publish_id"]}
    states = {
        tiktok_api(fake_platforms, "status/fetch", token, status).json()["data"]["status"]
        for _ in range(6)
    }
    assert states == {"PROCESSING_UPLOAD"}


# --- Discord --------------------------------------------------------------------------------


def discord_post(url: str, content: str, data: bytes) -> requests.Response:
    return requests.post(
        url,
        params={"wait": "true"},
        data={"payload_json": f'{{"content": "{content}"}}'},
        files={"files[0]": ("clip.mp4", data, "video/mp4")},
        timeout=10,
    )


def test_discord_webhook_from_oauth_posts_a_clip(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "discord", channel="highlights")
    hook = token["webhook"]
    assert hook["url"].endswith(f"/discord/api/webhooks/{hook['id']}/{hook['token']}")
    assert requests.get(hook["url"], timeout=5).json()["id"] == hook["id"]
    data = video_bytes(3000)
    message = discord_post(hook["url"], "New clip!", data)
    assert message.status_code == 200
    assert message.json()["content"] == "New clip!"
    assert message.json()["attachments"][0]["size"] == len(data)
    [entry] = fake_platforms.received("discord")
    assert entry["text"] == "New clip!" and entry["account"] == "#highlights"
    assert requests.get(entry["video_url"], timeout=5).content == data


def test_discord_refuses_oversize_files_long_messages_and_bad_webhooks(
    fake_platforms: FakePlatforms,
) -> None:
    url = fake_platforms.add_webhook()
    fake_platforms.settings.discord_max_upload = 100 * KIB
    oversize = discord_post(url, "big", video_bytes(100 * KIB + 1))
    assert oversize.status_code == 413 and oversize.json()["code"] == 40005
    too_long = requests.post(url, json={"content": "x" * 2001}, timeout=5)
    assert too_long.status_code == 400 and too_long.json()["code"] == 50035
    wrong_token = url.rsplit("/", 1)[0] + "/nope"
    assert requests.get(wrong_token, timeout=5).json()["code"] == 50027
    assert fake_platforms.received("discord") == []


# --- Twitch ---------------------------------------------------------------------------------


def test_twitch_create_clip_then_get_it_once_ready(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "twitch")
    headers = {**bearer(token), "Client-Id": fake_platforms.settings.clients["twitch"][0]}
    helix = fake_platforms.url("twitch") + "/helix"
    user = requests.get(helix + "/users", headers=headers, timeout=5).json()["data"][0]
    made = requests.post(
        helix + "/clips", params={"broadcaster_id": user["id"]}, headers=headers, timeout=5
    )
    assert made.status_code == 202
    clip_id = made.json()["data"][0]["id"]
    polls = [
        requests.get(helix + "/clips", params={"id": clip_id}, headers=headers, timeout=5).json()[
            "data"
        ]
        for _ in range(2)
    ]
    assert polls[0] == [] and polls[1][0]["id"] == clip_id
    mismatched = requests.get(
        helix + "/users", headers={**bearer(token), "Client-Id": "other"}, timeout=5
    )
    assert mismatched.status_code == 401


# --- faults over HTTP -----------------------------------------------------------------------


def test_faults_over_http_hit_the_next_call_only(fake_platforms: FakePlatforms) -> None:
    token = connect(fake_platforms, "google")
    armed = requests.post(
        fake_platforms.base_url + "/_fake/faults",
        json={"fault": "fail_next", "route": "youtube.status", "kind": "server_error"},
        timeout=5,
    )
    assert armed.json()["fail_next"] == {"youtube.status": ["server_error"]}
    url = fake_platforms.base_url + "/youtube/youtube/v3/videos"
    params = {"part": "status", "id": "x"}
    assert requests.get(url, params=params, headers=bearer(token), timeout=5).status_code == 503
    assert requests.get(url, params=params, headers=bearer(token), timeout=5).status_code == 200
    bad = requests.post(
        fake_platforms.base_url + "/_fake/faults", json={"fault": "nope"}, timeout=5
    )
    assert bad.status_code == 400


def test_endpoints_point_adapters_at_the_fakes(fake_platforms: FakePlatforms) -> None:
    listed = requests.get(fake_platforms.base_url + "/_fake/endpoints", timeout=5).json()
    assert listed == fake_platforms.endpoints()
    tiktok = listed["tiktok"]
    assert requests.get(tiktok["authorize_url"], timeout=5).status_code == 400  # no client
    token = connect(fake_platforms, "tiktok")
    profile = requests.get(
        tiktok["profile_url"],
        params={"fields": "open_id,display_name,avatar_url"},
        headers=bearer(token),
        timeout=5,
    ).json()
    assert profile["data"]["user"]["display_name"] == "local.tiktoker"
    assert profile["error"]["code"] == "ok"


def test_the_webhook_to_paste_is_reused_across_restarts(tmp_path: Path) -> None:
    with FakePlatforms(data_dir=tmp_path) as first:
        pasted = first.webhook_url()
        assert first.webhook_url() == pasted
    with FakePlatforms(data_dir=tmp_path) as second:  # a new port, the same webhooks
        again = second.webhook_url()
        assert len(second.state.db["webhooks"]) == 1  # reused, not piled up
    assert again.split("/api/webhooks/")[1] == pasted.split("/api/webhooks/")[1]
