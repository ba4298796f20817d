"""Publishing adapters: the rules that need no platform (TikTok's chunk plan, when YouTube's
quota resets, Discord webhook URLs), and that a failed call never shows a token."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from truss.publishing.adapters import PublishError, next_pacific_midnight, parse_webhook_url
from truss.publishing.adapters.base import FileSlice, Post
from truss.publishing.adapters.discord import DiscordAdapter, DiscordSettings, size_in_words
from truss.publishing.adapters.tiktok import ChunkRules, chunk_plan

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "preferred", "expected"),
    [
        (3 * MB, 10 * MB, (3 * MB, 1)),  # under 5 MB: whole
        (8 * MB, 10 * MB, (8 * MB, 1)),  # fits one preferred chunk
        (25 * MB, 10 * MB, (10 * MB, 2)),  # 2 chunks, the last holds the trailing 5 MB
        (200 * MB + 7, 10 * MB, (10 * MB, 20)),
        (30 * MB, 1 * MB, (5 * MB, 6)),  # a preferred size under 5 MB is raised to 5 MB
        (300 * MB, 100 * MB, (64 * MB, 4)),  # ...and one over 64 MB lowered to 64 MB
    ],
)
def test_tiktok_chunk_plan_follows_the_media_transfer_rules(size, preferred, expected):
    chunk, count = chunk_plan(size, preferred)
    assert (chunk, count) == expected
    last = size - chunk * (count - 1)
    assert last <= 128 * MB
    assert count == 1 or 5 * MB <= chunk <= 64 * MB


def test_tiktok_chunk_plan_stays_within_1000_chunks():
    chunk, count = chunk_plan(20_000 * MB, 5 * MB)
    assert count <= 1000 and chunk <= 64 * MB


def test_tiktok_chunk_plan_refuses_an_empty_file_and_one_too_big_for_tiktok():
    with pytest.raises(PublishError) as empty:
        chunk_plan(0, 10 * MB)
    assert empty.value.kind == "content"
    with pytest.raises(PublishError) as huge:
        chunk_plan(70_000 * MB, 10 * MB)
    assert huge.value.kind == "content"


def test_small_rules_for_tests_plan_the_same_way():
    rules = ChunkRules(min_bytes=1000, max_bytes=4000, last_max_bytes=8000)
    assert chunk_plan(900, 2000, rules) == (900, 1)
    assert chunk_plan(5000, 2000, rules) == (2000, 2)  # last chunk 3000


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        (datetime(2026, 11, 30, 22, 30, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 7, 59, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        # the night clocks move forward (8 March 2026): midnight PST, then midnight PDT
        (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
    ],
)
def test_youtube_quota_resets_at_the_next_midnight_pacific(now, reset):
    assert next_pacific_midnight(now) == reset


def test_webhook_urls_are_parsed_and_anything_else_refused():
    assert parse_webhook_url("https://discord.com/api/webhooks/123/abc-DEF_9") == (
        "123",
        "abc-DEF_9",
    )
    assert parse_webhook_url("https://discord.com/api/v10/webhooks/123/tok?wait=true") == (
        "123",
        "tok",
    )
    for bad in ("https://discord.com/api/channels/1/messages", "https://x.test/webhooks/a/b", ""):
        with pytest.raises(ValueError):
            parse_webhook_url(bad)


def test_sizes_are_said_in_megabytes():
    assert size_in_words(10 * MB) == "10 MB"
    assert size_in_words(25 * MB + MB // 2) == "25.5 MB"


def test_a_file_slice_streams_only_its_bytes(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(bytes(range(256)) * 1000)
    piece = FileSlice(path, 1000, 70_000)
    data = b"".join(piece)
    assert len(piece) == 70_000 and data == path.read_bytes()[1000:71_000]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_connection_failure_is_a_retry_whose_message_shows_no_token(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 100)
    adapter = DiscordAdapter(DiscordSettings(api_base=f"http://127.0.0.1:{_closed_port()}/api"))
    post = Post(path, 100, "video/mp4", 5.0, "hello")
    secret = "S3cretWebhookToken"
    with pytest.raises(PublishError) as failed:
        adapter.upload(f"https://discord.com/api/webhooks/42/{secret}", post, {}, print)
    assert failed.value.kind == "retry"
    chain = [failed.value, failed.value.__cause__, failed.value.__context__]
    assert all(secret not in str(e) for e in chain if e is not None)
