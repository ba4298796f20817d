"""Platform tokens for jobs: connect, read, refresh under a lock, re-seal under a new key.

`TokenService.access_token` is what an adapter's job calls before talking to a platform. A
token that expires within the refresh margin, or that the platform just refused with a 401
(`force=True`), is refreshed by the `refresh` callable the caller passes (the OAuth client owns
the HTTP), under a Redis lock per (creator, platform): a second worker waits, reads the item
again and uses the token the first one stored. A rotated refresh token (TikTok) is written back
with a conditional update; a refresh the provider refuses marks the connection
`needs_reconnect` and raises `NeedsReconnect`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import LockError

from truss.data import platform_tokens as store
from truss.data.platform_tokens import Account, PlatformToken
from truss.data.table import Table
from truss.publishing.vault import Vault

log = logging.getLogger(__name__)

LOCK_PREFIX = "truss:token-refresh:"
RESEAL_TRIES = 3


class TokenError(Exception):
    """Base of the token service's errors; messages never carry a token."""


class NotConnected(TokenError):
    """The creator has not connected this platform (or disconnected it)."""


class NeedsReconnect(TokenError):
    """The platform no longer accepts the stored tokens: the creator must reconnect."""


class RefreshBusy(TokenError):
    """Another worker held the refresh lock for longer than we wait: retry the job later."""


class RefreshRefused(Exception):
    """Raised by a refresher when the provider refuses the refresh token (`invalid_grant`,
    revoked): the connection is dead until the creator reconnects."""


@dataclass(frozen=True, repr=False)
class TokenSet:
    """A platform's tokens, as sealed in the item. `extras` holds platform specifics such as
    Discord's webhook url. `repr` shows no secret."""

    access_token: str
    refresh_token: str = ""
    expires_at: int | None = None  # epoch seconds; None: does not expire
    token_type: str = "Bearer"
    extras: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"TokenSet(expires_at={self.expires_at!r}, refresh={bool(self.refresh_token)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "token_type": self.token_type,
            "extras": dict(self.extras),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        expires = data.get("expires_at")
        return cls(
            access_token=str(data.get("access_token", "")),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_at=int(expires) if expires is not None else None,
            token_type=str(data.get("token_type") or "Bearer"),
            extras={str(k): str(v) for k, v in (data.get("extras") or {}).items()},
        )

    def after_refresh(self, new: TokenSet) -> TokenSet:
        """The refreshed set: providers that don't rotate send no new refresh token, so the
        old one stays; extras the refresh doesn't repeat stay too."""
        return TokenSet(
            access_token=new.access_token,
            refresh_token=new.refresh_token or self.refresh_token,
            expires_at=new.expires_at,
            token_type=new.token_type,
            extras={**self.extras, **new.extras},
        )


Refresher = Callable[[TokenSet], TokenSet]


@dataclass(frozen=True)
class TokenSettings:
    refresh_margin_s: float = 300.0  # refresh when the access token expires within this
    lock_timeout_s: float = 30.0  # the lock lapses after this (a killed worker can't wedge it)
    lock_wait_s: float = 45.0  # how long a second worker waits for the first one's refresh

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TokenSettings:
        return cls(
            refresh_margin_s=float(config.get("TOKEN_REFRESH_MARGIN_S", 300.0)),
            lock_timeout_s=float(config.get("TOKEN_LOCK_TIMEOUT_S", 30.0)),
            lock_wait_s=float(config.get("TOKEN_LOCK_WAIT_S", 45.0)),
        )


