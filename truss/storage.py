"""S3: presigned POST/GET, head, delete, and the bucket's set-up (CORS, lifecycle)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from truss.data import PROBE_BOTO_CONFIG

EXPIRING_TAG = "truss-expiring"  # objects S3 deletes after EXPIRING_DAYS (data archives)
EXPIRING_DAYS = 8
EXPIRING_TAGGING = (
    f"<Tagging><TagSet><Tag><Key>{EXPIRING_TAG}</Key><Value>yes</Value></Tag></TagSet></Tagging>"
)


class UploadGone(Exception):
    """S3 no longer knows this multipart upload (completed, or aborted after a day)."""


class ObjectChanged(Exception):
    """The object is no longer the version a read was pinned to (its ETag changed)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str
    etag: str


@dataclass(frozen=True)
class UploadedPart:
    number: int
    size: int
    etag: str


class Storage:
    """One bucket. boto3 reads credentials and AWS_ENDPOINT_URL(_S3) from the environment."""

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    @classmethod
    def connect(
        cls, bucket: str, region: str, path_style: bool = False, probe: bool = False
    ) -> Storage:
        """`probe`: a client that gives up fast (PROBE_BOTO_CONFIG), for readiness checks."""
        config = BotoConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"mode": "standard", "max_attempts": 4},
        )
        if probe:
            config = config.merge(PROBE_BOTO_CONFIG)
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

    def read_head(self, key: str, length: int) -> bytes:
        """The first `length` bytes of an object (a ranged GET: never the whole object)."""
        response = self.client.get_object(
            Bucket=self.bucket, Key=key, Range=f"bytes=0-{length - 1}"
        )
        body: bytes = response["Body"].read(length)
        return body

    def open_range(self, key: str, first: int, last: int, if_match: str = "") -> Any:
        """A stream of bytes first..last (inclusive) of an object: read(n) it, then close().
        `if_match`: only from the version with this ETag (ObjectChanged if it was replaced)."""
        extra = {"IfMatch": f'"{if_match}"'} if if_match else {}
        span = f"bytes={first}-{last}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=span, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in {"PreconditionFailed", "412"}:
                raise ObjectChanged(key) from exc
            raise
        return response["Body"]

    def open_object(self, key: str) -> Any:
        """The whole object as a stream (botocore's StreamingBody): read(n) it, then close()."""
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]

    def upload_stream(self, fileobj: Any, key: str, content_type: str) -> None:
        """Upload from a file-like read in chunks (multipart when big; memory stays bounded:
        two 8 MiB chunks in flight)."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(max_concurrency=2, multipart_chunksize=8 * 1024**2)
        self.client.upload_fileobj(
            fileobj, self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=config
        )

    def upload_part(
        self, key: str, upload_id: str, number: int, body: bytes | bytearray
    ) -> UploadedPart:
        """One part of a multipart upload this process writes itself (an export)."""
        response = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return UploadedPart(number, len(body), str(response["ETag"]))

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, json.dumps(value).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def get_bytes(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def download(self, key: str, path: str) -> None:
        """Stream an object to a local file (never the whole object in memory)."""
        self.client.download_file(self.bucket, key, path)

    def upload(self, path: str, key: str, content_type: str, expiring: bool = False) -> None:
        """`expiring`: tagged for the bucket's rule that deletes it after EXPIRING_DAYS."""
        extra = {"ContentType": content_type}
        if expiring:
            extra["Tagging"] = f"{EXPIRING_TAG}=yes"
        self.client.upload_file(path, self.bucket, key, ExtraArgs=extra)

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

    def abort_uploads_under(self, prefix: str) -> int:
        """Abort every unfinished multipart upload under a prefix (their parts are stored and
        billed, yet no listing of objects shows them); returns how many were aborted."""
        aborted = 0
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                self.abort_multipart_upload(upload["Key"], upload["UploadId"])
                aborted += 1
        return aborted

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def list_prefix(self, prefix: str, limit: int = 1000) -> list[tuple[str, int]]:
        """(key, size) of the first `limit` objects under a prefix, in key order."""
        found: list[tuple[str, int]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found += [(obj["Key"], int(obj["Size"])) for obj in page.get("Contents", [])]
            if len(found) >= limit:
                break
        return found[:limit]

    def presigned_get(self, key: str, expires_s: int = 900, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_s
        )
        return url

    def presigned_post(
        self, key: str, size: int, content_type: str, expires_s: int = 900, expiring: bool = False
    ) -> dict[str, Any]:
        """A browser POST for exactly this key, this many bytes and this content type;
        `expiring`: the object must carry the tag the bucket's expiry rule deletes it by."""
        conditions: list[Any] = [
            {"bucket": self.bucket},
            ["eq", "$key", key],
            ["content-length-range", size, size],
            ["eq", "$Content-Type", content_type],
        ]
        fields = {"Content-Type": content_type}
        if expiring:
            fields["tagging"] = EXPIRING_TAGGING
            conditions.append({"tagging": EXPIRING_TAGGING})
        post: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=min(expires_s, 900),
        )
        return post

    def create_multipart_upload(self, key: str, content_type: str, expiring: bool = False) -> str:
        """Start an S3 multipart upload for exactly this key; returns its upload id. An
        `expiring` object is tagged for the bucket's rule that deletes it after a while."""
        extra = {"Tagging": f"{EXPIRING_TAG}=yes"} if expiring else {}
        response = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type, **extra
        )
        return str(response["UploadId"])

    def presign_upload_part(
        self, key: str, upload_id: str, part_number: int, size: int, expires_s: int = 900
    ) -> str:
        """A browser PUT URL for one part of one multipart upload, signed for its exact size."""
        params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        url: str = self.client.generate_presigned_url(
            "upload_part",
            Params={**params, "PartNumber": part_number, "ContentLength": size},
            ExpiresIn=min(expires_s, 900),
        )
        return url

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        """Every part S3 holds for this upload (NoSuchUpload once completed or aborted)."""
        parts: list[UploadedPart] = []
        paginator = self.client.get_paginator("list_parts")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
                parts += [
                    UploadedPart(int(p["PartNumber"]), int(p["Size"]), p["ETag"])
                    for p in page.get("Parts", [])
                ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchUpload":
                raise UploadGone(upload_id) from exc
            raise
        return sorted(parts, key=lambda part: part.number)

    def complete_multipart_upload(
        self, key: str, upload_id: str, parts: list[UploadedPart]
    ) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": part.number, "ETag": part.etag} for part in parts]
            },
        )

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Abort an upload; one that is already gone is fine."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {"NoSuchUpload", "404"}:
                raise

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
                    },
                    {
                        "ID": "expire-tagged-objects",  # data archives: a week, plus a day
                        "Status": "Enabled",
                        "Filter": {"Tag": {"Key": EXPIRING_TAG, "Value": "yes"}},
                        "Expiration": {"Days": EXPIRING_DAYS},
                    },
                ]
            },
        )
        return created
