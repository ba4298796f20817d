"""Truss: turn long videos and streams into short vertical clips."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from truss import config as settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app factory; `config` replaces the environment (tests: truss.config.test_config())."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(settings.from_environ() if config is None else config)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_context(app)
    return app


NAV_LINKS = (
    ("auth.dashboard", "Dashboard"),
    ("assets.library", "Videos"),
    ("assets.upload", "Upload"),
    ("clips.index", "Clips"),
    ("streams.index", "Streams"),
    ("connections.index", "Connections"),
    ("analytics.index", "Analytics"),
)


def register_template_context(app: Flask) -> None:
    from truss.cost_controls import register_templates

    register_templates(app)

    @app.context_processor
    def navigation() -> dict[str, Any]:
        return {"nav_links": NAV_LINKS}

    from truss.urls import external_url

    app.add_template_global(external_url)  # share links and previews: TRUSS_PUBLIC_URL


def trust_proxies(app: Flask) -> None:
    """Behind TRUSS_PROXY_HOPS reverse proxies, take the client IP and scheme from them."""
    from truss.proxy import trust_proxies as install

    install(app)


def register_extensions(app: Flask) -> None:
    from truss.analytics import recording
    from truss.auth import session
    from truss.extensions import csrf, htmx, limiter
    from truss.security import install_security_headers

    htmx.init_app(app)
    session.install(app)  # before CSRF: a signed-out request is sent to sign in, not told off
    csrf.init_app(app)
    limiter.init_app(app)
    install_security_headers(app)
    recording.register(app)  # each request's DynamoDB capacity, counted to its creator


def register_blueprints(app: Flask) -> None:
    from truss.analytics.routes import bp as analytics_bp
    from truss.api import bp as api_bp
    from truss.assets import bp as assets_bp
    from truss.auth import bp as auth_bp
    from truss.auth.oauth import register_providers
    from truss.auth.outbox import bp as outbox_bp
    from truss.captions.routes import bp as captions_bp
    from truss.clips import bp as clips_bp
    from truss.clips import share_bp
    from truss.connections import bp as connections_bp
    from truss.deletion import bp as deletion_bp
    from truss.main.routes import bp as main_bp
    from truss.portability.routes import bp as portability_bp
    from truss.publishing.routes import bp as publish_bp
    from truss.streams.routes import bp as streams_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(assets_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(clips_bp)
    app.register_blueprint(share_bp)
    app.register_blueprint(streams_bp)
    app.register_blueprint(connections_bp)
    app.register_blueprint(publish_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(captions_bp)
    app.register_blueprint(deletion_bp)
    app.register_blueprint(portability_bp)
    register_providers(app)


def register_errorhandlers(app: Flask) -> None:
    from truss.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from truss.cli import register

    register(app)
