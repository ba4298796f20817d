"""S3: presigned POST/GET, head, delete, and the bucket's set-up (CORS, lifecycle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from flask import current_app


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str


class Storage:
    """One bucket. boto3 reads credentials and AWS_ENDPOINT_URL(_S3) from the environment."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def connect(cls, bucket: str, region: str, path_style: bool = False) -> Storage:
        config = BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"mode": "standard", "max_attempts": 4},
        )
        return cls(bucket, boto3.client("s3", region_name=region, config=config))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            content_type=response.get("ContentType", ""),
            etag=response.get("ETag", "").strip('"'),
        )

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def download(self, key: str, path: str) -> None:
        """Stream an object to a local file (never the whole object in memory)."""
        self.client.download_file(self.bucket, key, path)

    def upload(self, path: str, key: str, content_type: str) -> None:
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; returns how many were deleted."""
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            objects = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})
                deleted += len(objects)
        return deleted

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, expires_s: int = 900, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_s
        )
        return url

    def presigned_post(
        self, key: str, max_bytes: int, content_type: str, expires_s: int = 900
    ) -> dict[str, Any]:
        """A browser POST for exactly this key, size range and content type."""
        conditions: list[Any] = [
            {"bucket": self.bucket},
            ["eq", "$key", key],
            ["content-length-range", 1, max_bytes],
            ["eq", "$Content-Type", content_type],
        ]
        post: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=conditions,
            ExpiresIn=min(expires_s, 900),
        )
        return post

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def ensure_bucket(self, region: str, allowed_origins: list[str]) -> bool:
        """Create the bucket with CORS for the app's origins and a multipart clean-up rule."""
        created = False
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self.client.create_bucket(**kwargs)
            created = True
        self.client.put_bucket_cors(
            Bucket=self.bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": allowed_origins,
                        "AllowedMethods": ["GET", "HEAD", "POST", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "abort-incomplete-multipart-uploads",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        )
        return created


def get_storage() -> Storage:
    """The app's bucket, made lazily once per process."""
    ext = current_app.extensions
    if "truss.storage" not in ext:
        config = current_app.config
        ext["truss.storage"] = Storage.connect(
            config["TRUSS_BUCKET"], config["AWS_REGION"], path_style=config["TRUSS_ENV"] == "local"
        )
    storage: Storage = ext["truss.storage"]
    return storage
