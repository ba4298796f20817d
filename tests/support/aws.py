"""The unit tests' AWS: moto in-process, started once per session; before each test every
service's state is dropped and the app's table and bucket are made again, empty.

Measured: dropping everything and making the table and bucket again (about 14 ms) is cheaper
than listing and deleting what a test left (17-20 ms for a few items), and it also clears the
services no test cleans up after itself (KMS keys, for one)."""

from __future__ import annotations

import boto3
from moto.core.base_backend import BackendDict

from truss.config import test_config
from truss.data.schema import ensure_table
from truss.storage import Storage

REGION = "us-east-1"
ORIGINS = ["http://localhost"]


class AwsSlate:
    """Puts moto back to: the app's table and bucket, both empty, and nothing else. Its
    clients are made once (inside mock_aws: they load the services' models once)."""

    def __init__(self) -> None:
        settings = test_config()
        self.table_name: str = settings["TRUSS_TABLE"]
        self.bucket_name: str = settings["TRUSS_BUCKET"]
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)

    def clean(self) -> None:
        BackendDict.reset()  # the services' state only: moto's patching of requests stays
        ensure_table(self.dynamodb, self.table_name)
        Storage(self.bucket_name, self.s3).ensure_bucket(REGION, ORIGINS)
