"""OAuth / OIDC sign-in with authlib: Google (OIDC discovery) and GitHub (OAuth 2), PKCE S256.

Each app gets its own authlib registry (tests build many apps with different providers), kept
in `app.extensions["truss.oauth"]`; a provider is registered only when its id and secret are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError

from truss.data.creators import (
    Creator,
    find_creator_by_identity,
    get_or_create_by_email,
    link_identity,
)
from truss.data.table import Table

EXTENSION = "truss.oauth"
LABELS = {"google": "Google", "github": "GitHub"}

# Everything a provider (or someone forging a callback) can make authlib raise.
PROVIDER_ERRORS: tuple[type[BaseException], ...] = (
    AuthlibBaseError,
    JoseError,
    requests.RequestException,
    ValueError,
    KeyError,
    TypeError,
)


@dataclass(frozen=True)
class Identity:
    """Who the provider says this is."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str


class SignInRefused(Exception):
    """The provider vouched for someone we must not sign in; the message says why and what next."""


def register_providers(app: Flask) -> OAuth:
    """Register the providers whose client id and secret are set."""
    registry = OAuth()
    registry.init_app(app)
    config = app.config
    if config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"):
        registry.register(
            name="google",
            client_id=config["GOOGLE_CLIENT_ID"],
            client_secret=config["GOOGLE_CLIENT_SECRET"],
            server_metadata_url=config["GOOGLE_METADATA_URL"],
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        )
    if config.get("GITHUB_CLIENT_ID") and config.get("GITHUB_CLIENT_SECRET"):
        registry.register(
            name="github",
            client_id=config["GITHUB_CLIENT_ID"],
            client_secret=config["GITHUB_CLIENT_SECRET"],
            authorize_url=config.get("GITHUB_AUTHORIZE_URL")
            or "https://github.com/login/oauth/authorize",
            access_token_url=config.get("GITHUB_TOKEN_URL")
            or "https://github.com/login/oauth/access_token",
            api_base_url=config.get("GITHUB_API_BASE") or "https://api.github.com/",
            client_kwargs={"scope": "read:user user:email", "code_challenge_method": "S256"},
        )
    app.extensions[EXTENSION] = registry
    return registry


def _registry() -> OAuth:
    registry: OAuth = current_app.extensions[EXTENSION]
    return registry


def enabled_providers() -> list[tuple[str, str]]:
    """(name, label) of every provider this app can sign in with, in a stable order."""
    registered = _registry()._registry
    return [(name, label) for name, label in LABELS.items() if name in registered]


def client(provider: str) -> Any | None:
    """The authlib client for an enabled provider, else None."""
    if provider not in dict(enabled_providers()):
        return None
    return _registry().create_client(provider)


def google_identity(token: dict[str, Any]) -> Identity:
    """From the validated id_token claims (authlib checked signature, iss, aud, exp, nonce).

    `email` is the Google account's primary address; it counts only with `email_verified`."""
    claims = token.get("userinfo") or {}
    if not claims.get("sub"):
        raise ValueError("the id_token has no subject")
    return Identity(
        provider="google",
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        email_verified=claims.get("email_verified") is True,
        name=str(claims.get("name") or ""),
    )


def _github_email(emails: list[dict[str, Any]]) -> tuple[str, bool]:
    """The account's primary address and whether GitHub verified it. Other addresses never
    count: an old or secondary address must not sign in to (or link) the account that has it."""
    primary = [e for e in emails if e.get("primary") is True and e.get("email")]
    if not primary:
        return "", False
    return str(primary[0]["email"]), primary[0].get("verified") is True


def github_identity(github: Any, token: dict[str, Any]) -> Identity:
    """GitHub has no id_token: ask its API who the token belongs to and which emails it verified."""
    user = github.get("user", token=token)
    user.raise_for_status()
    profile = user.json()
    emails = github.get("user/emails", token=token)
    emails.raise_for_status()
    email, verified = _github_email(emails.json())
    return Identity(
        provider="github",
        subject=str(profile["id"]),
        email=email,
        email_verified=verified,
        name=str(profile.get("name") or profile.get("login") or ""),
    )


def fetch_identity(provider: str, oauth_client: Any) -> Identity:
    """Finish the authorization-code flow for the current callback request."""
    token = oauth_client.authorize_access_token()
    if provider == "google":
        return google_identity(token)
    return github_identity(oauth_client, token)


def creator_for(table: Table, identity: Identity) -> Creator:
    """A linked identity signs in; else the provider's primary, verified email links the
    identity to the creator with that email (or creates one). Nothing else ever links."""
    linked = find_creator_by_identity(table, identity.provider, identity.subject)
    if linked is not None:
        return linked
    label = LABELS.get(identity.provider, identity.provider)
    if not identity.email or not identity.email_verified:
        # One answer whether or not a Truss account has this address: no account enumeration.
        raise SignInRefused(
            f"{label} didn't give us a verified email, so we can't sign you in with it. "
            f"Verify your email with {label}, or sign in with an email link."
        )
    creator = get_or_create_by_email(table, identity.email, identity.name[:60] or None)
    link_identity(table, identity.provider, identity.subject, creator.id)
    return creator
