"""Reads that don't grow with a creator's other clips (issue 10 item 4), and status polls for
another creator's ids (item 13): counted with the table's per-request counters."""

from __future__ import annotations

import re
from typing import Any, cast

import boto3
import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from tests.support.assets import csrf_headers, make_asset
from tests.support.clips import make_clip, ready_asset
from truss.analysis.base import Chapter, Moment
from truss.data import assets, clips, keys
from truss.data.table import Table, dynamo_value
from truss.extensions import get_storage, get_table
from truss.services.chapters import save_chapters

HX = {"HX-Request": "true"}
OTHER_CLIPS = 5000

Reads = tuple[dict[str, int], dict[str, int]]  # (calls, items read) per operation


def record_reads(app: Flask) -> list[Reads]:
    """After each request: the DynamoDB calls it made and the items those calls read."""
    seen: list[Reads] = []

    @app.after_request
    def count(response: Any) -> Any:
        table = g.get("truss_table")
        if table is None:
            seen.append(({}, {}))
        else:
            reads = {op: n for op, n in table.items_read.items() if n}
            seen.append((dict(table.calls), reads))
        return response

    return seen


def reads_of(
    client: FlaskClient, seen: list[Reads], path: str, headers: Any = None, form: Any = None
) -> Reads:
    """What one GET (or, given a form, one POST) of `path` read, once the caches are warm."""

    def once() -> Any:
        if form is None:
            return client.get(path, headers=headers or {})
        return client.post(path, data=form, headers=headers or {})

    once()  # warms the profile cache
    seen.clear()
    response = once()
    assert response.status_code in {200, 286}, (path, response.status_code)
    return seen[-1]


def poll_headers(client: FlaskClient) -> dict[str, str]:
    """What the library's poll sends along: htmx's header and the page's CSRF token."""
    return {**HX, **csrf_headers(client)}


def poll_library(client: FlaskClient, refs: list[str]) -> Any:
    return client.post("/assets/working", data={"id": refs}, headers=poll_headers(client))


