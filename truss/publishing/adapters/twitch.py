"""Twitch: no API uploads a video, so this adapter only makes clips of a live stream.

`POST /helix/clips?broadcaster_id=...` (scope `clips:edit`, with the app's `Client-Id`)
answers 202 with the new clip's id and edit URL; the clip exists once `GET /helix/clips?id=...`
returns it. Twitch's advice: if it hasn't after 15 seconds, assume it failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from truss.publishing.adapters.base import (
    PublishError,
    Unauthorized,
    bearer,
    json_body,
    provider_words,
    send,
    server_error,
)

PLATFORM = "Twitch"
CANNOT_UPLOAD = (
    "Clips can't be uploaded to Twitch: Twitch has no way for apps to upload videos. The "
    "Twitch connection is used for chat and for making clips while you are live."
)


@dataclass(frozen=True)
class TwitchSettings:
    api_base: str = "https://api.twitch.tv"
    client_id: str = ""
    clip_wait_s: float = 15.0
    poll_every_s: float = 1.0
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0


@dataclass(frozen=True)
class TwitchClip:
    id: str
    url: str
    edit_url: str


class TwitchAdapter:
    platform = "twitch"
    can_upload = False

    def __init__(
        self,
        settings: TwitchSettings,
        http: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings, self.clock, self.sleep = settings, clock, sleep
        self.http = http or requests.Session()
        self.timeout = (settings.connect_timeout_s, settings.read_timeout_s)

    def create_clip(self, token: str, broadcaster_id: str) -> TwitchClip:
        """Clip the last ~90 s of the broadcaster's live stream; the clip once Twitch has it."""
        url = f"{self._helix()}/clips"
        response = send(self.http, PLATFORM, "making the clip", "POST", url,
                        params={"broadcaster_id": broadcaster_id}, headers=self._headers(token),
                        timeout=self.timeout)  # fmt: skip
        if response.status_code not in (200, 202):
            raise self._error(response)
        data = json_body(response).get("data") or [{}]
        clip_id, edit_url = str(data[0].get("id", "")), str(data[0].get("edit_url", ""))
        if not clip_id:
            raise PublishError("retry", "Twitch did not start the clip.", "no-clip-id")
        return self._wait_for(token, clip_id, edit_url)

    def _wait_for(self, token: str, clip_id: str, edit_url: str) -> TwitchClip:
        deadline = self.clock() + self.settings.clip_wait_s
        while True:
            response = send(self.http, PLATFORM, "checking the clip", "GET",
                            f"{self._helix()}/clips", params={"id": clip_id},
                            headers=self._headers(token), timeout=self.timeout)  # fmt: skip
            if response.status_code != 200:
                raise self._error(response)
            found = json_body(response).get("data") or []
            if found:
                return TwitchClip(clip_id, str(found[0].get("url", "")), edit_url)
            if self.clock() >= deadline:
                raise PublishError(
                    "retry",
                    f"Twitch didn't finish the clip within {self.settings.clip_wait_s:.0f} "
                    "seconds, so it most likely failed. Try again in a moment.",
                    "clip-timeout",
                )
            self.sleep(self.settings.poll_every_s)

    def _helix(self) -> str:
        return f"{self.settings.api_base.rstrip('/')}/helix"

    def _headers(self, token: str) -> dict[str, str]:
        return {**bearer(token), "Client-Id": self.settings.client_id}

    def _error(self, response: requests.Response) -> PublishError:
        status = response.status_code
        said = provider_words(json_body(response).get("message"))
        if status == 401:
            return Unauthorized(PLATFORM)
        if status == 404:
            return PublishError(
                "content", "Twitch can only clip a live stream, and the channel isn't live.", "404"
            )
        if status == 403:
            return PublishError(
                "content", f"Twitch doesn't allow clips of this channel ({said or 'forbidden'}).",
                "403",
            )  # fmt: skip
        if status == 429 or status >= 500:
            return server_error(PLATFORM, response)
        return PublishError("content", f"Twitch refused the clip: {said or status}.", str(status))
