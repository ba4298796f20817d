"""The web process's share: DynamoDB calls per request, and memory against upload size.

    python -m bench.web calls    # moto in-process (mock_aws) + fakeredis, Flask test client
    python -m bench.web upload   # moto's server in its own process; this process is the app
    python -m bench.web put KEY SIZE [UPLOAD_ID PART_BYTES]   # the browser's stand-in

Each prints one JSON line (see `bench.common.run_part`).
"""

from __future__ import annotations

import gc
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any, cast

import boto3
import fakeredis
from boto3.dynamodb.conditions import Key
from flask import Flask, g, session
from flask.testing import FlaskClient

from bench.common import MB, emit, reset_peak_rss, status_kb
from truss import create_app
from truss.analysis.base import Chapter, Moment
from truss.auth.session import sign_in
from truss.config import test_config
from truss.data import assets, clips, keys
from truss.data.creators import get_or_create_by_email, new_id
from truss.data.schema import ensure_table
from truss.data.table import Table, dynamo_value
from truss.extensions import get_storage, get_table
from truss.queue import get_queue
from truss.services.chapters import save_chapters
from truss.storage import Storage

REGION = "us-east-1"
HTMX = {"HX-Request": "true"}
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + bytes(52)  # what the confirmation's sniff reads


def fake_credentials() -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )


def make_app(**overrides: Any) -> Flask:
    """The app as the unit tests build it (tests/support/app.py make_app): table and bucket made."""
    app = create_app(test_config(REDIS_CONNECTION=fakeredis.FakeRedis(), **overrides))
    with app.app_context():
        ensure_table(boto3.resource("dynamodb", region_name=REGION), app.config["TRUSS_TABLE"])
        storage = Storage(app.config["TRUSS_BUCKET"], boto3.client("s3", region_name=REGION))
        storage.ensure_bucket(REGION, ["http://localhost"])
    return app


def signed_in(app: Flask, email: str) -> tuple[FlaskClient, str]:
    """A test client with a session for this creator (made on first use); the creator id."""
    client = app.test_client()
    with app.test_request_context():
        creator = get_or_create_by_email(get_table(), email)
        sign_in(creator)
        fields = dict(session)
    with client.session_transaction() as sess:
        sess.clear()
        sess.update(fields)
    return client, creator.id


def new_asset(app: Flask, cid: str, status: str, clip_count: int = 0) -> str:
    """An asset walked along its life cycle to `status`, with chapters and rendered clips."""
    path = [assets.UPLOADED, assets.QUEUED, assets.ANALYZING, assets.RENDERING, assets.READY]
    aid = new_id()
    with app.app_context():
        table = get_table()
        assets.create(
            table, cid, aid, title="Stream VOD", file_name="vod.mp4", expected_size=10,
            declared_type="video/mp4", upload_mode="post", upload_expires_at=2**40,
        )  # fmt: skip
        current = assets.UPLOADING
        for step in path[: path.index(status) + 1]:
            assets.transition(table, cid, aid, current, step)
            current = step
        if status == assets.READY:
            parts = [Chapter(60.0 * i, 60.0 * (i + 1), f"Part {i + 1}", "") for i in range(5)]
            save_chapters(table, get_storage(), cid, aid, parts)
        for rank in range(clip_count):
            clid = clips.clip_id_for(aid, 1, rank)
            moment = Moment(30.0 * rank, 30.0 * rank + 20, f"Moment {rank}", "hook", 90 - rank, "")
            clips.create_from_moment(table, cid, aid, clid, moment, rank)
            clips.start_render(table, cid, clid, "r1")
            clips.finish_render(table, cid, clid, "r1", f"k/{clid}.mp4", f"k/{clid}.jpg")
    return aid


