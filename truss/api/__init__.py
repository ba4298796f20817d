"""The upload JSON API for static/js/upload.js: its own blueprint, "api", whose errors are
JSON (errors.py) instead of pages. The URLs stay under /assets/ (the page's script calls them)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__)

from truss.api import errors, uploads  # noqa: E402, F401  (attach the handlers and views to bp)
