"""Flask extensions, created unbound and initialised by the app factory.

The OAuth registry is per app (truss/auth/oauth.py): authlib caches clients on it.
"""

from __future__ import annotations

from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

htmx = HTMX()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