class _Recorder:
    """Collects the items `clips.create_from_moment` would write, to batch-write them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_new(self, item: dict[str, Any]) -> None:
        self.items.append(item)


def many_clips(app: Flask, cid: str, aid: str, count: int) -> None:
    """`count` clips of one asset, exactly as the analyzer writes them, in batch writes."""
    recorder = _Recorder()
    for rank in range(count):
        moment = Moment(1.0 * rank, 1.0 * rank + 20, f"Other {rank}", "hook", 40, "why")
        clid = clips.clip_id_for(aid, 1, rank)
        clips.create_from_moment(cast(Table, recorder), cid, aid, clid, moment, rank)
    with app.app_context():
        table = boto3.resource("dynamodb", region_name="us-east-1").Table(app.config["TRUSS_TABLE"])
        with table.batch_writer() as batch:
            for item in recorder.items:
                batch.put_item(Item=dynamo_value(item))


def asset_with_clips(app: Flask, cid: str, count: int = 8) -> str:
    asset = ready_asset(app, cid, title="Launch talk")
    for n in range(count):
        clid = clips.clip_id_for(asset.id, 7, n)
        make_clip(app, cid, asset.id, clid, score=90 - n, title=f"Moment {n}")
    with app.app_context():
        chapters = [Chapter(0.0, 60.0, "Intro", ""), Chapter(60.0, 120.0, "Demo", "")]
        save_chapters(get_table(), get_storage(), cid, asset.id, chapters)
    return asset.id


def test_the_asset_page_reads_the_same_with_5000_other_clips(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    seen = record_reads(app)
    quiet = auth.login("quiet@example.com")
    quiet_aid = asset_with_clips(app, quiet.id)
    quiet_reads = reads_of(client, seen, f"/assets/{quiet_aid}")

    busy = auth.login("busy@example.com")
    busy_aid = asset_with_clips(app, busy.id)
    other = make_asset(app, busy.id, title="Other stream", status=assets.READY)
    many_clips(app, busy.id, other.id, OTHER_CLIPS)
    busy_reads = reads_of(client, seen, f"/assets/{busy_aid}")
    page = client.get(f"/assets/{busy_aid}").get_data(as_text=True)

    assert busy_reads == quiet_reads
    assert busy_reads[1]["query"] == 8  # the asset's own clips, nothing else
    assert page.count('class="clip-row"') == 8 and "Other 1" not in page
    for cid, aid in ((quiet.id, quiet_aid), (busy.id, busy_aid)):
        with app.app_context():
            table = get_table()
            assets.items_under(table, cid, aid)  # what deleting or re-analysing reads
            assert table.items_read["query"] == 8 + 1  # its clips and its chapters item


def test_the_library_does_not_read_chapters(app: Flask, client: FlaskClient, auth: Any) -> None:
    seen = record_reads(app)
    creator = auth.login()
    for _ in range(3):
        asset_with_clips(app, creator.id, count=1)  # each with a chapters item
    calls, read = reads_of(client, seen, "/assets")
    assert read == {"query": 3}  # three videos shown, three read
    assert calls == {"query": 1}


def library_poll(html: str) -> tuple[str, list[str]]:
    """The library's one poll URL and the refs (`<id>.<signature>`) it sends (what hx-include
    collects)."""
    polls = re.findall(r'id="library-poll"[^>]*hx-post="([^"]+)"', html)
    assert len(polls) == 1, "exactly one poller on the page"
    return polls[0], re.findall(r'class="poll-id" name="id" value="([^"]+)"', html)


def ids_of(refs: list[str]) -> list[str]:
    return sorted(ref.partition(".")[0] for ref in refs)


def html_ids(refs: list[str]) -> set[str]:
    return set(ids_of(refs))


def swapped_ids(html: str) -> list[str]:
    """The rows whose status an answer of the library poll swaps in."""
    return sorted(re.findall(r'id="asset-status-(\w+)"[^>]*hx-swap-oob="true"', html))


def test_the_library_polls_once_for_all_working_rows(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    seen = record_reads(app)
    creator = auth.login()
    done = make_asset(app, creator.id, status=assets.READY)
    working = [make_asset(app, creator.id, status=assets.ANALYZING) for _ in range(3)]
    html = client.get("/assets").get_data(as_text=True)
    assert html.count('hx-trigger="every 2s"') == 1  # no row polls itself
    url, refs = library_poll(html)
    assert ids_of(refs) == sorted(asset.id for asset in working) and done.id not in html_ids(refs)

    calls, read = reads_of(client, seen, url, poll_headers(client), {"id": refs})
    answer = poll_library(client, refs)
    assert answer.status_code == 200
    assert calls == {"batch_get": 1} and read == {"batch_get": 3}
    assert swapped_ids(answer.text) == ids_of(refs)

    with app.app_context():
        for asset in working:
            assets.fail(get_table(), creator.id, asset.id, "Broken on purpose.")
    final = poll_library(client, refs)
    assert final.status_code == 286  # none working: the page stops polling
    assert "Broken on purpose." in final.text and "poll-id" not in final.text
    assert 'hx-trigger="every 2s"' not in client.get("/assets").text


def test_load_more_with_working_rows_restarts_the_one_poll(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    creator = auth.login()
    old = make_asset(app, creator.id, status=assets.QUEUED)
    for _ in range(25):
        make_asset(app, creator.id, status=assets.READY)
    first = client.get("/assets").text
    assert 'hx-trigger="every 2s"' not in first  # nothing working on the first page
    more = re.search(r'id="load-more".*?hx-get="([^"]+)"', first, re.S)
    assert more
    fragment = client.get(more.group(1).replace("&amp;", "&"), headers=HX).text
    assert re.search(r'id="library-poll"[^>]*hx-swap-oob="true"', fragment)
    assert f'class="poll-id" name="id" value="{old.id}.' in fragment
    assert fragment.rstrip().endswith("</div>")  # after the rows: htmx keeps <tr>s intact


def test_the_clips_page_reads_source_titles_in_one_call(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    seen = record_reads(app)

    def clips_page_reads(videos: int, email: str) -> Reads:
        creator = auth.login(email)
        for n in range(videos):
            asset = ready_asset(app, creator.id, title=f"Video {n} of {email}")
            make_clip(app, creator.id, asset.id, clips.clip_id_for(asset.id, 3, n))
        reads = reads_of(client, seen, "/clips")
        page = client.get("/clips").text
        assert all(f"From Video {n} of {email}" in page for n in range(videos))
        return reads

    one = clips_page_reads(1, "one@example.com")
    five = clips_page_reads(5, "five@example.com")
    assert one[0] == five[0] == {"query": 2, "batch_get": 1}  # clips, video menu, titles
    assert five[1]["batch_get"] == 5


def test_the_clips_page_filtered_by_video_reads_only_that_videos_clips(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    seen = record_reads(app)
    creator = auth.login()
    small = ready_asset(app, creator.id, title="Short one")
    for n in range(3):
        make_clip(app, creator.id, small.id, clips.clip_id_for(small.id, 5, n), rendered=False)
    big = make_asset(app, creator.id, title="Long stream", status=assets.READY)
    many_clips(app, creator.id, big.id, 200)
    calls, read = reads_of(client, seen, f"/clips?video={small.id}")
    assert calls == {"query": 2, "batch_get": 1}
    assert read["query"] == 3 + 2  # its three clips, and the two videos of the video menu
    page = client.get(f"/clips?video={small.id}").text
    assert page.count('class="clip-card"') == 3 and "Other 1" not in page
    assert client.get("/clips?video=a%23b").status_code == 400


def signed_ref(app: Flask, cid: str, aid: str) -> str:
    """The ref the library shows `cid` for a working row of theirs."""
    from truss.polling import ASSET, poll_ref

    with app.app_context():
        return poll_ref(cid, ASSET, aid)


def test_status_polls_for_another_creators_ids_are_404(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    owner = auth.login("owner@example.com")
    asset = make_asset(app, owner.id, status=assets.ANALYZING)
    ready = ready_asset(app, owner.id)
    clip = make_clip(app, owner.id, ready.id, clips.clip_id_for(ready.id, 1, 0), rendered=False)
    page = client.get(f"/assets/{asset.id}").text
    signed = re.search(r'hx-get="(/assets/[^"]+/status[^"]*)"', page)
    assert signed
    signed_url = signed.group(1).replace("&amp;", "&")

    auth.login("intruder@example.com")
    for path in (signed_url, f"/assets/{asset.id}/status", f"/clips/{clip.id}/status"):
        assert client.get(path, headers=HX).status_code == 404, path
        assert client.get(path).status_code == 404, path
    answer = poll_library(client, [asset.id, signed_ref(app, owner.id, asset.id)])
    assert answer.status_code == 286 and asset.id not in answer.text  # no "deleted" either
    with app.app_context():
        assert assets.get(get_table(), owner.id, asset.id).status == assets.ANALYZING


OLD_SCHEMA = {
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
    ],
    "KeySchema": [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "GSI1",
            "KeySchema": [
                {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}


def old_table_with_items(app: Flask, cid: str) -> tuple[str, list[str]]:
    """The app's table as the previous release made it (GSI1 only), with one video, its
    chapters and two clips written before GSI2 existed, plus another creator's clip."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    name = app.config["TRUSS_TABLE"]
    client.delete_table(TableName=name)
    client.create_table(TableName=name, **OLD_SCHEMA)
    aid, clids = (
        "01AAAAAAAAAAAAAAAAAAAAAAAA",
        ["01CAAAAAAAAAAAAAAAAAAAAAA1", "01CAAAAAAAAAAAAAAAAAAAAAA2"],
    )
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(name)
    table.put_item(
        Item={
            **keys.asset(cid, aid), **keys.asset_status_index(cid, "ready", aid),
            "type": "asset", "title": "Old video", "status": "ready",
            "created_at": "2026-01-01T00:00:00+00:00", "source_key": "creators/x/source",
        }
    )  # fmt: skip
    table.put_item(Item={**keys.asset_chapters(cid, aid), "type": "chapters"})
    for n, clid in enumerate(clids):
        old_clip(table, cid, aid, clid, f"Old clip {n}")
    old_clip(table, OTHER_CID, OTHER_AID, OTHER_CLID, "Another creator's clip")
    return aid, clids


