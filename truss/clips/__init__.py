"""Clips: the clips page, the clip page (edit, trim, download, delete, share) and the public
share page. Two blueprints: "clips" (signed in, routes.py) and "share" (public, one clip per
token, public.py); helpers.py holds what both use."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clips", __name__)
share_bp = Blueprint("share", __name__)

from truss.clips import looks, public, routes  # noqa: E402, F401  (attach the views to the blueprints)
