"""DynamoDB access: the boto3 resource is made lazily, once per process, never at import time."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from flask import current_app, g

from truss.data.table import Table

BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5)


def dynamodb_resource(region: str) -> Any:
    """boto3 reads credentials and AWS_ENDPOINT_URL(_DYNAMODB) from the environment itself."""
    return boto3.resource("dynamodb", region_name=region, config=BOTO_CONFIG)


def _shared_resource() -> Any:
    ext = current_app.extensions
    if "truss.dynamodb" not in ext:
        ext["truss.dynamodb"] = dynamodb_resource(current_app.config["AWS_REGION"])
    return ext["truss.dynamodb"]


def get_table() -> Table:
    """The table for this request or job; its `consumed` counter is per request."""
    if "truss_table" not in g:
        g.truss_table = Table(
            _shared_resource(), current_app.config["TRUSS_TABLE"], current_app.config["SECRET_KEY"]
        )
    table: Table = g.truss_table
    return table
