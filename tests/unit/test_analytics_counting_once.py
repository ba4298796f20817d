"""Job events are counted exactly once when Redis is slow: a job counts through the worker's
patient client (not the web tier's 0.25 s one), a MULTI whose reply was lost keeps its event
id so the job's retry doesn't count it again, and a command redis-py sent again after a lost
reply adds nothing twice."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
import redis as redis_lib
from flask import Flask

from truss.analytics import counters, metrics, recording
from truss.data import analytics as daily
from truss.data import keys
from truss.extensions import get_table

CID = "01JAAAAAAAAAAAAAAAAAAAAAB1"
EVENT = "render:01JCLIP:r1"


class Wrapped:
    """A Redis client seen through a fault: everything else goes to the real one."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redis, name)


class ReplyLost(Wrapped):
    """The MULTI runs on the server, then its reply times out."""

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self.redis.pipeline(transaction=transaction)
        execute = pipe.execute

        def run_then_time_out(*args: Any, **kwargs: Any) -> Any:
            execute(*args, **kwargs)
            raise redis_lib.exceptions.TimeoutError("Timeout reading from socket")

        pipe.execute = run_then_time_out
        return pipe


class SentTwice(Wrapped):
    """What redis-py's retry does after a lost reply: every command runs twice and the
    second answer is the one returned."""

    def set(self, *args: Any, **kwargs: Any) -> Any:
        self.redis.set(*args, **kwargs)
        return self.redis.set(*args, **kwargs)

    def pipeline(self, transaction: bool = True) -> Any:
        pipe = self.redis.pipeline(transaction=transaction)
        execute, stack = pipe.execute, list

        def twice(*args: Any, **kwargs: Any) -> Any:
            commands = stack(pipe.command_stack)
            execute(*args, **kwargs)
            pipe.command_stack = commands
            return execute(*args, **kwargs)

        pipe.execute = twice
        return pipe


def test_a_count_whose_reply_timed_out_is_not_counted_again_by_the_jobs_retry(
    redis: fakeredis.FakeRedis,
) -> None:
    assert not counters.count(ReplyLost(redis), CID, {metrics.RENDERS: 1}, event_id=EVENT)
    assert not counters.count(redis, CID, {metrics.RENDERS: 1}, event_id=EVENT)  # the retry
    assert counters.pending(redis, CID) == {metrics.RENDERS: 1.0}


def test_a_count_redis_py_sent_twice_counts_once(redis: fakeredis.FakeRedis) -> None:
    amounts = {metrics.RENDERS: 1, metrics.RENDER_SECONDS: 12.5}
    assert counters.count(SentTwice(redis), CID, amounts, event_id=EVENT)
    assert counters.count(SentTwice(redis), CID, {metrics.RENDERS: 1}, event_id="render:X:r2")
    assert counters.pending(redis, CID) == {metrics.RENDERS: 2.0, metrics.RENDER_SECONDS: 12.5}


def test_a_job_counts_through_the_workers_client_not_the_web_tiers(
    app: Flask, redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    def web_tier_timed_out() -> Any:
        raise redis_lib.exceptions.TimeoutError("the web tier's 0.25 s passed")

    monkeypatch.setattr(recording, "counting_redis", web_tier_timed_out)
    with app.app_context():  # a job: no request
        assert recording.record(CID, {metrics.RENDERS: 1}, event_id=EVENT)
        assert not recording.record(CID, {metrics.RENDERS: 1}, event_id=EVENT)  # once
        table = get_table()
        table.put({**keys.creator_profile(CID), "type": "creator"})  # a flush needs it
        counters.flush(redis, table)
        day = counters.utc_day()
        (figures,) = daily.read_days(table, CID, day, day)
    assert figures.counters == {metrics.RENDERS: 1.0}
