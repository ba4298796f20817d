"""Absolute URLs for links that leave the page (emails, OAuth redirects, share links, previews).

They are built from TRUSS_PUBLIC_URL when it is set, never from the request's Host and scheme:
behind a proxy those are the proxy's view (`http://app:8000`), and a Host header can be forged.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link: PUBLIC_URL when set (always in production), else the request's origin."""
    base = current_app.config.get("PUBLIC_URL", "")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
