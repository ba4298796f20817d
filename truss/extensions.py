"""Flask extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

htmx = HTMX()
csrf = CSRFProtect()
oauth = OAuth()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
