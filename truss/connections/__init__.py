"""Connections: the creator's publishing accounts (YouTube, TikTok, Twitch, Discord) at
/connections: connect with OAuth (or paste a Discord webhook), see the account and the scopes
granted, reconnect, disconnect. The OAuth itself is truss/publishing/providers.py; the tokens are
sealed by truss/publishing/tokens.py's TokenService."""

from truss.connections.routes import bp

__all__ = ["bp"]
