"""DynamoDB access: boto3 settings and the resource factory (the app-bound table is made in
truss/extensions.py; nothing here imports Flask)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config as BotoConfig

BOTO_CONFIG = BotoConfig(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5)
# Readiness checks give up fast: a hung backend must not hold /readyz for minutes. One attempt
# in all (botocore's `max_attempts` counts retries after the first; `total_max_attempts` all).
PROBE_BOTO_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=2
)


def dynamodb_resource(region: str) -> Any:
    """boto3 reads credentials and AWS_ENDPOINT_URL(_DYNAMODB) from the environment itself."""
    return boto3.resource("dynamodb", region_name=region, config=BOTO_CONFIG)