OTHER_CID, OTHER_AID, OTHER_CLID = (
    "01CREAT0R0THERAAAAAAAAAAAA",
    "01A0THERAAAAAAAAAAAAAAAAAA",
    "01C0THERAAAAAAAAAAAAAAAAAA",
)


def old_clip(table: Any, cid: str, aid: str, clid: str, title: str) -> None:
    """A clip item as the previous release wrote it: no GSI2 attributes."""
    table.put_item(
        Item={**keys.clip(cid, clid), "type": "clip", "asset_id": aid, "start": 0, "end": 10,
              "score": 50, "title": title}
    )  # fmt: skip


def gsi2_queries(app: Flask, cid: str, aid: str) -> tuple[list[str], list[str]]:
    with app.app_context():
        table = get_table()
        library, _ = assets.page(table, cid)
        found = clips.for_asset(table, cid, aid)
    return [asset.id for asset in library], sorted(clip.id for clip in found)


def test_an_older_table_gets_gsi2_and_its_items_are_backfilled(app: Flask, auth: Any) -> None:
    from truss.data.schema import backfill, ensure_table

    cid = "01CREAT0RAAAAAAAAAAAAAAAAA"
    aid, clids = old_table_with_items(app, cid)
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    name = app.config["TRUSS_TABLE"]
    assert ensure_table(resource, name) is False  # exists: not created, but brought up to date
    indexes = resource.meta.client.describe_table(TableName=name)["Table"]
    assert {i["IndexName"] for i in indexes["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2"}
    assert gsi2_queries(app, cid, aid) == ([], [])  # the index is there, the old items not yet

    assert backfill(resource, name) == 4  # the video, its two clips, the other creator's clip
    assert gsi2_queries(app, cid, aid) == ([aid], clids)  # not the chapters, not the other clip
    assert gsi2_queries(app, OTHER_CID, OTHER_AID) == ([], [OTHER_CLID])  # under its creator
    assert backfill(resource, name) is None  # recorded as done: no second Scan
    assert backfill(resource, name, force=True) == 0  # idempotent


def test_truss_init_upgrades_an_older_table(app: Flask) -> None:
    cid = "01CREAT0RBBBBBBBBBBBBBBBBB"
    aid, clids = old_table_with_items(app, cid)
    name = app.config["TRUSS_TABLE"]
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "indexes added: GSI2" in result.output
    assert "4 items given the new index attributes" in result.output
    assert gsi2_queries(app, cid, aid) == ([aid], clids)

    late = "01CAAAAAAAAAAAAAAAAAAAAAA3"  # written by a process of the old release meanwhile
    old_clip(boto3.resource("dynamodb", region_name="us-east-1").Table(name), cid, aid, late, "x")
    again = app.test_cli_runner().invoke(args=["init"])
    assert "indexes added: none" in again.output and "backfill already done" in again.output
    assert gsi2_queries(app, cid, aid) == ([aid], clids)  # the Scan was skipped
    forced = app.test_cli_runner().invoke(args=["init", "--force"])
    assert "1 items given the new index attributes" in forced.output
    assert gsi2_queries(app, cid, aid) == ([aid], sorted([*clids, late]))


def refuse_long_keys(app: Flask) -> None:
    """Make the shared client answer BatchGetItem as real DynamoDB does (moto doesn't): a key
    attribute over 1,024 bytes fails the whole call with a ValidationException."""
    from botocore.exceptions import ClientError

    def refuse(key: dict[str, Any], operation: str) -> None:
        texts = (value["S"] if isinstance(value, dict) else value for value in key.values())
        if any(len(str(text).encode()) > 1024 for text in texts):
            error = {"Code": "ValidationException", "Message": "key too long"}
            raise ClientError({"Error": error}, operation)

    def check(params: dict[str, Any], **_: Any) -> None:
        for request in params["RequestItems"].values():
            for key in request["Keys"]:
                refuse(key, "BatchGetItem")

    def check_one(params: dict[str, Any], **_: Any) -> None:
        refuse(params["Key"], "GetItem")

    with app.app_context():
        from truss.extensions import get_dynamodb

        events = get_dynamodb().meta.client.meta.events
        events.register("before-parameter-build.dynamodb.BatchGetItem", check)
        events.register("before-parameter-build.dynamodb.GetItem", check_one)


def test_ids_that_cannot_be_ids_are_never_read(app: Flask, client: FlaskClient, auth: Any) -> None:
    refuse_long_keys(app)
    creator = auth.login()
    asset = make_asset(app, creator.id, status=assets.ANALYZING)
    clip_asset = ready_asset(app, creator.id, title="Source video")
    make_clip(app, creator.id, clip_asset.id, clips.clip_id_for(clip_asset.id, 1, 0))
    long_id = "A" * 2000
    answer = poll_library(client, [signed_ref(app, creator.id, asset.id), long_id])
    assert answer.status_code == 200  # the real row is still followed, not a 500
    assert f'id="asset-status-{asset.id}"' in answer.text
    with app.app_context():
        table = get_table()
        assert assets.titles(table, creator.id, [clip_asset.id, long_id, "a#b"]) == {
            clip_asset.id: "Source video"
        }
        assert assets.get_many(table, creator.id, [long_id.lower()[:26], "x/y"]) == {}
    assert client.get(f"/clips?video={long_id[:64]}").status_code == 400
    assert client.get(f"/clips?video={clip_asset.id}").status_code == 200


def test_single_item_pages_answer_404_for_an_id_that_cannot_be_one(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    refuse_long_keys(app)
    auth.login()
    long_id = "A" * 2000
    assert client.get(f"/assets/{long_id}").status_code == 404  # real DynamoDB: a 500 before
    assert client.get(f"/clips/{long_id}").status_code == 404


class BusyClient:
    """A BatchGetItem that leaves keys unprocessed, as DynamoDB does when the table's
    throughput is exceeded: `stingy` calls answer one key and return the rest unprocessed."""

    def __init__(self, stingy: int) -> None:
        self.stingy, self.calls = stingy, 0

    def batch_get_item(self, RequestItems: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls += 1
        assert self.calls < 50, "asked again and again without end"
        ((name, request),) = RequestItems.items()
        answered, rest = request["Keys"][:1], request["Keys"][1:]
        if self.calls > self.stingy:
            answered, rest = request["Keys"], []
        unprocessed = {name: {**request, "Keys": rest}} if rest else {}
        return {"Responses": {name: answered}, "UnprocessedKeys": unprocessed}


class BusyResource:
    def __init__(self, client: BusyClient) -> None:
        self.meta = type("Meta", (), {"client": client})()

    def Table(self, name: str) -> object:
        return object()


def busy_table(stingy: int) -> tuple[Table, BusyClient, list[float]]:
    client, waits = BusyClient(stingy), []
    table = Table(BusyResource(client), "t", "secret")
    table.sleep = waits.append  # type: ignore[method-assign]
    return table, client, waits


def test_unprocessed_keys_are_asked_again_after_growing_waits() -> None:
    from truss.data.table import BATCH_BACKOFF_MAX_S, BATCH_BACKOFF_S

    table, client, waits = busy_table(stingy=4)
    wanted = [keys.asset("c", f"A{n}") for n in range(10)]
    assert sorted(item["SK"] for item in table.get_many(wanted)) == sorted(
        key["SK"] for key in wanted
    )
    assert client.calls == 5 and len(waits) == 4  # a wait before each repeat
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= min(BATCH_BACKOFF_MAX_S, BATCH_BACKOFF_S * 2**attempt)


def test_keys_left_unprocessed_every_time_raise_throttled() -> None:
    from truss.data.table import BATCH_TRIES, Throttled

    table, client, waits = busy_table(stingy=10**6)
    with pytest.raises(Throttled, match="unprocessed"):
        table.get_many([keys.asset("c", f"A{n}") for n in range(20)])
    assert client.calls == BATCH_TRIES and len(waits) == BATCH_TRIES - 1


class IndexBeingBuilt:
    """DescribeTable of a table whose GSI2 an earlier, interrupted `truss init` added: present
    but CREATING (DynamoDB is filling it) for the first `creating` calls."""

    def __init__(self, creating: int) -> None:
        self.creating, self.described, self.updates = creating, 0, 0

    def describe_table(self, TableName: str) -> dict[str, Any]:
        self.described += 1
        gsi2 = "CREATING" if self.described <= self.creating else "ACTIVE"
        indexes = [
            {"IndexName": "GSI1", "IndexStatus": "ACTIVE"},
            {"IndexName": "GSI2", "IndexStatus": gsi2},
        ]
        return {"Table": {"TableStatus": "ACTIVE", "GlobalSecondaryIndexes": indexes}}

    def update_table(self, **_: Any) -> None:
        self.updates += 1


def test_init_waits_for_an_index_that_is_still_being_built(monkeypatch: Any) -> None:
    from truss.data import schema

    waits: list[float] = []
    monkeypatch.setattr(schema, "sleep", waits.append)
    client = IndexBeingBuilt(creating=4)
    assert schema.add_missing_indexes(client, "t") == []  # nothing to add, but not ready yet
    assert client.updates == 0
    assert client.described == client.creating + 1  # asked until GSI2 answered ACTIVE
    assert len(waits) == 2 and all(wait == schema.WAIT_POLL_S for wait in waits)


def test_a_poll_link_signed_with_the_previous_key_still_hears_deleted(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    creator = auth.login()
    asset = make_asset(app, creator.id, status=assets.ANALYZING)
    page = client.get(f"/assets/{asset.id}").text
    signed = re.search(r'hx-get="(/assets/[^"]+/status[^"]*)"', page)
    assert signed
    with app.app_context():
        assets.delete(get_table(), creator.id, asset.id)  # in another tab

    old_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-new-secret-key-after-rotation-00000000"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]  # the session survives the change too
    answer = client.get(signed.group(1).replace("&amp;", "&"), headers=HX)
    assert answer.status_code == 286 and "This video was deleted." in answer.text


def record_batch_gets(app: Flask) -> list[dict[str, Any]]:
    """The request of every BatchGetItem the app's client makes (table name → its request)."""
    requests: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        requests.extend(params["RequestItems"].values())

    with app.app_context():
        from truss.extensions import get_dynamodb

        events = get_dynamodb().meta.client.meta.events
        events.register("before-parameter-build.dynamodb.BatchGetItem", keep)
    return requests


def test_the_library_poll_reads_statuses_strongly_consistent(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    """An eventually consistent read can return the status before the last change (even a
    terminal one, which would stop the poll early): the poll reads what was written."""
    requests = record_batch_gets(app)
    creator = auth.login()
    asset = make_asset(app, creator.id, status=assets.ANALYZING)
    assert poll_library(client, [signed_ref(app, creator.id, asset.id)]).status_code == 200
    assert [request.get("ConsistentRead") for request in requests] == [True]


def test_the_library_poll_follows_more_than_100_working_rows(
    app: Flask, client: FlaskClient, auth: Any, monkeypatch: Any
) -> None:
    from truss.assets import routes

    seen = record_reads(app)
    creator = auth.login()
    working = [make_asset(app, creator.id, status=assets.QUEUED) for _ in range(130)]
    refs = [signed_ref(app, creator.id, asset.id) for asset in working]
    calls, read = reads_of(client, seen, "/assets/working", poll_headers(client), {"id": refs})
    assert calls == {"batch_get": 2} and read == {"batch_get": 130}  # in batches of 100
    assert swapped_ids(poll_library(client, refs).text) == ids_of(refs)

    monkeypatch.setattr(routes, "MAX_POLLED", 120)  # a page that sends more than the cap
    assert swapped_ids(poll_library(client, refs).text) == ids_of(refs[:120])


def test_a_row_deleted_in_another_tab_says_so_and_is_no_longer_polled(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    creator = auth.login()
    kept, gone = (make_asset(app, creator.id, status=assets.ANALYZING) for _ in range(2))
    _, refs = library_poll(client.get("/assets").text)
    assert ids_of(refs) == sorted([kept.id, gone.id])
    with app.app_context():
        assets.delete(get_table(), creator.id, gone.id)

    answer = poll_library(client, refs)
    assert answer.status_code == 200  # `kept` is still working
    note = re.search(
        rf'id="asset-status-{gone.id}"[^>]*hx-swap-oob="true"(.*?)</div>', answer.text, re.S
    )
    assert note and "This video was deleted." in note.group(1) and "poll-id" not in note.group(1)
    assert swapped_ids(answer.text) == sorted([kept.id, gone.id])

    with app.app_context():
        assets.delete(get_table(), creator.id, kept.id)
    last = poll_library(client, refs)
    assert last.status_code == 286 and last.text.count("This video was deleted.") == 2


def test_a_busy_table_leaves_the_rows_as_they_are_and_the_poll_going(
    app: Flask, client: FlaskClient, auth: Any, monkeypatch: Any
) -> None:
    from truss.data.table import Throttled

    def busy(*_: Any) -> Any:
        raise Throttled("3 keys still unprocessed")

    creator = auth.login()
    asset = make_asset(app, creator.id, status=assets.ANALYZING)
    monkeypatch.setattr(assets, "get_many", busy)
    answer = poll_library(client, [signed_ref(app, creator.id, asset.id)])
    assert answer.status_code == 200 and answer.text == ""  # not a 500, not 286: ask again


def test_a_table_without_gsi2_gives_the_operator_a_clear_error(app: Flask, auth: Any) -> None:
    """New code on a table `truss init` has not upgraded yet: the log says what to do."""
    from truss.data.table import MissingIndex

    cid = "01CREAT0RCCCCCCCCCCCCCCCCC"
    aid, _ = old_table_with_items(app, cid)
    with app.app_context(), pytest.raises(MissingIndex, match="Run `truss init`"):
        assets.page(get_table(), cid)
    with app.app_context(), pytest.raises(MissingIndex, match="index GSI2"):
        clips.for_asset(get_table(), cid, aid)
