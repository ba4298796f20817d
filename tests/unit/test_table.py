"""The data layer against moto: create-only puts, conditional updates, pagination, cursors."""

from __future__ import annotations

import boto3
import pytest
from boto3.dynamodb.conditions import Attr

from truss.data import keys
from truss.data.creators import create_creator, find_creator_by_email, get_or_create_by_email
from truss.data.schema import ensure_table
from truss.data.table import AlreadyExists, BadCursor, Conflict, NotFound, Table


@pytest.fixture
def table(aws: None) -> Table:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    ensure_table(resource, "t")
    return Table(resource, "t", "secret-for-cursors")


def put_assets(table: Table, cid: str, count: int) -> list[str]:
    ids = [f"{n:04d}" for n in range(count)]
    for aid in ids:
        table.put_new({**keys.asset(cid, aid), "type": "asset", "title": aid})
    return ids


def test_table_is_created_with_gsi_and_ttl(aws: None) -> None:
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    assert ensure_table(resource, "t") is True
    assert ensure_table(resource, "t") is False
    client = resource.meta.client
    described = client.describe_table(TableName="t")["Table"]
    assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "GSI1"
    ttl = client.describe_time_to_live(TableName="t")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_create_only_put_refuses_a_duplicate(table: Table) -> None:
    item = {**keys.asset("c1", "a1"), "type": "asset", "title": "first"}
    table.put_new(item)
    with pytest.raises(AlreadyExists):
        table.put_new({**item, "title": "second"})
    assert table.get(keys.asset("c1", "a1"))["title"] == "first"


def test_conditional_update_with_a_stale_version_raises_conflict(table: Table) -> None:
    key = keys.asset("c1", "a1")
    table.put_new({**key, "type": "asset", "version": 1, "status": "uploading"})
    table.update(key, {"status": "uploaded", "version": 2}, condition=Attr("version").eq(1))
    with pytest.raises(Conflict):
        table.update(key, {"status": "failed", "version": 2}, condition=Attr("version").eq(1))
    assert table.get(key)["status"] == "uploaded"


def test_update_of_a_missing_item_is_a_conflict_not_an_upsert(table: Table) -> None:
    with pytest.raises(Conflict):
        table.update(keys.asset("c1", "missing"), {"title": "x"})
    with pytest.raises(NotFound):
        table.get(keys.asset("c1", "missing"))


def test_pagination_walks_three_pages_exactly_once(table: Table) -> None:
    ids = put_assets(table, "c1", 75)
    put_assets(table, "c2", 5)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        items, cursor = table.page("CREATOR#c1", "ASSET#", owner="c1", limit=25, cursor=cursor)
        if items:
            pages += 1
            assert len(items) == 25
        seen.extend(item["title"] for item in items)
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, each exactly once


def test_capacity_is_recorded(table: Table) -> None:
    put_assets(table, "c1", 2)
    table.page("CREATOR#c1", "ASSET#", owner="c1")
    assert table.consumed["put"] > 0
    assert table.consumed["query"] > 0


def test_a_tampered_cursor_is_refused(table: Table) -> None:
    put_assets(table, "c1", 30)
    _, cursor = table.page("CREATOR#c1", "ASSET#", owner="c1", limit=10)
    assert cursor
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    with pytest.raises(BadCursor):
        table.page("CREATOR#c1", "ASSET#", owner="c1", limit=10, cursor=tampered)
    with pytest.raises(BadCursor):
        table.page("CREATOR#c1", "ASSET#", owner="c1", limit=10, cursor="garbage")


def test_another_creators_cursor_is_refused(table: Table) -> None:
    put_assets(table, "c1", 30)
    put_assets(table, "c2", 30)
    _, cursor_of_c1 = table.page("CREATOR#c1", "ASSET#", owner="c1", limit=10)
    with pytest.raises(BadCursor):
        table.page("CREATOR#c2", "ASSET#", owner="c2", limit=10, cursor=cursor_of_c1)


def test_a_cursor_for_another_list_is_refused(table: Table) -> None:
    put_assets(table, "c1", 30)
    _, cursor = table.page("CREATOR#c1", "ASSET#", owner="c1", limit=10)
    with pytest.raises(BadCursor):
        table.page("CREATOR#c1", "CLIP#", owner="c1", limit=10, cursor=cursor)


def test_an_email_can_belong_to_one_creator_only_in_any_letter_case(table: Table) -> None:
    first = create_creator(table, "Ann@Example.com")
    with pytest.raises(AlreadyExists):
        create_creator(table, "ann@EXAMPLE.COM")
    found = find_creator_by_email(table, " ANN@example.com ")
    assert found is not None and found.id == first.id
    assert get_or_create_by_email(table, "ann@example.com").id == first.id
    profiles = list(table.query_all(keys.creator_pk(first.id), "METADATA"))
    assert len(profiles) == 1


def test_failed_email_transaction_leaves_no_orphan_profile(table: Table) -> None:
    create_creator(table, "bob@example.com")
    with pytest.raises(AlreadyExists):
        create_creator(table, "BOB@example.com")
    scan = table._client.scan(TableName="t")["Items"]
    assert len([i for i in scan if i["SK"] == "METADATA"]) == 1
