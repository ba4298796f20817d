"""The fake platforms' shared state: settings, clients, grants, uploads, faults, what was received.

Everything is plain JSON-able dicts under one lock, saved to `<data_dir>/state.json` after each
change, so a fake restarted with the same data dir still knows the tokens it issued (Truss keeps
them across a restart of `make run`). Uploaded bytes live in `<data_dir>/files/`, never in memory.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PLATFORMS = ("google", "tiktok", "twitch", "discord")
MIB = 1024 * 1024

# What a test can make the next call of a route do (see FakePlatforms.fail_next).
FAULT_KINDS = ("unauthorized", "quota", "server_error", "rate_limited")
# The routes that take fail_next faults: "<platform>.token" for the four OAuth token endpoints, and
ROUTES = (
    "youtube.insert",  # POST /upload/youtube/v3/videos (start a resumable session)
    "youtube.upload",  # PUT  to the session URI
    "youtube.status",  # GET  /youtube/v3/videos
    "tiktok.creator_info",
    "tiktok.init",
    "tiktok.upload",
    "tiktok.status",
    "discord.execute",
    "twitch.clip",
    "youtube.analytics",  # GET  /youtube-analytics/v2/reports (statistics)
    "tiktok.video_query",  # POST /tiktok/v2/video/query/ (statistics)
)


def _default_clients() -> dict[str, tuple[str, str]]:
    return {p: (f"fake-{p}-client", f"fake-{p}-secret") for p in PLATFORMS}


@dataclass
class FakeSettings:
    """How the fakes behave. The defaults are the real providers' documented values."""

    clients: dict[str, tuple[str, str]] = field(default_factory=_default_clients)
    # access token lifetimes in seconds (Google ~1 h, TikTok 24 h, Twitch ~4 h, Discord 7 days)
    access_ttl_s: dict[str, int] = field(
        default_factory=lambda: {
            "google": 3599,
            "tiktok": 86400,
            "twitch": 14400,
            "discord": 604800,
        }
    )
    rotating_refresh: frozenset[str] = frozenset({"tiktok"})  # the old refresh token dies
    processing_polls: int = 1  # status polls that still answer "processing" after an upload
    youtube_audited: bool = False  # unaudited projects' uploads are locked private
    youtube_quota_per_day: int = 10_000
    youtube_upload_cost: int = 1600
    youtube_chunk_granularity: int = 256 * 1024  # a non-final chunk is kept in whole multiples
    tiktok_audited: bool = False  # unaudited clients may only post SELF_ONLY
    tiktok_min_chunk: int = 5 * MIB
    tiktok_max_chunk: int = 64 * MIB
    tiktok_max_duration_s: int = 600
    discord_max_upload: int = 10 * MIB
    twitch_live: bool = True  # Create Clip needs a live broadcast

    def ttl(self, platform: str) -> int:
        return self.access_ttl_s.get(platform, 3600)


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


def digits(n: int = 18) -> str:
    return str(secrets.randbelow(10 ** (n - 1) * 9) + 10 ** (n - 1))


def stable_id(*parts: str, n: int = 18) -> str:
    """The same account name always gets the same id (so reconnecting is the same account)."""
    value = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    return str(value % (10 ** (n - 1) * 9) + 10 ** (n - 1))


def empty_db() -> dict[str, Any]:
    return {
        "users": {},  # "<platform>:<id>" -> {id, name, platform}
        "codes": {},  # code -> pending grant
        "grants": {},  # grant id -> {platform, client_id, user_id, scopes, access_token, ...}
        "access": {},  # access token -> {grant, expires}
        "refresh": {},  # refresh token -> grant id
        "webhooks": {},  # discord webhook id -> {id, token, name, channel_id, guild_id, ...}
        "sessions": {},  # youtube upload session id -> session
        "videos": {},  # youtube video id -> video
        "publishes": {},  # tiktok publish id -> publish
        "clips": {},  # twitch clip id -> clip
        "received": [],  # what the fakes received, oldest first
        "quota": {},  # "<google user id>:<yyyy-mm-dd>" -> units used
    }


class Faults:
    """Faults a test arms; each is used up by the request it hits (one-shot) unless noted."""

    def __init__(self) -> None:
        self.next: dict[str, deque[str]] = {}
        self.drop_at: dict[str, float] = {}  # platform -> fraction of the file
        self.never_complete: set[str] = set()  # platform: processing never ends (until cleared)
        self.fail_processing: dict[str, str] = {}  # platform -> reason, for the next upload

    def take(self, route: str) -> str | None:
        queue = self.next.get(route)
        return queue.popleft() if queue else None

    def describe(self) -> dict[str, Any]:
        return {
            "fail_next": {route: list(kinds) for route, kinds in self.next.items() if kinds},
            "drop_upload": dict(self.drop_at),
            "never_complete": sorted(self.never_complete),
            "fail_processing": dict(self.fail_processing),
        }


