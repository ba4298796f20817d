"""The table (PK/SK, GSI1, GSI2, TTL on expires_at, on-demand): create it, bring an older one
up to date, and backfill the attributes a newer index needs.

`ensure_table` creates a missing table with every index, and adds (UpdateTable) any index an
existing table lacks: DynamoDB fills a new index from the items that already carry its key
attributes. Items written before GSI2 existed don't carry them; `backfill` sets them (a one-off
Scan, run by `truss init` and at every start of the local stack; idempotent) and records the
schema version in a marker item (`keys.schema_marker()`), so later runs skip the Scan unless
forced (`truss init --force`, after the old release's processes are gone). The same Scan
rewrites the source of clips written before issue 12 (`analyzer` → `signals` or `gemini`, by the
analyzer its video's last analysis used; `creator` → `manual`; none → `signals`); until then
they read as the new values (truss.data.clips.read_source).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from truss.data import clips, keys
from truss.data.assets import ASSET_TYPE
from truss.data.clips import CLIP_TYPE

INDEXES: dict[str, tuple[str, str]] = {
    "GSI1": ("GSI1PK", "GSI1SK"),  # assets by status, clips by score
    keys.GSI2: ("GSI2PK", "GSI2SK"),  # the library; one asset's clips
}


def _index(name: str) -> dict[str, Any]:
    pk, sk = INDEXES[name]
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": sk, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _attributes(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def ensure_table(resource: Any, name: str, wait_s: float = 1800.0) -> bool:
    """Create the table and switch on TTL (True), or add the indexes it lacks (False)."""
    return setup_table(resource, name, wait_s)[0]


def setup_table(resource: Any, name: str, wait_s: float = 1800.0) -> tuple[bool, list[str]]:
    """(created now, names of the indexes added to an existing table)."""
    client = resource.meta.client
    try:
        described = client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    else:
        return False, add_missing_indexes(client, name, described, wait_s)
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=_attributes("PK", "SK", *(a for key in INDEXES.values() for a in key)),
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[_index(index) for index in INDEXES],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    return True, []


def add_missing_indexes(
    client: Any, name: str, described: dict[str, Any] | None = None, wait_s: float = 1800.0
) -> list[str]:
    """UpdateTable for each index the table lacks (one per call, as DynamoDB requires),
    and waiting until every index is ACTIVE (also one a previous run left CREATING, e.g. an
    interrupted `truss init`); the names of the indexes added."""
    described = described or client.describe_table(TableName=name)["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    added = []
    for index in INDEXES:
        if index not in present:
            client.update_table(
                TableName=name,
                AttributeDefinitions=_attributes(*INDEXES[index]),
                GlobalSecondaryIndexUpdates=[{"Create": _index(index)}],
            )
            added.append(index)
        _wait_until_active(client, name, index, wait_s)
    return added


WAIT_POLL_S = 5.0
sleep: Callable[[float], None] = time.sleep  # tests record the waits


def _wait_until_active(client: Any, name: str, index: str, wait_s: float) -> None:
    """Until the table and `index` are ACTIVE (new indexes backfill for minutes to hours)."""
    deadline = time.monotonic() + wait_s
    while True:
        table = client.describe_table(TableName=name)["Table"]
        status = {
            i["IndexName"]: i.get("IndexStatus") for i in table.get("GlobalSecondaryIndexes", [])
        }
        if status.get(index) == "ACTIVE" and table.get("TableStatus") == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {index} of {name} is still {status.get(index)}")
        sleep(WAIT_POLL_S)


def _gsi2_attributes(item: dict[str, Any]) -> dict[str, str] | None:
    """What GSI2 needs on an item written before it existed (None: nothing to add)."""
    cid = keys.creator_id_from_pk(item["PK"])
    if item.get("type") == ASSET_TYPE:
        return keys.library_index(cid, keys.asset_id_from_sk(item["SK"]))
    if item.get("type") == CLIP_TYPE and item.get("asset_id"):
        return keys.asset_clips_index(cid, item["asset_id"], keys.clip_id_from_sk(item["SK"]))
    return None


SCHEMA_VERSION = 3  # 2: asset and clip items carry the GSI2 attributes; 3: clip sources
SCHEMA_TYPE = "schema"


def backfilled_version(table: Any) -> int:
    """The schema version whose backfill last finished on this table (0: none recorded)."""
    item = table.get_item(Key=keys.schema_marker(), ConsistentRead=True).get("Item") or {}
    return int(item.get("version", 0))


def backfill(
    resource: Any, name: str, progress: Callable[[int], None] | None = None, force: bool = False
) -> int | None:
    """Set the GSI2 attributes on every asset and clip item that lacks them (one Scan; safe
    to run again: items that have them are skipped, deleted ones are not recreated), then
    record SCHEMA_VERSION in the schema marker item. None (nothing read) when a finished
    backfill of this version is recorded, unless `force`: processes of an older release
    still running during an upgrade write items without the attributes."""
    table = resource.Table(name)
    if not force and backfilled_version(table) >= SCHEMA_VERSION:
        return None
    updated = _scan_and_set(table, progress)
    record_backfill(table, updated)
    return updated


def record_backfill(table: Any, updated: int = 0) -> None:
    """Write the schema marker: this version's backfill has finished (or, for a table just
    created, has nothing to do)."""
    table.put_item(
        Item={
            **keys.schema_marker(),
            "type": SCHEMA_TYPE,
            "version": SCHEMA_VERSION,
            "backfilled_at": int(time.time()),
            "items_updated": updated,
        }
    )


def _old_source() -> Any:
    old = [value for value in clips.LEGACY_SOURCES if value]
    return Attr("type").eq(CLIP_TYPE) & (Attr("source").not_exists() | Attr("source").is_in(old))


def _scan_and_set(table: Any, progress: Callable[[int], None] | None) -> int:
    lacking = Attr("GSI2PK").not_exists() & Attr("type").is_in([ASSET_TYPE, CLIP_TYPE])
    kwargs: dict[str, Any] = {
        "FilterExpression": lacking | _old_source(),
        "ProjectionExpression": "PK, SK, GSI2PK, #type, asset_id, #source",
        "ExpressionAttributeNames": {"#type": "type", "#source": "source"},
    }
    updated = 0
    analyzers: dict[tuple[str, str], str] = {}  # (PK, asset id) -> the analyzer it last used
    while True:
        response = table.scan(**kwargs)
        for item in response.get("Items", []):
            gsi2 = "GSI2PK" not in item and _set_missing(table, item)
            updated += bool(gsi2) | _set_source(table, item, analyzers)
        if progress:
            progress(updated)
        if "LastEvaluatedKey" not in response:
            return updated
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _set_source(table: Any, item: dict[str, Any], analyzers: dict[tuple[str, str], str]) -> bool:
    """Today's source on a clip written before issue 12 (False: nothing to do)."""
    if item.get("type") != CLIP_TYPE:
        return False
    old = str(item.get("source", ""))
    new = clips.read_source(old)
    if new == old:
        return False
    if old in {"", "analyzer"}:
        new = clips.analyzer_source(_analyzer_of(table, item, analyzers))
    condition = Attr("source").not_exists() if not old else Attr("source").eq(old)
    try:
        table.update_item(
            Key={"PK": item["PK"], "SK": item["SK"]},
            UpdateExpression="SET #source = :new",
            ConditionExpression=Attr("PK").exists() & condition,
            ExpressionAttributeNames={"#source": "source"},
            ExpressionAttributeValues={":new": new},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False  # deleted or rewritten meanwhile
        raise
    return True


def _analyzer_of(table: Any, item: dict[str, Any], analyzers: dict[tuple[str, str], str]) -> str:
    """The analyzer the clip's video last used (one read per video, remembered)."""
    found = (item["PK"], str(item.get("asset_id", "")))
    if found not in analyzers:
        cid = keys.creator_id_from_pk(item["PK"])
        names = {"#analyzer": "analyzer"}
        read = table.get_item(
            Key=keys.asset(cid, found[1]),
            ProjectionExpression="#analyzer",
            ExpressionAttributeNames=names,
        )
        analyzers[found] = str(read.get("Item", {}).get("analyzer", ""))
    return analyzers[found]


def _set_missing(table: Any, item: dict[str, Any]) -> int:
    changes = _gsi2_attributes(item)
    if not changes:
        return 0
    try:
        table.update_item(
            Key={"PK": item["PK"], "SK": item["SK"]},
            UpdateExpression="SET GSI2PK = :pk, GSI2SK = :sk",
            ConditionExpression="attribute_exists(PK) AND attribute_not_exists(GSI2PK)",
            ExpressionAttributeValues={":pk": changes["GSI2PK"], ":sk": changes["GSI2SK"]},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return 0  # deleted or filled in meanwhile
        raise
    return 1