class TokenService:
    """Platform tokens for one table, Redis and vault."""

    def __init__(
        self,
        table: Table,
        redis: Redis,
        vault: Vault,
        settings: TokenSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.redis = redis
        self.vault = vault
        self.settings = settings or TokenSettings()
        self.clock = clock

    def connect(self, cid: str, account: Account, tokens: TokenSet) -> PlatformToken:
        """Seal and store a new (or renewed) connection."""
        envelope = self.vault.seal_json(tokens.to_dict(), store.item_context(cid, account.platform))
        return store.save(self.table, cid, account, envelope, tokens.expires_at, int(self.clock()))

    def tokens(self, cid: str, platform: str) -> TokenSet:
        """The stored tokens as they are (e.g. Discord's webhook url, or to revoke them)."""
        return self._read(cid, platform)[1]

    def tokens_of(self, record: PlatformToken) -> TokenSet:
        """The tokens sealed in `record`, whatever its status (to revoke them on disconnect,
        even when the connection needs reconnecting)."""
        return self._open(record)

    def access_token(
        self,
        cid: str,
        platform: str,
        refresh: Refresher,
        force: bool = False,
        rejected: str | None = None,
    ) -> str:
        """A usable access token. With `force` (the platform answered 401 to `rejected`, if
        given), refresh unless another worker already did since."""
        first, tokens = self._read(cid, platform)
        if not force and self._fresh(tokens):
            return tokens.access_token
        with self._lock(cid, platform):
            record, tokens = self._read(cid, platform)
            if self._done_meanwhile(first, record, tokens, force, rejected):
                return tokens.access_token
            return self._refresh(record, tokens, refresh)

    def _done_meanwhile(
        self,
        first: PlatformToken,
        record: PlatformToken,
        tokens: TokenSet,
        force: bool,
        rejected: str | None,
    ) -> bool:
        if not force:
            return self._fresh(tokens)
        if rejected is not None:
            return tokens.access_token != rejected
        return record.version != first.version

    def _fresh(self, tokens: TokenSet) -> bool:
        if tokens.expires_at is None:
            return True
        return tokens.expires_at - self.settings.refresh_margin_s > self.clock()

    def _refresh(self, record: PlatformToken, tokens: TokenSet, refresh: Refresher) -> str:
        cid, platform = record.creator_id, record.platform
        if not tokens.refresh_token:
            return self._refused(record, "the platform refused the token and it can't be renewed")
        try:
            new = tokens.after_refresh(refresh(tokens))
        except RefreshRefused:
            return self._refused(record, "the platform refused to renew the token")
        envelope = self.vault.seal_json(new.to_dict(), store.item_context(cid, platform))
        stored = store.replace_tokens_if_version(
            self.table, cid, platform, record.version, envelope, new.expires_at
        )
        if not stored:  # reconnected or disconnected meanwhile: this token still works now
            log.warning("refreshed %s token of %s was not stored: the item changed", platform, cid)
        return new.access_token

    def _refused(self, record: PlatformToken, reason: str) -> str:
        """Mark the connection needs_reconnect and raise NeedsReconnect, unless the item changed
        since it was read (a worker whose lock lapsed refreshed it, or the creator reconnected):
        then the refusal was of a superseded token, and the stored one is used."""
        cid, platform = record.creator_id, record.platform
        if store.mark_needs_reconnect(self.table, cid, platform, record.version, reason):
            raise NeedsReconnect(f"{platform}: {reason}; reconnect the account")
        return self._read(cid, platform)[1].access_token

    def _read(self, cid: str, platform: str) -> tuple[PlatformToken, TokenSet]:
        record = store.get(self.table, cid, platform)
        if record is None:
            raise NotConnected(f"{platform} is not connected")
        if record.status == store.NEEDS_RECONNECT:
            raise NeedsReconnect(f"{platform}: {record.reconnect_reason or 'reconnect needed'}")
        return record, self._open(record)

    def _open(self, record: PlatformToken) -> TokenSet:
        context = store.item_context(record.creator_id, record.platform)
        return TokenSet.from_dict(self.vault.open_json(record.envelope, context))

    @contextmanager
    def _lock(self, cid: str, platform: str) -> Iterator[None]:
        lock = self.redis.lock(
            f"{LOCK_PREFIX}{cid}:{platform}",
            timeout=self.settings.lock_timeout_s,
            blocking_timeout=self.settings.lock_wait_s,
        )
        if not lock.acquire():
            raise RefreshBusy(f"another worker is refreshing the {platform} token")
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:  # it lapsed while we worked; the conditional write still held
                log.warning("token lock for %s of %s lapsed before release", platform, cid)

    def reseal_all(self) -> int:
        """Re-seal every platform token under the vault's current key (after `Vault.rotate`);
        each under its refresh lock and a conditional write, so a refresh running meanwhile
        is never lost. One paginated Scan of the table. Returns how many."""
        count = 0
        for record in store.scan_all(self.table):
            with self._lock(record.creator_id, record.platform):
                count += self._reseal(record.creator_id, record.platform)
        return count

    def _reseal(self, cid: str, platform: str) -> int:
        for _ in range(RESEAL_TRIES):
            record = store.get(self.table, cid, platform)
            if record is None:
                return 0  # disconnected meanwhile
            sealed = self.vault.seal_json(
                self._open(record).to_dict(), store.item_context(cid, platform)
            )
            if store.replace_tokens_if_version(
                self.table, cid, platform, record.version, sealed, record.access_expires_at
            ):
                return 1
        raise TokenError(f"the {platform} token of {cid} kept changing while being re-sealed")
