"""Flask extensions, created unbound and initialised by the app factory, and the app-bound
singletons (Redis, the table, the bucket): the only place that makes them.

The OAuth registry is per app (truss/auth/oauth.py): authlib caches clients on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from flask import current_app, g
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as RedisRetry

from truss.data import PROBE_BOTO_CONFIG, dynamodb_resource
from truss.data.table import Table
from truss.publishing.tokens import TokenService, TokenSettings
from truss.publishing.vault import Vault, VaultSettings, make_vault
from truss.storage import Storage

T = TypeVar("T")
REDIS_RETRIES = 2

htmx = HTMX()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


# --- app-bound singletons: made lazily, once per app (per process), never at import time ---


def _once(name: str, make: Callable[[], T]) -> T:
    ext = current_app.extensions
    if name not in ext:
        ext[name] = make()
    made: T = ext[name]
    return made


def get_redis() -> Redis:
    """The process's Redis client; a dropped connection or a timeout is retried twice (after
    0.1 and 0.2 s) by redis-py itself, so a hiccup doesn't lose an enqueue."""
    config = current_app.config
    return _once(
        "truss.redis",
        lambda: (
            config.get("REDIS_CONNECTION")
            or Redis.from_url(
                config["REDIS_URL"],
                socket_timeout=5,
                socket_connect_timeout=3,
                retry=RedisRetry(ExponentialBackoff(cap=1.0, base=0.1), REDIS_RETRIES),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
            )
        ),
    )


def get_dynamodb() -> Any:
    """The process's boto3 DynamoDB resource."""
    return _once("truss.dynamodb", lambda: dynamodb_resource(current_app.config["AWS_REGION"]))


def get_table() -> Table:
    """The table for this request or job; its `consumed` counter is per request."""
    if "truss_table" not in g:
        config = current_app.config
        g.truss_table = Table(get_dynamodb(), config["TRUSS_TABLE"], config["SECRET_KEY"])
    table: Table = g.truss_table
    return table


def new_table() -> Table:
    """A table on a boto3 resource of its own, new at each call: for a thread of its own
    (boto3 resources must not be shared between threads), e.g. one renewing a lease."""
    config = current_app.config
    resource = dynamodb_resource(config["AWS_REGION"])
    return Table(resource, config["TRUSS_TABLE"], config["SECRET_KEY"])


def get_probe_table() -> Table:
    """The table through its own client with PROBE_BOTO_CONFIG (same endpoint and credentials),
    made once per process: for readiness checks only."""
    config = current_app.config
    resource = _once(
        "truss.dynamodb.probe",
        lambda: boto3.resource(
            "dynamodb", region_name=config["AWS_REGION"], config=PROBE_BOTO_CONFIG
        ),
    )
    return Table(resource, config["TRUSS_TABLE"], config["SECRET_KEY"])


def _connect_storage(probe: bool = False) -> Storage:
    config = current_app.config
    return Storage.connect(
        config["TRUSS_BUCKET"],
        config["AWS_REGION"],
        path_style=config["TRUSS_ENV"] == "local",
        probe=probe,
    )


def get_storage() -> Storage:
    """The app's bucket, made lazily once per process."""
    return _once("truss.storage", _connect_storage)


def get_probe_storage() -> Storage:
    """The app's bucket through a client that gives up fast, made once per process: for
    readiness checks only (same endpoint and credentials as get_storage)."""
    return _once("truss.storage.probe", lambda: _connect_storage(probe=True))


def get_vault() -> Vault:
    """The platform tokens' vault, made once per process; VaultNotConfigured (each time it is
    asked for) when neither a KMS key nor a key file is set."""
    return _once("truss.vault", lambda: make_vault(VaultSettings.from_config(current_app.config)))


def get_token_service() -> TokenService:
    """Platform tokens for this request or job (on its table); VaultNotConfigured as above."""
    if "truss_token_service" not in g:
        g.truss_token_service = TokenService(
            get_table(), get_redis(), get_vault(), TokenSettings.from_config(current_app.config)
        )
    service: TokenService = g.truss_token_service
    return service