class State:
    """Everything the fakes know, behind one lock."""

    def __init__(self, settings: FakeSettings, data_dir: Path) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.files = data_dir / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.faults = Faults()
        self.clock_offset = 0.0
        self.db = empty_db()
        saved = data_dir / "state.json"
        if saved.exists():
            self.db.update(json.loads(saved.read_text()))

    def now(self) -> float:
        return time.time() + self.clock_offset

    def iso_now(self) -> str:
        return (
            datetime.fromtimestamp(self.now(), UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )

    def save(self) -> None:
        with self.lock:
            tmp = self.data_dir / "state.json.tmp"
            tmp.write_text(json.dumps(self.db))
            tmp.replace(self.data_dir / "state.json")

    # --- accounts and grants ---------------------------------------------------------------

    def user(self, platform: str, name: str) -> dict[str, Any]:
        uid = stable_id(platform, name)
        with self.lock:
            return self.db["users"].setdefault(
                f"{platform}:{uid}", {"id": uid, "name": name, "platform": platform}
            )

    def user_of(self, grant: dict[str, Any]) -> dict[str, Any]:
        return dict(self.db["users"][f"{grant['platform']}:{grant['user_id']}"])

    def grant_for_access(self, platform: str, token: str | None) -> dict[str, Any] | None:
        """The live grant behind an access token (None when unknown, revoked or expired)."""
        if not token:
            return None
        with self.lock:
            issued = self.db["access"].get(token)
            if issued is None or issued["expires"] <= self.now():
                return None
            grant = self.db["grants"].get(issued["grant"])
            if grant is None or grant["platform"] != platform:
                return None
            return dict(grant)

    def issue_access(self, grant: dict[str, Any]) -> None:
        """A new access token for a grant (earlier ones stay valid until they expire, as at
        the real providers)."""
        with self.lock:
            token = new_token(f"fake-{grant['platform']}-at-")
            expires = self.now() + self.settings.ttl(grant["platform"])
            grant["access_token"], grant["access_expires"] = token, expires
            self.db["access"][token] = {"grant": grant["id"], "expires": expires}

    def revoke_grant(self, grant_id: str) -> None:
        """Revocation ends the grant: its refresh token and every access token stop working."""
        with self.lock:
            grant = self.db["grants"].pop(grant_id, None)
            if grant:
                self.db["refresh"].pop(grant.get("refresh_token") or "", None)
            for token in [t for t, a in self.db["access"].items() if a["grant"] == grant_id]:
                del self.db["access"][token]
            self.save()

    def expire_access(self, platform: str | None = None) -> None:
        with self.lock:
            for issued in self.db["access"].values():
                grant = self.db["grants"].get(issued["grant"])
                if grant and platform in (None, grant["platform"]):
                    issued["expires"] = self.now() - 1
            self.save()

    def grant_id_for_token(self, platform: str, token: str) -> str | None:
        with self.lock:
            issued = self.db["access"].get(token)
            gid = issued["grant"] if issued else self.db["refresh"].get(token)
            grant = self.db["grants"].get(gid or "")
            return gid if grant and grant["platform"] == platform else None

    # --- what was received -----------------------------------------------------------------

    def file_path(self, name: str) -> Path:
        return self.files / name

    def record(self, **entry: Any) -> dict[str, Any]:
        """Remember a post (video bytes stay in entry['file'] under the data dir)."""
        with self.lock:
            entry.setdefault("id", f"r{len(self.db['received']) + 1}")
            entry.setdefault("received_at", self.iso_now())
            self.db["received"].append(entry)
            self.save()
            return entry

    def youtube_quota_take(self, user_id: str, cost: int) -> bool:
        """Charge `cost` units of today's (Pacific day, approximated as UTC-8) quota."""
        day = datetime.fromtimestamp(self.now() - 8 * 3600, UTC).strftime("%Y-%m-%d")
        key = f"{user_id}:{day}"
        with self.lock:
            used = self.db["quota"].get(key, 0)
            if used + cost > self.settings.youtube_quota_per_day:
                return False
            self.db["quota"][key] = used + cost
            return True