def calls() -> dict[str, Any]:
    """DynamoDB calls, items read (and read capacity) of one status poll, one asset page, one
    library page and its poll, one clips page; the asset page again for a busy creator."""
    from moto import mock_aws

    fake_credentials()
    with mock_aws():
        app = make_app()
        seen: list[tuple[dict[str, int], float, dict[str, int]]] = []

        @app.after_request
        def count(response: Any) -> Any:
            table = g.get("truss_table")
            if table is None:
                seen.append(({}, 0.0, {}))
            else:
                read = {op: n for op, n in table.items_read.items() if n}
                seen.append((dict(table.calls), sum(table.consumed.values()), read))
            return response

        def measure(
            client: FlaskClient, path: str, headers: dict[str, str], form: Any = None
        ) -> dict[str, Any]:
            def once() -> int:
                if form is None:
                    return client.get(path, headers=headers).status_code
                return client.post(path, data=form, headers=headers).status_code

            once()  # warms the 30 s profile cache
            seen.clear()
            codes = {once() for _ in range(3)}
            ops, rcu, read = seen[-1]
            same = all(s == seen[-1] for s in seen)
            return {"ops": ops, "total": sum(ops.values()), "rcu": rcu, "codes": sorted(codes),
                    "stable": same, "items": read, "items_total": sum(read.values())}  # fmt: skip

        client, cid = signed_in(app, "one@example.com")
        working = new_asset(app, cid, assets.ANALYZING)
        ready = new_asset(app, cid, assets.READY, clip_count=8)
        library = client.get("/assets").get_data(as_text=True)  # the poll POSTs signed refs
        refs = re.findall(r'class="poll-id" name="id" value="([^"]+)"', library)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', library)
        assert refs and token, "the library shows no working row or no CSRF token"
        poll_headers = {**HTMX, "X-CSRFToken": token.group(1)}
        result: dict[str, Any] = {
            "poll_working": measure(client, f"/assets/{working}/status", HTMX),
            "poll_ready": measure(client, f"/assets/{ready}/status?page=detail", HTMX),
            "asset_page": measure(client, f"/assets/{ready}", {}),
            "library_page": measure(client, "/assets", {}),
            "library_poll": measure(client, "/assets/working", poll_headers, {"id": refs}),
            "clips_page": measure(client, "/clips", {}),
        }
        result["asset_page"]["clip_items_read"] = result["asset_page"]["items"].get("query", 0)
        result["asset_page"]["creator_clips"] = clip_items(app, cid)
        # the same asset page for a creator with OTHER_VIDEOS more analysed videos
        busy, busy_cid = signed_in(app, "busy@example.com")
        own = new_asset(app, busy_cid, assets.READY, clip_count=8)
        other_clips(app, busy_cid, OTHER_VIDEOS, 8)
        result["asset_page_busy"] = measure(busy, f"/assets/{own}", {})
        busy_page = result["asset_page_busy"]
        busy_page["clip_items_read"] = busy_page["items"].get("query", 0)
        busy_page["creator_clips"] = clip_items(app, busy_cid)
        result["other_videos"] = OTHER_VIDEOS
    return result


OTHER_VIDEOS = 40


