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
    """Puts moto back to: the app's table and bucket (made if missing), both empty, and no
    other table, bucket or multipart upload. Its clients are made once (inside mock_aws)."""

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
        client = self.dynamodb.meta.client
        names = client.list_tables()["TableNames"]
        for name in names:
            if name != self.table_name or not _has_every_index(client, name):
                client.delete_table(TableName=name)
                names = [n for n in names if n != name]
        if self.table_name not in names:
            ensure_table(self.dynamodb, self.table_name)
            return
        table = self.dynamodb.Table(self.table_name)
        keys = _all_keys(table)
        if keys:
            with table.batch_writer() as batch:
                for key in keys:
                    batch.delete_item(Key=key)

    def _clean_buckets(self) -> None:
        names = [bucket["Name"] for bucket in self.s3.list_buckets().get("Buckets", [])]
        for name in names:
            _empty_bucket(self.s3, name)
            if name != self.bucket_name:
                self.s3.delete_bucket(Bucket=name)
        if self.bucket_name not in names:
            Storage(self.bucket_name, self.s3).ensure_bucket(REGION, ORIGINS)


def _has_every_index(client: Any, name: str) -> bool:
    indexes = client.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
    return {index["IndexName"] for index in indexes} == set(INDEXES)


def _all_keys(table: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ProjectionExpression": "PK, SK"}
    while True:
        page = table.scan(**kwargs)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _empty_bucket(client: Any, name: str) -> None:
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
