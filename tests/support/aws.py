"""The unit tests' AWS (moto, in-process): the app's table and bucket, emptied between tests."""

from __future__ import annotations

from typing import Any

import boto3

from truss.config import test_config
from truss.data.schema import INDEXES, ensure_table
from truss.storage import Storage

REGION = "us-east-1"
ORIGINS = ["http://localhost"]


class AwsSlate:
    """Puts moto back to: the app's table and bucket, both empty, and no other table, bucket or
    multipart upload. Its clients are made once (inside mock_aws)."""

    def __init__(self) -> None:
        settings = test_config()
        self.table_name: str = settings["TRUSS_TABLE"]
        self.bucket_name: str = settings["TRUSS_BUCKET"]
        self.dynamodb = boto3.resource("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)

    def clean(self) -> None:
        self._clean_tables()
        self._clean_buckets()

    def _clean_tables(self) -> None:
        """Drop every table but an empty app table with every index; make that one again if
        it is gone (a new table costs a few calls, fewer than a Scan and deletes of its items)."""
        client = self.dynamodb.meta.client
        kept = False
        for name in client.list_tables()["TableNames"]:
            if name == self.table_name and _empty_with_every_index(client, name):
                kept = True
            else:
                client.delete_table(TableName=name)
        if not kept:
            ensure_table(self.dynamodb, self.table_name)

    def _clean_buckets(self) -> None:
        names = [bucket["Name"] for bucket in self.s3.list_buckets().get("Buckets", [])]
        for name in names:
            _empty_bucket(self.s3, name)
            if name != self.bucket_name:
                self.s3.delete_bucket(Bucket=name)
        if self.bucket_name not in names:
            Storage(self.bucket_name, self.s3).ensure_bucket(REGION, ORIGINS)


def _empty_with_every_index(client: Any, name: str) -> bool:
    described = client.describe_table(TableName=name)["Table"]
    indexes = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    return described["ItemCount"] == 0 and indexes == set(INDEXES)


def _empty_bucket(client: Any, name: str) -> None:
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