class _Recorder:
    """Stands in for the table to collect the items `clips.create_from_moment` would write."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_new(self, item: dict[str, Any]) -> None:
        self.items.append(item)


def other_clips(app: Flask, cid: str, videos: int, per_video: int) -> None:
    """Clip items of other videos of this creator, as the analyzer writes them (batched)."""
    recorder = _Recorder()
    for _ in range(videos):
        aid = new_id()
        for rank in range(per_video):
            moment = Moment(30.0 * rank, 30.0 * rank + 20, f"Moment {rank}", "hook", 50, "")
            clid = clips.clip_id_for(aid, 1, rank)
            clips.create_from_moment(cast(Table, recorder), cid, aid, clid, moment, rank)
    with app.app_context():
        resource = boto3.resource("dynamodb", region_name=REGION)
        with resource.Table(app.config["TRUSS_TABLE"]).batch_writer() as batch:
            for item in recorder.items:
                batch.put_item(Item=dynamo_value(item))


def clip_items(app: Flask, cid: str) -> int:
    """How many clips the creator has (what the asset page read before clips had GSI2)."""
    table = boto3.resource("dynamodb", region_name=REGION).Table(app.config["TRUSS_TABLE"])
    condition = Key("PK").eq(keys.creator_pk(cid)) & Key("SK").begins_with(keys.clip_prefix())
    return int(table.query(KeyConditionExpression=condition, Select="COUNT")["Count"])


# --- memory against upload size ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto's server did not start")


def put(key: str, size: int, upload_id: str = "", part_bytes: int = 0) -> dict[str, Any]:
    """What the browser does: send the bytes straight to S3 (here moto's server)."""
    s3 = boto3.client("s3", region_name=REGION)
    bucket = test_config()["TRUSS_BUCKET"]
    if not upload_id:
        body = MP4_HEAD + bytes(size - len(MP4_HEAD))
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="video/mp4")
        return {"parts": 0}
    count = -(-size // part_bytes)
    for number in range(1, count + 1):
        length = min(part_bytes, size - (number - 1) * part_bytes)
        body = (MP4_HEAD if number == 1 else b"") + bytes(length - (len(MP4_HEAD) * (number == 1)))
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
    return {"parts": count}


def upload_once(client: FlaskClient, cid: str, size: int) -> dict[str, Any]:
    """Start an upload through the app, let the stand-in browser send it, confirm it."""
    page = client.get("/upload").get_data(as_text=True)
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found, "no CSRF token on the upload page"
    headers = {"X-CSRFToken": found.group(1)}
    gc.collect()
    idle_kb = status_kb("VmRSS")
    reset = reset_peak_rss()
    began = time.perf_counter()
    body = {"name": "vod.mp4", "size": size, "type": "video/mp4"}
    plan = client.post("/assets/uploads", json=body, headers=headers).get_json()
    aid = plan["asset_id"]
    key = f"creators/{cid}/assets/{aid}/source"
    browser = [sys.executable, "-m", "bench.web", "put", key, str(size)]
    if plan["mode"] == "multipart":
        browser += [plan["upload_id"], str(plan["part_bytes"])]
    subprocess.run(browser, check=True, stdout=subprocess.DEVNULL, timeout=600)
    if plan["mode"] == "multipart":
        done = client.post(
            f"/assets/{aid}/complete", json={"upload_id": plan["upload_id"]}, headers=headers
        )
    else:
        done = client.post(f"/assets/{aid}/confirm", headers=headers)
    answer = done.get_json()
    assert answer["status"] in {assets.UPLOADED, assets.QUEUED}, answer
    return {
        "size": size,
        "mode": plan["mode"],
        "idle_mb": idle_kb / 1024,
        "peak_mb": status_kb("VmHWM") / 1024,
        "peak_is_per_upload": reset,
        "seconds": time.perf_counter() - began,
    }


def upload() -> dict[str, Any]:
    """The app process's RSS while a 1 MB and a 200 MB upload are started and confirmed."""
    fake_credentials()
    server, url = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        app = make_app(RQ_ASYNC=True)  # confirming only enqueues the analysis, as in production
        client, cid = signed_in(app, "uploader@example.com")
        for _ in range(2):  # warm up: imports, templates, boto3 clients, the profile cache
            upload_once(client, cid, 64 * 1024)
        runs = [upload_once(client, cid, size) for size in (1 * MB, 200 * MB)]
        with app.app_context():
            queued = get_queue("analysis").count  # every confirmed upload was handed on
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"runs": runs, "analysis_jobs_queued": queued}


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    if what == "calls":
        emit(calls())
    elif what == "upload":
        emit(upload())
    elif what == "put":
        multipart = (args[2], int(args[3])) if len(args) == 4 else ("", 0)
        emit(put(args[0], int(args[1]), *multipart))
    else:
        raise SystemExit(__doc__)
