"""Keep the local stack's data on disk: moto holds everything in memory, so we export and import.

The table is written as DynamoDB-JSON items, objects as files named by the SHA-256 of their
key, with a manifest of ETags so an export only downloads what changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

ITEMS = "items.json"
MANIFEST = "objects.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _object_file(root: Path, key: str) -> Path:
    return root / "objects" / hashlib.sha256(key.encode()).hexdigest()


def export_table(dynamodb: Any, table: str, root: Path) -> int:
    """Scan the whole table (local stack only) into items.json; returns the item count."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(page.get("Items", []))
    _atomic_write(root / ITEMS, json.dumps(items))
    return len(items)


def import_table(dynamodb: Any, table: str, root: Path) -> int:
    path = root / ITEMS
    if not path.exists():
        return 0
    items = json.loads(path.read_text())
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        pending: dict[str, Any] = {table: batch}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems", {})
    return len(items)


def _list_objects(s3: Any, bucket: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["ETag"]
    return found


def _read_manifest(root: Path) -> dict[str, dict[str, str]]:
    path = root / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def export_objects(s3: Any, bucket: str, root: Path) -> int:
    """Download new or changed objects, forget deleted ones; returns how many were downloaded."""
    (root / "objects").mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(root)
    current = _list_objects(s3, bucket)
    downloaded = 0
    for key, etag in current.items():
        if manifest.get(key, {}).get("etag") == etag:
            continue
        head = s3.head_object(Bucket=bucket, Key=key)
        s3.download_file(bucket, key, str(_object_file(root, key)))
        manifest[key] = {"etag": etag, "content_type": head.get("ContentType", "")}
        downloaded += 1
    for key in set(manifest) - set(current):
        _object_file(root, key).unlink(missing_ok=True)
        del manifest[key]
    _atomic_write(root / MANIFEST, json.dumps(manifest))
    return downloaded


def import_objects(s3: Any, bucket: str, root: Path) -> int:
    manifest = _read_manifest(root)
    for key, meta in manifest.items():
        extra = {"ContentType": meta["content_type"]} if meta.get("content_type") else {}
        s3.upload_file(str(_object_file(root, key)), bucket, key, ExtraArgs=extra)
    current = _list_objects(s3, bucket)
    for key in manifest:
        manifest[key]["etag"] = current.get(key, "")
    _atomic_write(root / MANIFEST, json.dumps(manifest))
    return len(manifest)
