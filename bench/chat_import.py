"""Chat import speed and memory, one step per process (bench.streams.import_figures runs them).

    python -m bench.chat_import make <format> <messages>  # writes the file (cached), its path
    python -m bench.chat_import parse <path>  # imports it: speed and peak RSS

The generated files have the field shapes of the real exporters (author images, badges,
accessibility texts...), about 20,000 chatters, an emote in every fourth message, and a
message every 10 ms of video.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CACHE, emit

FORMATS = ("chat-downloader", "TwitchDownloader", "yt-dlp")
CHATTERS = 20_000
WORDS = ("lol", "that was insane", "KEKW", "clip it", "no way", "gg", "PogChamp", "W stream")


def _template(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"))


CHAT_DOWNLOADER = _template(
    {
        "action_type": "add_chat_item",
        "author": {
            "badges": [{"icon_name": "moderator", "title": "Moderator"}],
            "colour": "#1E90FF",
            "display_name": "@NAME@",
            "id": "@AID@",
            "images": [
                {
                    "height": 64,
                    "id": "64x64",
                    "url": "https://yt4.ggpht.com/ytc/abc=s64",
                    "width": 64,
                }
            ],
            "name": "@NAME@",
        },
        "emotes": "@EMOTES@",
        "message": "@TEXT@",
        "message_id": "@ID@",
        "message_type": "text_message",
        "time_in_seconds": "@OFF@",
        "time_text": "1:23:45",
        "timestamp": "@TS@",
    }
)
TWITCH_DOWNLOADER = _template(
    {
        "_id": "@ID@",
        "created_at": "2024-05-01T20:12:34.567Z",
        "channel_id": "12345678",
        "content_type": "video",
        "content_id": "2100000000",
        "content_offset_seconds": "@OFF@",
        "commenter": {"display_name": "@NAME@", "_id": "@AID@", "name": "@NAME@", "logo": ""},
        "message": {
            "body": "@TEXT@",
            "bits_spent": 0,
            "fragments": "@FRAGMENTS@",
            "user_badges": [{"_id": "subscriber", "version": "12"}],
            "user_color": "#8A2BE2",
            "emoticons": [],
        },
    }
)
YT_DLP = _template(
    {
        "replayChatItemAction": {
            "actions": [
                {
                    "clickTrackingParams": "CAEQl98BIhMIi9XkqtPkiQMVYV9MCB0nHQTX",
                    "addChatItemAction": {
                        "item": {
                            "liveChatTextMessageRenderer": {
                                "message": {"runs": "@RUNS@"},
                                "authorName": {"simpleText": "@NAME@"},
                                "authorPhoto": {
                                    "thumbnails": [
                                        {"url": "https://yt4.ggpht.com/ytc/abc=s32", "width": 32},
                                        {"url": "https://yt4.ggpht.com/ytc/abc=s64", "width": 64},
                                    ]
                                },
                                "contextMenuEndpoint": {
                                    "commandMetadata": {
                                        "webCommandMetadata": {"ignoreNavigation": True}
                                    },
                                    "liveChatItemContextMenuEndpoint": {"params": "Q2g0S0dnb2FH"},
                                },
                                "id": "@ID@",
                                "timestampUsec": "@TSS@",
                                "authorExternalChannelId": "@AID@",
                                "contextMenuAccessibility": {
                                    "accessibilityData": {"label": "Chat actions"}
                                },
                                "timestampText": {"simpleText": "1:23:45"},
                            }
                        },
                        "clientId": "CJ2y3ur95YkDFSE",
                    },
                }
            ],
            "videoOffsetTimeMsec": "@OFFMS@",
        },
        "isLive": False,
    }
)


def _fill(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace(key, value)
    return template


def _values(n: int) -> dict[str, Any]:
    chatter = (n * 7919) % CHATTERS
    emote = n % 4 == 0
    words = WORDS[n % len(WORDS)] + f" {n}"
    return {
        "id": f"msg-{n:09d}",
        "aid": f"UC{chatter:020d}",
        "name": f"viewer{chatter}",
        "text": f"{words} Kappa" if emote else words,
        "words": words,
        "emote": emote,
        "off": n / 100,
    }


def chat_downloader_line(n: int) -> str:
    v = _values(n)
    emotes = [{"id": "25", "name": "Kappa", "images": []}] if v["emote"] else []
    return _fill(
        CHAT_DOWNLOADER,
        {
            '"@EMOTES@"': json.dumps(emotes),
            '"@OFF@"': f"{v['off']:.2f}",
            '"@TS@"': str(1_714_590_000_000_000 + n * 10_000),
            "@ID@": v["id"],
            "@AID@": v["aid"],
            "@NAME@": v["name"],
            "@TEXT@": v["text"],
        },
    )


def twitch_downloader_line(n: int) -> str:
    v = _values(n)
    fragments: list[dict[str, Any]] = [{"text": v["words"], "emoticon": None}]
    if v["emote"]:
        fragments = [
            {"text": v["words"] + " ", "emoticon": None},
            {"text": "Kappa", "emoticon": {"emoticon_id": "25", "emoticon_set_id": ""}},
        ]
    return _fill(
        TWITCH_DOWNLOADER,
        {
            '"@FRAGMENTS@"': json.dumps(fragments),
            '"@OFF@"': f"{v['off']:.2f}",
            "@ID@": v["id"],
            "@AID@": v["aid"],
            "@NAME@": v["name"],
            "@TEXT@": v["text"],
        },
    )


def yt_dlp_line(n: int) -> str:
    v = _values(n)
    runs: list[dict[str, Any]] = [{"text": v["words"]}]
    if v["emote"]:
        emoji = {"emojiId": "UCkszU2WH9gy1mb0dV-11UJg/abc", "shortcuts": [":yt:"]}
        runs += [{"text": " "}, {"emoji": {**emoji, "isCustomEmoji": True}}]
    return _fill(
        YT_DLP,
        {
            '"@RUNS@"': json.dumps(runs),
            "@OFFMS@": str(n * 10),
            "@TSS@": str(1_714_590_000_000_000 + n * 10_000),
            "@ID@": v["id"],
            "@AID@": v["aid"],
            "@NAME@": v["name"],
        },
    )


def _write(path: Path, fmt: str, messages: int) -> None:
    lines: dict[str, Callable[[int], str]] = {
        "chat-downloader": chat_downloader_line,
        "TwitchDownloader": twitch_downloader_line,
        "yt-dlp": yt_dlp_line,
    }
    line = lines[fmt]
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as out:
        if fmt == "chat-downloader":
            out.write("[\n")
        elif fmt == "TwitchDownloader":
            out.write('{"FileInfo":{"Version":{"Major":1,"Minor":4,"Patch":0}},')
            out.write('"streamer":{"name":"bench","id":12345678},')
            out.write('"video":{"title":"bench","id":"2100000000","start":0,"end":1,"length":1},')
            out.write('"comments":[\n')
        sep = "\n" if fmt == "yt-dlp" else ",\n"
        for n in range(messages):
            out.write((sep if n else "") + line(n))
        out.write(
            {"chat-downloader": "\n]\n", "TwitchDownloader": '\n],"embeddedData":null}\n'}.get(
                fmt, "\n"
            )
        )
    part.rename(path)


def make(fmt: str, messages: int) -> Path:
    path = CACHE / "chat" / f"{fmt}-{messages}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, fmt, messages)
    return path


def parse(path: Path) -> dict[str, Any]:
    from truss.streams.chat_import import parse_all

    began = time.perf_counter()
    cpu = time.process_time()
    with path.open("rb") as chat:
        summary = parse_all(chat, limit_messages=10**8)
    seconds = time.perf_counter() - began
    return {
        "format": summary.format,
        "messages": summary.messages,
        "chatters": summary.chatters,
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    step, *args = sys.argv[1:]
    if step == "make":
        emit({"path": str(make(args[0], int(args[1])))})
    else:
        emit(parse(Path(args[0])))


if __name__ == "__main__":
    main()
