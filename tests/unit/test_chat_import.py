"""Chat import: each exporter's file read from small samples shaped like the real ones; bad files
give errors that say what is wrong, and nothing is read whole."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from truss.streams import chat_import
from truss.streams.chat_import import ChatImportError, detect_format, parse_all, read_chat
from truss.streams.model import ChatMessage


def chat_downloader_file(messages: list[dict[str, Any]]) -> bytes:
    return json.dumps(messages, indent=4).encode()


def cd_message(n: int, seconds: float, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "action_type": "text_message",
        "message": text,
        "message_id": f"cd-{n}",
        "timestamp": 1_700_000_000_000_000 + int(seconds * 1e6),
        "time_in_seconds": seconds,
        "time_text": f"0:{int(seconds):02d}",
        "message_type": "text_message",
        "author": {
            "id": f"UC{n % 3}",
            "name": f"viewer{n % 3}",
            "display_name": f"Viewer{n % 3}",
            "images": [{"url": "https://yt3.ggpht.com/x", "width": 64, "height": 64}],
            "badges": [{"title": "Member (2 months)", "icon_name": "member"}],
        },
        **extra,
    }


def twitch_downloader_file(comments: list[dict[str, Any]], embedded: int = 0) -> bytes:
    doc = {
        "FileInfo": {"Version": {"Major": 1, "Minor": 4, "Patch": 0}, "CreatedAt": "2024-05-01"},
        "streamer": {"name": "streamer", "id": 12345},
        "video": {
            "title": "Big stream",
            "id": "2100000000",
            "start": 0,
            "end": 3600,
            "length": 3600,
        },
        "comments": comments,
        "embeddedData": {
            "thirdParty": [{"name": f"E{i}", "data": "QUJD" * 50_000} for i in range(embedded)],
            "firstParty": [],
            "twitchBadges": [],
            "twitchBits": [],
        },
    }
    return json.dumps(doc).encode()


def td_comment(n: int, seconds: float, fragments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "_id": f"td-{n}",
        "created_at": "2024-05-01T20:00:00.123Z",
        "channel_id": "12345",
        "content_type": "video",
        "content_id": "2100000000",
        "content_offset_seconds": seconds,
        "commenter": {"display_name": "Kaya", "_id": "987", "name": "kaya", "logo": "https://x"},
        "message": {
            "body": "".join(f["text"] for f in fragments),
            "bits_spent": 0,
            "fragments": fragments,
            "user_badges": [{"_id": "subscriber", "version": "12"}],
            "user_color": "#FF0000",
            "emoticons": [],
        },
    }


def text(t: str) -> dict[str, Any]:
    return {"text": t, "emoticon": None}


def emote(name: str, eid: str) -> dict[str, Any]:
    return {"text": name, "emoticon": {"emoticon_id": eid, "emoticon_set_id": ""}}


def yt_line(
    msg_id: str, offset_ms: int | None, runs: list[dict[str, Any]], author: str = "Ana"
) -> bytes:
    renderer = {
        "message": {"runs": runs},
        "authorName": {"simpleText": author},
        "authorPhoto": {"thumbnails": [{"url": "https://yt4.ggpht.com/a", "width": 32}]},
        "id": msg_id,
        "timestampUsec": str(1_700_000_000_000_000 + (offset_ms or 0) * 1000),
        "authorExternalChannelId": f"UC-{author}",
        "timestampText": {"simpleText": "0:05"},
    }
    replay: dict[str, Any] = {
        "actions": [
            {
                "clickTrackingParams": "CAEQl98BIhMI",
                "addChatItemAction": {
                    "item": {"liveChatTextMessageRenderer": renderer},
                    "clientId": "CJ2",
                },
            }
        ]
    }
    if offset_ms is not None:
        replay["videoOffsetTimeMsec"] = str(offset_ms)
    return json.dumps({"clickTrackingParams": "CAAQ", "replayChatItemAction": replay}).encode()


def yt_emoji(shortcut: str, emoji_id: str, custom: bool) -> dict[str, Any]:
    return {
        "emoji": {
            "emojiId": emoji_id,
            "shortcuts": [shortcut],
            "searchTerms": [shortcut.strip(":")],
            "image": {"thumbnails": [{"url": "https://yt3.ggpht.com/e"}]},
            "isCustomEmoji": custom,
        }
    }


def read(data: bytes) -> list[ChatMessage]:
    return list(read_chat(io.BytesIO(data)))


def error_of(data: bytes) -> str:
    with pytest.raises(ChatImportError) as caught:
        parse_all(io.BytesIO(data), limit_messages=1000)
    return str(caught.value)


# ---------------------------------------------------------------- the three formats


def test_chat_downloader_messages_come_out_with_ids_offsets_authors_and_emotes() -> None:
    data = chat_downloader_file(
        [
            cd_message(1, 0.5, "hello chat"),
            {"action_type": "add_chat_item", "message_type": "ticker_paid_message_item"},
            cd_message(
                2,
                12.25,
                "Kappa Kappa lol",
                emotes=[{"id": "25", "name": "Kappa", "images": []}],
            ),
            cd_message(4, -3.0, "waiting for the stream"),
        ]
    )
    assert detect_format(data[:100]) == "chat-downloader"
    got = read(data)
    assert [m.id for m in got] == ["cd-1", "cd-2"]  # no ticker event, nothing before 0:00
    assert got[1] == ChatMessage("cd-2", 12.25, "UC2", "Viewer2", "Kappa Kappa lol", ("Kappa",))
    assert got[0].emotes == ()


def test_chat_downloader_without_video_offsets_uses_timestamps() -> None:
    first, later = cd_message(1, 0, "a"), cd_message(2, 0, "b")
    for message in (first, later):
        del message["time_in_seconds"]
    later["timestamp"] = first["timestamp"] + 90_500_000
    assert [m.offset_s for m in read(chat_downloader_file([first, later]))] == [0.0, 90.5]


def test_twitch_downloader_comments_with_fragment_emotes() -> None:
    data = twitch_downloader_file(
        [
            td_comment(1, 3, [text("LUL that was "), emote("LUL", "425618"), text(" close")]),
            td_comment(2, 61.5, [emote("PogChamp", "305954156"), text(" "), emote("Kappa", "25")]),
        ],
        embedded=2,
    )
    assert detect_format(data[:4096]) == "TwitchDownloader"
    got = read(data)
    assert got[0] == ChatMessage(
        "td-1", 3.0, "987", "Kaya", "LUL that was LUL close", ("LUL",)
    )  # the word LUL is no emote: only fragments with an emoticon are
    assert got[1].offset_s == 61.5
    assert got[1].emotes == ("PogChamp", "Kappa")


def test_twitch_downloader_with_huge_embedded_data_still_imports() -> None:
    comments = [td_comment(n, n, [text(f"msg {n}")]) for n in range(50)]
    data = twitch_downloader_file(comments, embedded=100)  # ~20 MB of emote images
    assert len(data) > chat_import.MAX_ITEM_BYTES
    summary = parse_all(io.BytesIO(data), limit_messages=1000)
    assert summary.messages == 50


def test_yt_dlp_live_chat_lines() -> None:
    lines = [
        yt_line("m1", 5_000, [{"text": "first "}, yt_emoji(":yt:", "UCx/abc", True)]),
        json.dumps(
            {"replayChatItemAction": {"actions": [{"addLiveChatTickerItemAction": {}}]}}
        ).encode(),
        b"",
        yt_line("m2", 65_432, [{"text": "ha "}, yt_emoji(":joy:", "\U0001f602", False)], "Bo"),
    ]
    data = b"\n".join(lines) + b"\n"
    assert detect_format(data[:1000]) == "yt-dlp"
    got = read(data)
    assert got == [
        ChatMessage("m1", 5.0, "UC-Ana", "Ana", "first :yt:", (":yt:",)),
        ChatMessage("m2", 65.432, "UC-Bo", "Bo", "ha \U0001f602", ("\U0001f602",)),
    ]


def test_yt_dlp_without_video_offsets_uses_timestamps() -> None:
    later = yt_line("b", None, [{"text": "y"}]).replace(b"1700000000000000", b"1700000042000000")
    data = yt_line("a", None, [{"text": "x"}]) + b"\n" + later
    assert [m.offset_s for m in read(data)] == [0.0, 42.0]


def test_text_is_capped_and_control_characters_removed() -> None:
    data = chat_downloader_file([cd_message(1, 1, "a\x00b\x1b[31mred\u202e\tend" + "x" * 2000)])
    (message,) = read(data)
    assert message.text.startswith("ab[31mred end")
    assert len(message.text) == chat_import.MAX_TEXT


def test_summary_counts_messages_chatters_and_duration() -> None:
    data = chat_downloader_file([cd_message(n, n * 10.0, f"m{n}") for n in range(1, 8)])
    seen: list[str] = []
    summary = parse_all(
        io.BytesIO(data), limit_messages=100, on_message=lambda m: seen.append(m.id)
    )
    assert (summary.format, summary.messages, summary.chatters) == ("chat-downloader", 7, 3)
    assert summary.duration_s == 70.0
    assert len(seen) == 7


def test_read_from_a_stream_that_returns_short_reads() -> None:
    data = twitch_downloader_file([td_comment(n, n, [text("hi")]) for n in range(300)])

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.left = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            got, self.left = self.left[:997], self.left[997:]
            return got

    assert len(list(read_chat(Trickle()))) == 300  # type: ignore[arg-type]


# ---------------------------------------------------------------- bad files


def test_truncated_json_says_it_was_cut_short() -> None:
    data = chat_downloader_file([cd_message(n, n, "hi") for n in range(1, 20)])
    message = error_of(data[: len(data) // 2])
    assert "chat-downloader" in message and "cut short" in message
    message = error_of(twitch_downloader_file([td_comment(1, 1, [text("hi")])])[:600])
    assert "TwitchDownloader" in message and "cut short" in message


def test_truncated_json_lines_names_the_line() -> None:
    lines = [yt_line(f"m{n}", n * 1000, [{"text": "hey"}]) for n in range(5)]
    data = b"\n".join(lines)
    assert error_of(data[:-40]) == (
        "line 5 of a yt-dlp live_chat.json is not JSON (cut short or damaged): "
        "upload the whole file again, or export the chat again"
    )


def test_a_video_file_is_not_a_chat_export() -> None:
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(range(256)) * 10
    message = error_of(mp4)
    assert "binary file" in message and "chat-downloader, TwitchDownloader or yt-dlp" in message


def test_a_csv_is_not_a_chat_export() -> None:
    message = error_of(b"time,user,message\n0:01,ana,hello\n0:02,bo,hi\n")
    assert "CSV" in message and "chat-downloader, TwitchDownloader or yt-dlp" in message


def test_other_json_is_named_as_such() -> None:
    assert error_of(b'{"kind": "youtube#video", "items": []}') == chat_import.UNKNOWN_JSON
    assert error_of(b'[{"name": "a", "price": 3}]') == chat_import.UNKNOWN_JSON
    assert "empty" in error_of(b"  \n")
    assert "gzip" in error_of(b"\x1f\x8b\x08\x00rest")


def test_a_huge_single_line_is_an_error_not_a_memory_blow_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat_import, "MAX_LINE_BYTES", 200_000)
    huge = yt_line("big", 1000, [{"text": "A" * 1_000_000}])
    data = yt_line("m0", 0, [{"text": "hi"}]) + b"\n" + huge + b"\n"
    reads: list[int] = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            got = super().read(size)
            reads.append(len(got))
            return got

    with pytest.raises(ChatImportError) as caught:
        parse_all(Counting(data), limit_messages=100)
    assert str(caught.value).startswith("line 2 of a yt-dlp live_chat.json is longer than")
    assert sum(reads) < 400_000  # stopped soon after the limit, never read the line whole


def test_a_huge_single_json_message_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_import, "MAX_ITEM_BYTES", 300_000)
    data = chat_downloader_file([cd_message(1, 1, "hi"), cd_message(2, 2, "B" * 2_000_000)])
    assert "single entry over" in error_of(data)


def test_a_message_without_an_offset_is_named() -> None:
    comment = td_comment(1, 1, [text("hi")])
    del comment["content_offset_seconds"]
    message = error_of(twitch_downloader_file([td_comment(0, 0, [text("a")]), comment]))
    assert message == (
        "comment 2 of a TwitchDownloader JSON has no content_offset_seconds: export the chat again"
    )


def test_too_many_messages_is_an_error_and_an_empty_export_too() -> None:
    data = chat_downloader_file([cd_message(n, n, "hi") for n in range(1, 12)])
    with pytest.raises(ChatImportError, match="more than 10 messages"):
        parse_all(io.BytesIO(data), limit_messages=10)
    assert "holds no chat messages" in error_of(b"[]")


def test_yt_dlp_line_with_several_actions_and_a_super_chat() -> None:
    text_line = json.loads(yt_line("t1", 7_000, [{"text": "nice"}]))
    paid = json.loads(yt_line("p1", 7_000, [{"text": "take my money"}], author="Cy"))
    actions = paid["replayChatItemAction"]["actions"]
    item = actions[0]["addChatItemAction"]["item"]
    item["liveChatPaidMessageRenderer"] = item.pop("liveChatTextMessageRenderer")
    item["liveChatPaidMessageRenderer"]["purchaseAmountText"] = {"simpleText": "$5.00"}
    text_line["replayChatItemAction"]["actions"] += actions
    got = read(json.dumps(text_line).encode())
    assert [(m.id, m.offset_s, m.author, m.text) for m in got] == [
        ("t1", 7.0, "Ana", "nice"),
        ("p1", 7.0, "Cy", "take my money"),
    ]


@pytest.mark.parametrize("kind", ["chat-downloader", "TwitchDownloader", "yt-dlp"])
def test_files_are_read_as_a_stream_not_whole(kind: str) -> None:
    if kind == "chat-downloader":
        data = chat_downloader_file([cd_message(n, n, "hello there") for n in range(3000)])
    elif kind == "TwitchDownloader":
        data = twitch_downloader_file(
            [td_comment(n, n, [text("hello there")]) for n in range(3000)]
        )
    else:
        data = b"\n".join(yt_line(f"m{n}", n * 1000, [{"text": "hi"}]) for n in range(3000))
    source = io.BytesIO(data)
    messages = read_chat(source)
    first = [next(messages) for _ in range(10)]
    assert len(data) > 1_000_000
    assert source.tell() <= 2 * chat_import.CHUNK_BYTES  # ten messages in, the rest unread
    assert first[9].offset_s == 9.0


def test_a_byte_order_mark_is_fine() -> None:
    bom = b"\xef\xbb\xbf"
    assert len(read(bom + chat_downloader_file([cd_message(1, 1, "hi")]))) == 1
    assert len(read(bom + twitch_downloader_file([td_comment(1, 1, [text("hi")])]))) == 1
    assert len(read(bom + yt_line("m1", 1000, [{"text": "hi"}]))) == 1


@pytest.mark.parametrize("offset", ["NaN", "inf", "-nan", 1e8, 8 * 86400])
def test_an_offset_that_is_not_a_time_in_a_stream_is_an_error(offset: Any) -> None:
    messages = [cd_message(0, 1.0, "hi"), {**cd_message(1, 2.0, "hey"), "time_in_seconds": offset}]
    assert "export the chat again" in error_of(chat_downloader_file(messages))
    comments = [td_comment(0, 1.0, [text("hi")]), td_comment(1, 1.0, [text("hey")])]
    comments[1]["content_offset_seconds"] = offset
    assert "export the chat again" in error_of(twitch_downloader_file(comments))
    line = json.loads(yt_line("y1", 1000, [{"text": "hi"}]))
    line["replayChatItemAction"]["videoOffsetTimeMsec"] = (
        offset if isinstance(offset, str) else str(int(offset * 1000))
    )
    assert "export the chat again" in error_of(
        yt_line("y0", 0, [{"text": "a"}]) + b"\n" + json.dumps(line).encode()
    )


def test_an_offset_within_a_week_imports() -> None:
    messages = [cd_message(0, 1.0, "hi"), cd_message(1, 6 * 86400.0, "late")]
    assert [m.offset_s for m in read(chat_downloader_file(messages))] == [1.0, 6 * 86400.0]
