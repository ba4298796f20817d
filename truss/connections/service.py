"""What the connection routes do, without Flask's request: finish an OAuth callback, connect a
pasted Discord webhook, disconnect (revoke at the provider, then delete)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truss.data import platform_tokens
from truss.data.platform_tokens import PlatformToken
from truss.data.table import Table
from truss.publishing import providers
from truss.publishing.tokens import TokenService
from truss.publishing.vault import VaultError

log = logging.getLogger(__name__)

DENIED = {"access_denied", "user_denied", "consent_required"}


class ConnectFailed(Exception):
    """The connection didn't happen; the message says why in words and what to do."""


@dataclass(frozen=True)
class Disconnected:
    platform: str
    revoked: bool  # False: the provider couldn't be asked or said no
    pasted_webhook: bool = False  # a webhook pasted by hand: nothing to revoke, it lives on


def callback_problem(label: str, args: Mapping[str, str]) -> str | None:
    """What the provider's redirect says went wrong (a denied consent, an error), in words."""
    error = args.get("error") or args.get("error_code") or ""
    if not error:
        return None if args.get("code") else f"{label} sent no authorization code. Try again."
    if error in DENIED:
        return f"You didn't allow Truss access on the {label} page, so nothing was connected."
    words = (args.get("error_description") or args.get("error_message") or "")[:200]
    said = f"{words} (code {error})" if words else f"code {error}"
    return f"{label} didn't connect the account: {said}. Try again."


def finish_connect(
    service: TokenService,
    config: Mapping[str, Any],
    cid: str,
    platform: str,
    code: str,
    redirect_uri: str,
    code_verifier: str = "",
) -> PlatformToken:
    """Trade the code, ask who the account is, seal and store the tokens."""
    try:
        tokens = providers.exchange(platform, config, code, redirect_uri, code_verifier)
        account = providers.fetch_account(platform, config, tokens)
    except providers.ProviderError as exc:
        log.info("connect %s for %s failed: %s", platform, cid, exc.code)
        raise ConnectFailed(str(exc)) from None
    return service.connect(cid, account, tokens)


def connect_webhook(
    service: TokenService, config: Mapping[str, Any], cid: str, url: str
) -> PlatformToken:
    """Check a pasted Discord webhook with Discord, then store it like a connection."""
    try:
        account = providers.validate_webhook(config, url)
    except providers.ProviderError as exc:
        raise ConnectFailed(str(exc)) from None
    return service.connect(cid, account, providers.webhook_tokens(config, url))


def disconnect(
    service: TokenService | None, table: Table, config: Mapping[str, Any], record: PlatformToken
) -> Disconnected:
    """Revoke the grant at the provider (where it has an endpoint), then delete the item
    whatever the provider said. Without a token service (no vault) nothing can be revoked."""
    cid, platform = record.creator_id, record.platform
    revoked, pasted = False, False
    if service is not None:
        try:
            tokens = service.tokens_of(record)
        except VaultError:  # the key is gone: nothing to revoke with
            log.warning("disconnect %s for %s: the sealed tokens didn't open", platform, cid)
        else:
            pasted = tokens.extras.get("pasted") == "1"
            revoked = providers.revoke(platform, config, tokens)
    platform_tokens.delete(table, cid, platform)
    return Disconnected(platform, revoked, pasted)
