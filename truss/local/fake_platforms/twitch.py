"""Twitch Helix: Get Users and Create Clip / Get Clips (clips are made asynchronously).

Helix wants `Client-Id` matching the token's client and a Bearer token; errors are
{"error", "status", "message"}. Create Clip answers 202 with the clip id; Get Clips returns an
empty `data` until the clip is ready (FakeSettings.processing_polls), and never when
never_complete("twitch") is armed. An offline channel can't be clipped (404).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from truss.local.fake_platforms.oauth import avatar_url, token_error
from truss.local.fake_platforms.state import State, new_token
from truss.local.fake_platforms.wire import bearer, json_reply


def fault_reply(kind: str) -> Response:
    if kind == "unauthorized":
        return token_error("twitch", 401, "", "Invalid OAuth token")
    if kind in ("quota", "rate_limited"):
        return json_reply(
            {"error": "Too Many Requests", "status": 429, "message": "Rate limit exceeded"}, 429
        )
    return json_reply({"error": "Internal Server Error", "status": 500, "message": ""}, 500)


def blueprint(state: State) -> Blueprint:
    bp = Blueprint("fake_twitch", __name__)

    def authorized(scope: str | None) -> tuple[dict[str, Any] | None, Response | None]:
        grant = state.grant_for_access("twitch", bearer(request))
        if grant is None:
            return None, token_error("twitch", 401, "", "Invalid OAuth token")
        if request.headers.get("Client-Id") != grant["client_id"]:
            return None, token_error("twitch", 401, "", "Client ID and OAuth token do not match")
        if scope and scope not in grant["scopes"]:
            return None, token_error("twitch", 401, "", f"Missing scope: {scope}")
        return grant, None

    @bp.get("/twitch/helix/users")
    def users() -> Response:
        grant, error = authorized(None)
        if error:
            return error
        assert grant is not None
        user = state.user_of(grant)
        return json_reply(
            {
                "data": [
                    {
                        "id": user["id"],
                        "login": user["name"].lower(),
                        "display_name": user["name"],
                        "type": "",
                        "broadcaster_type": "",
                        "description": "",
                        "profile_image_url": avatar_url("twitch", user["id"]),
                        "offline_image_url": "",
                        "created_at": "2020-01-01T00:00:00Z",
                    }
                ]
            }
        )

    @bp.post("/twitch/helix/clips")
    def create_clip() -> Response:
        if kind := state.faults.take("twitch.clip"):
            return fault_reply(kind)
        grant, error = authorized("clips:edit")
        if error:
            return error
        assert grant is not None
        broadcaster = request.args.get("broadcaster_id", "")
        if not broadcaster:
            return token_error("twitch", 400, "", 'Missing required parameter "broadcaster_id"')
        if not state.settings.twitch_live:
            return json_reply(
                {
                    "error": "Not Found",
                    "status": 404,
                    "message": "Clipping is not possible for an offline channel.",
                },
                404,
            )
        clip_id = "Fake" + new_token()[:20].replace("-", "").replace("_", "")
        user = state.user_of(grant)
        with state.lock:
            state.db["clips"][clip_id] = {
                "id": clip_id,
                "broadcaster_id": broadcaster,
                "creator": user,
                "polls": 0,
                "created_at": state.iso_now(),
            }
            state.save()
        state.record(
            platform="twitch",
            account=user["name"],
            title=f"Clip of {broadcaster}",
            text=None,
            privacy=None,
            size=0,
            content_type=None,
            remote_id=clip_id,
            remote_url=f"https://clips.twitch.tv/{clip_id}",
            file=None,
        )
        return json_reply(
            {"data": [{"id": clip_id, "edit_url": f"https://clips.twitch.tv/{clip_id}/edit"}]}, 202
        )

    @bp.get("/twitch/helix/clips")
    def get_clips() -> Response:
        _, error = authorized(None)
        if error:
            return error
        data = []
        with state.lock:
            for clip_id in request.args.getlist("id"):
                clip = state.db["clips"].get(clip_id)
                if clip is None:
                    continue
                if "twitch" not in state.faults.never_complete:
                    clip["polls"] += 1
                if clip["polls"] <= state.settings.processing_polls:
                    continue
                data.append(
                    {
                        "id": clip_id,
                        "url": f"https://clips.twitch.tv/{clip_id}",
                        "embed_url": f"https://clips.twitch.tv/embed?clip={clip_id}",
                        "broadcaster_id": clip["broadcaster_id"],
                        "creator_id": clip["creator"]["id"],
                        "creator_name": clip["creator"]["name"],
                        "title": "Clip",
                        "view_count": 0,
                        "created_at": clip["created_at"],
                        "duration": 30.0,
                        "thumbnail_url": "",
                    }
                )
            state.save()
        return json_reply({"data": data, "pagination": {}})

    return bp
