"""The upload page, the video library and the asset page: one blueprint, "assets" (the
upload JSON API is truss.api)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("assets", __name__)

from truss.assets import routes  # noqa: E402, F401  (attach the views to bp)
