"""YouTube live chat polling against a fake liveChatMessages.list over HTTP on localhost."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from tests.support.fake_youtube_chat import FakeYouTubeChat
from truss.streams.model import ChatMessage
from truss.streams.youtube_chat import (
    NO_KEY,
    OFFLINE,
    QuotaBudget,
    YouTubeChatPoller,
    YouTubeSettings,
    chat_message,
)

STARTED = 1_700_000_000.0


@pytest.fixture
def youtube() -> Iterator[FakeYouTubeChat]:
    with FakeYouTubeChat(polling_ms=3500) as fake:
        yield fake


class Run:
    """A poller with an injected sleep: records each wait and scripts the fake between polls."""

    def __init__(self, youtube: FakeYouTubeChat, daily_quota: int = 10000, key: str = "k") -> None:
        self.youtube = youtube
        self.messages: list[ChatMessage] = []
        self.stopped: list[str] = []
        self.sleeps: list[float] = []
        self.between: list[object] = []  # scripted actions, one per sleep
        redis = fakeredis.FakeRedis()
        self.budget = QuotaBudget(redis, daily_quota, now=lambda: STARTED)
        self.poller = YouTubeChatPoller(
            youtube.video_id,
            STARTED,
            self.messages.extend,
            self.stopped.append,
            YouTubeSettings(api_key=key, api_base=youtube.base, daily_quota=daily_quota),
            self.budget,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.between:
            action = self.between.pop(0)
            if callable(action):
                action()
        else:
            self.poller.stop()


def test_polls_honouring_the_interval_and_reads_each_message_once(
    youtube: FakeYouTubeChat,
) -> None:
    youtube.say("first KEKW", author="Ann", at=STARTED + 5)
    run = Run(youtube)
    run.between = [
        lambda: youtube.say("second", author="Bob", at=STARTED + 9),
        lambda: None,
    ]
    run.poller.run()
    assert [(m.text, m.author, m.offset_s) for m in run.messages] == [
        ("first KEKW", "Ann", 5.0),
        ("second", "Bob", 9.0),
    ]
    assert run.sleeps == [3.5, 3.5, 3.5]  # pollingIntervalMillis, every time
    assert youtube.list_calls == 3
    assert run.budget.spent() == 1 + 3 * 5  # videos.list, then 5 units a list call


def test_stops_at_the_daily_budget_with_a_message(youtube: FakeYouTubeChat) -> None:
    run = Run(youtube, daily_quota=16)
    run.between = [lambda: None] * 10
    run.poller.run()
    assert youtube.list_calls == 3  # 1 + 3 * 5 = 16: a fourth call would pass the budget
    assert len(run.stopped) == 1
    assert "budget for today (16 units) is used up" in run.stopped[0]
    assert "YOUTUBE_DAILY_QUOTA" in run.stopped[0]


def test_stops_when_the_broadcast_goes_offline(youtube: FakeYouTubeChat) -> None:
    run = Run(youtube)
    run.between = [youtube.go_offline] + [lambda: None] * 10
    run.poller.run()
    assert run.stopped == [OFFLINE]
    assert youtube.list_calls == 2


def test_a_refused_key_stops_with_what_to_do(youtube: FakeYouTubeChat) -> None:
    run = Run(youtube, key="wrong")
    run.poller.run()
    assert len(run.stopped) == 1
    assert "YOUTUBE_API_KEY" in run.stopped[0]
    assert "keyInvalid" in run.stopped[0]


def test_no_key_stops_without_calling_youtube(youtube: FakeYouTubeChat) -> None:
    run = Run(youtube, key="")
    run.poller.run()
    assert run.stopped == [NO_KEY]
    assert youtube.units_used == 0


def test_items_without_text_are_skipped() -> None:
    assert chat_message({"id": "x", "snippet": {"type": "tombstone"}}, STARTED) is None


def test_a_reply_that_is_not_json_is_retried_and_polling_goes_on(
    youtube: FakeYouTubeChat,
) -> None:
    run = Run(youtube)
    youtube.say("before", author="Ann", at=STARTED + 5)
    run.between = [
        lambda: youtube.raw_replies.extend([b"<html>502 Bad Gateway</html>", b"[1, 2]"]),
        lambda: youtube.say("after", author="Bob", at=STARTED + 9),
        lambda: None,
        lambda: None,
    ]
    run.poller.run()
    assert [m.text for m in run.messages] == ["before", "after"]
    assert run.stopped == []


def test_an_item_that_cannot_be_read_is_skipped(youtube: FakeYouTubeChat) -> None:
    youtube.say("good", author="Ann", at=STARTED + 5)
    youtube.messages.insert(0, {"id": "odd", "snippet": "not an object"})
    youtube.messages.insert(
        0, {"id": "odd2", "snippet": {"displayMessage": "x"}, "authorDetails": 3}
    )
    run = Run(youtube)
    run.poller.run()
    assert [m.text for m in run.messages] == ["good"]
