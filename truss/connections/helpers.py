"""What the connection views share: the get-or-404 helper and the cards the page shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truss.auth.session import current_creator
from truss.data import platform_tokens
from truss.data.platform_tokens import PlatformToken
from truss.data.table import NotFound
from truss.extensions import get_table, get_vault
from truss.publishing import providers
from truss.publishing.vault import VaultNotConfigured

VAULT_MISSING = (
    "Publishing is unavailable on this server: platform tokens are stored encrypted and no "
    "master key is set up. The operator sets TRUSS_TOKEN_KMS_KEY_ID (AWS KMS) or "
    "TRUSS_TOKEN_KEY_FILE (a key file), then restarts Truss."
)


def known_platform(platform: str) -> providers.Spec:
    """The platform's facts; NotFound (→ 404) for anything else."""
    spec = providers.SPECS.get(platform)
    if spec is None:
        raise NotFound(f"no platform {platform!r}")
    return spec


def own_connection(platform: str) -> PlatformToken:
    """The signed-in creator's connection to `platform` (NotFound → 404 when there is none)."""
    known_platform(platform)
    record = platform_tokens.get(get_table(), current_creator().id, platform)
    if record is None:
        raise NotFound(f"{platform} is not connected")
    return record


def vault_problem() -> str:
    """Why publishing is unavailable ("" when the vault is set up)."""
    try:
        get_vault()
    except VaultNotConfigured:
        return VAULT_MISSING
    return ""


def label(platform: str, config: Mapping[str, Any]) -> str:
    """ "YouTube", or "YouTube (local)" when it talks to the local fakes."""
    name = providers.spec(platform).label
    return f"{name} (local)" if providers.is_local(platform, config) else name


@dataclass(frozen=True)
class Card:
    platform: str
    label: str
    configured: bool  # its OAuth client is set up here
    record: PlatformToken | None
    note: str
    settings: tuple[str, ...]  # what the operator sets (names only)
    local: bool = False  # talks to the local fake platforms

    @property
    def needs_reconnect(self) -> bool:
        return self.record is not None and self.record.status == platform_tokens.NEEDS_RECONNECT

    @property
    def pasted_webhook(self) -> bool:
        return self.platform == "discord"  # Discord also takes a pasted webhook URL

    @property
    def scopes(self) -> str:
        """The scopes granted, Google's URL scopes by their last part (youtube.upload)."""
        if not self.record:
            return ""
        return ", ".join(scope.rsplit("/", 1)[-1] for scope in self.record.scopes)


def cards(config: Mapping[str, Any], records: list[PlatformToken]) -> list[Card]:
    by_platform = {r.platform: r for r in records}
    return [
        Card(
            platform=p,
            label=label(p, config),
            configured=providers.configured(p, config),
            record=by_platform.get(p),
            note=providers.spec(p).note,
            settings=providers.setting_names(p),
            local=providers.is_local(p, config),
        )
        for p in providers.PLATFORMS
    ]
