"""Clips: the clips page, the clip page (edit, trim, download, delete, share) and the public
share page. Two blueprints: "clips" (signed in) and "share" (public, one clip per token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clips", __name__)
share_bp = Blueprint("share", __name__)

from truss.clips import editing, public, rendering, routes, sharing  # noqa: E402, F401
