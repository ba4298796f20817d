"""DynamoDB access: the boto3 resource is made lazily, once per process, never at import time."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from flask import current_app, g

from truss.data.table import Table

BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5)
# Readiness checks give up fast: a hung backend must not hold /readyz for minutes. One attempt
# in all (botocore's `max_attempts` counts retries after the first; `total_max_attempts` all).
PROBE_BOTO_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2
)


def dynamodb_resource(region: str) -> Any:
    """boto3 reads credentials and AWS_ENDPOINT_URL(_DYNAMODB) from the environment itself."""
    return boto3.resource("dynamodb", region_name=region, config=BOTO_CONFIG)


def _shared_resource() -> Any:
    ext = current_app.extensions
    if "truss.dynamodb" not in ext:
        ext["truss.dynamodb"] = dynamodb_resource(current_app.config["AWS_REGION"])
    return ext["truss.dynamodb"]


def get_probe_table() -> Table:
    """The table through its own client with PROBE_BOTO_CONFIG (same endpoint and credentials),
    made once per process: for readiness checks only."""
    ext = current_app.extensions
    if "truss.dynamodb.probe" not in ext:
        region = current_app.config["AWS_REGION"]
        ext["truss.dynamodb.probe"] = boto3.resource(
            "dynamodb", region_name=region, config=PROBE_BOTO_CONFIG
        )
    config = current_app.config
    return Table(ext["truss.dynamodb.probe"], config["TRUSS_TABLE"], config["SECRET_KEY"])


def get_table() -> Table:
    """The table for this request or job; its `consumed` counter is per request."""
    if "truss_table" not in g:
        g.truss_table = Table(
            _shared_resource(), current_app.config["TRUSS_TABLE"], current_app.config["SECRET_KEY"]
        )
    table: Table = g.truss_table
    return table
