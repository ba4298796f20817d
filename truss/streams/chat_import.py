"""Chat files of past streams, read as a stream of `ChatMessage`s.

Three exporters' files are understood, told apart by their first bytes (`detect_format`):

- chat-downloader JSON: one JSON list of messages (`message_id`, `message`, `time_in_seconds`,
  `timestamp` in µs, `author{id,name}`, `emotes[{name}]`);
- TwitchDownloader JSON: `{streamer, video, comments: [{_id, content_offset_seconds,
  commenter{_id,name,display_name}, message{body, fragments[{text, emoticon}]}}], embeddedData}`;
- yt-dlp `live_chat.json`: one JSON object a line, `replayChatItemAction.actions[]
  .addChatItemAction.item.liveChatTextMessageRenderer{id, message.runs[], authorName,
  authorExternalChannelId, timestampUsec}` beside `videoOffsetTimeMsec`.

Nothing is read whole: the JSON formats go through ijson's push parser (its C backend when
installed) 64 KB at a time, JSON lines a line at a time. Memory stays flat as the file grows,
apart from the set of chatters `parse_all` counts. Limits that keep it so: a JSON-lines line over
`MAX_LINE_BYTES` and a JSON message spanning over `MAX_ITEM_BYTES` are errors. TwitchDownloader
files end with `embeddedData` (emote images, often tens of MB): once comments have started,
`MAX_ITEM_BYTES` without another comment means the comments are over, and the rest is not read.

Offsets are the exporter's own video-relative seconds; a message without one (chat recorded
live) is placed by its timestamp relative to the file's first timestamp. Messages before the
video's start (negative offsets) and non-chat events (polls, membership banners...) are skipped.
Text is stripped of control and bidi characters and capped at `MAX_TEXT` characters.

Every problem raises `ChatImportError`, whose message names it for the creator. `parse_all`
reads a whole file and returns its `ImportSummary`; it writes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, BinaryIO

import ijson

from truss.streams.model import ChatMessage

CHAT_DOWNLOADER = "chat-downloader"
TWITCH_DOWNLOADER = "TwitchDownloader"
YT_DLP = "yt-dlp"
FORMATS = (CHAT_DOWNLOADER, TWITCH_DOWNLOADER, YT_DLP)

HEAD_BYTES = 64 * 1024  # what detect_format looks at
CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_ITEM_BYTES = 16 * 1024 * 1024
MAX_TEXT = 500
MAX_NAME = 100
MAX_OFFSET_S = 7 * 86400  # a message later than this into a stream: a damaged or hostile file

KNOWN = "expected chat-downloader, TwitchDownloader or yt-dlp"
UNKNOWN_JSON = f"this looks like JSON but not a chat export we know: {KNOWN}"
_WHAT = {
    CHAT_DOWNLOADER: "a chat-downloader JSON",
    TWITCH_DOWNLOADER: "a TwitchDownloader JSON",
    YT_DLP: "a yt-dlp live_chat.json",
}
_CHAT_DOWNLOADER_KEYS = {
    "message_id",
    "message",
    "time_in_seconds",
    "timestamp",
    "author",
    "action_type",
    "message_type",
}
_TWITCH_DOWNLOADER_KEYS = {"comments", "streamer", "video", "FileInfo"}
_YT_RENDERERS = ("liveChatTextMessageRenderer", "liveChatPaidMessageRenderer")
_YT_MARKERS = tuple(name.encode() for name in _YT_RENDERERS)

# C0 and C1 controls, DEL and the bidi overrides/isolates: gone; tabs and newlines: spaces
_CLEAN: dict[int, str | None] = {c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CLEAN.update({c: None for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_CLEAN.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})


_decode = json.JSONDecoder().decode


class ChatImportError(ValueError):
    """A chat file that can't be imported; the message says why, in the creator's words."""


@dataclass(frozen=True)
class ImportSummary:
    format: str
    messages: int
    chatters: int  # distinct author ids
    duration_s: float  # the last message's offset
    first_offset_s: float


def clean(text: str, cap: int = MAX_TEXT) -> str:
    """Text without control/bidi characters, at most `cap` characters."""
    if text.isascii() and text.isprintable():  # the common case, no translation needed
        return text.strip()[:cap]
    if len(text) > cap * 4:
        text = text[: cap * 4]  # don't translate megabytes to keep 500 characters
    return text.translate(_CLEAN).strip()[:cap]


def _backend() -> ModuleType:
    try:
        return ijson.get_backend("yajl2_c")
    except Exception:  # ImportError, or ijson's own when the C extension wasn't built
        return ijson.get_backend("python")


# ---------------------------------------------------------------- format detection


def detect_format(head: bytes) -> str:
    """Which exporter wrote a file, from its first bytes (`HEAD_BYTES` are plenty)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise ChatImportError(f"the file is empty: {KNOWN}")
    if text.startswith(b"\x1f\x8b"):
        raise ChatImportError("this file is gzip-compressed: unzip it and upload the .json inside")
    if text[:1] == b"[":
        keys = _first_keys(text, "item")
        if keys is None or keys & _CHAT_DOWNLOADER_KEYS:
            return CHAT_DOWNLOADER
        raise ChatImportError(UNKNOWN_JSON)
    if text[:1] == b"{":
        if b"replayChatItemAction" in text or b"addChatItemAction" in text:
            first_line = text.split(b"\n", 1)[0]
            if _is_json_object(first_line):
                return YT_DLP
        keys = _first_keys(text, "")
        if keys and keys & _TWITCH_DOWNLOADER_KEYS:
            return TWITCH_DOWNLOADER
        raise ChatImportError(UNKNOWN_JSON)
    raise ChatImportError(_not_json(text))


def _first_keys(text: bytes, prefix: str) -> set[str] | None:
    """Keys of the first object at `prefix` in a (possibly cut) JSON head; None if none seen."""
    keys: set[str] = set()
    began = False
    try:
        for at, event, value in _backend().parse(io.BytesIO(text)):
            if at == prefix and event == "start_map":
                began = True
            elif at == prefix and event == "end_map":
                break
            elif at == prefix and event == "map_key":
                keys.add(value)
    except ijson.JSONError:
        pass  # the head ends mid-file, or the JSON is bad: judged on what was seen
    return keys if began else None


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _not_json(text: bytes) -> str:
    sample = text[:4096]
    try:
        decoded = sample.decode("utf-8")
    except UnicodeDecodeError:
        decoded = ""
    if not decoded or sum(not c.isprintable() and not c.isspace() for c in decoded) > 8:
        return f"this is not a chat export but a binary file (a video or an archive?): {KNOWN}"
    if "," in decoded.split("\n", 1)[0]:
        return f"this is not a chat export but text, perhaps a CSV table: {KNOWN}"
    return f"this is not a chat export but plain text, not JSON: {KNOWN}"


# ---------------------------------------------------------------- reading


def _read_head(fileobj: BinaryIO) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES:
        got = fileobj.read(HEAD_BYTES - len(head))
        if not got:
            break
        head += got
    return head


def _chunks(head: bytes, fileobj: BinaryIO) -> Iterator[bytes]:
    if head:
        yield head
    while chunk := fileobj.read(CHUNK_BYTES):
        yield chunk


def read_chat(fileobj: BinaryIO) -> Iterator[ChatMessage]:
    """Every chat message of an export, in file order. Raises `ChatImportError`: at once for
    a file of no known format, while iterating for a problem further on."""
    return _read(fileobj)[1]


def _read(fileobj: BinaryIO) -> tuple[str, Iterator[ChatMessage]]:
    head = _read_head(fileobj).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    kind = detect_format(head)
    chunks = _chunks(head, fileobj)
    if kind == YT_DLP:
        return kind, _yt_dlp(_lines(chunks))
    if kind == CHAT_DOWNLOADER:
        return kind, _chat_downloader(_json_items(chunks, "item", kind))
    return kind, _twitch_downloader(_json_items(chunks, "comments.item", kind))


def _json_items(chunks: Iterator[bytes], prefix: str, kind: str) -> Iterator[Any]:
    """Objects at `prefix`, parsed 64 KB at a time; a single one over MAX_ITEM_BYTES is an
    error (a TwitchDownloader file's comments are over instead, see the module's doc)."""
    reader = _GapReader(chunks)
    seen = 0
    try:
        for item in _backend().items(reader, prefix, use_float=True):
            reader.gap = 0
            seen += 1
            yield item
    except _Oversized:
        if kind == TWITCH_DOWNLOADER and seen:
            return
        raise ChatImportError(
            f"{_WHAT[kind]} has a single entry over {MAX_ITEM_BYTES // 2**20} MB, "
            "more than any chat message: the file is damaged; export the chat again"
        ) from None
    except ijson.JSONError as error:
        raise ChatImportError(_json_problem(kind, seen, str(error))) from None


class _Oversized(Exception):
    pass


class _GapReader:
    """Chunks as a file for ijson's pull parser (3x faster than its push one), counting the
    bytes read since the consumer last reset `gap`; over MAX_ITEM_BYTES raises _Oversized."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.gap = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson's probe for bytes or text
        chunk = next(self._chunks, b"")
        self.gap += len(chunk)
        if self.gap > MAX_ITEM_BYTES:
            raise _Oversized
        return chunk


def _json_problem(kind: str, seen: int, detail: str) -> str:
    where = f"after message {seen:,}" if seen else "before its first message"
    if "premature EOF" in detail:
        return (
            f"{_WHAT[kind]} file ends in the middle ({where}): it was cut short, "
            "upload the whole file again"
        )
    return f"{_WHAT[kind]} file is not valid JSON {where}: export the chat again"


def _lines(chunks: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, line) without reading a line of over MAX_LINE_BYTES whole."""
    number, rest = 0, b""
    for chunk in chunks:
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for line in parts:
            number += 1
            yield number, line
        if len(rest) > MAX_LINE_BYTES:
            raise ChatImportError(
                f"line {number + 1} of a yt-dlp live_chat.json is longer than "
                f"{MAX_LINE_BYTES // 2**20} MB, more than any chat message: the file is damaged"
            )
    if rest:
        yield number + 1, rest


class _Clock:
    """Offsets for messages without a video offset: seconds since the first timestamp."""

    def __init__(self) -> None:
        self.first: float | None = None

    def offset(self, timestamp_us: float) -> float:
        if self.first is None:
            self.first = timestamp_us
        return (timestamp_us - self.first) / 1e6


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _named(entries: Any, key: str, when: str = "") -> list[str]:
    """The `key` strings of a list of objects (only those with a truthy `when` if given)."""
    if not entries or not isinstance(entries, list):
        return []
    names = []
    for entry in entries:
        name = _dict(entry).get(key)
        if isinstance(name, str) and (not when or entry.get(when)):
            names.append(name.strip())
    return names


def _object(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when the exporter wrote something else there."""
    return value if value.__class__ is dict else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _message(
    id_: Any, offset: float, author_id: Any, author: Any, text: str, emotes: list[str]
) -> ChatMessage:
    if not offset <= MAX_OFFSET_S:  # NaN and infinity too
        raise ChatImportError(
            f"a message is {offset} seconds into the stream, which no stream's chat can be "
            f"(the limit is {MAX_OFFSET_S // 86400} days): the file is damaged or is not a chat "
            "export; export the chat again"
        )
    if id_.__class__ is str and author_id.__class__ is str and author.__class__ is str:
        plain = id_ + author_id + author + text + "".join(emotes)
        if (  # the common case, without `clean`'s work: equal to the general one below
            plain.isascii()
            and plain.isprintable()
            and len(text) <= MAX_TEXT
            and len(id_) <= 200
            and len(author_id) <= 200
            and len(author) <= MAX_NAME
            and author_id.strip()
            and (not emotes or all(0 < len(e) <= MAX_NAME for e in emotes))
        ):
            return ChatMessage(
                id_.strip(),
                offset,
                author_id.strip(),
                author.strip(),
                text.strip(),
                tuple(dict.fromkeys(emotes)) if emotes else (),
            )
    name = clean(str(author or ""), MAX_NAME)
    return ChatMessage(
        id=clean(str(id_), 200),
        offset_s=offset,
        author_id=clean(str(author_id or ""), 200) or name,
        author=name,
        text=clean(text),
        emotes=tuple(dict.fromkeys(clean(e, MAX_NAME) for e in emotes if e)) if emotes else (),
    )


def _chat_downloader(items: Iterator[Any]) -> Iterator[ChatMessage]:
    clock = _Clock()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ChatImportError(f"message {n} of a chat-downloader JSON is not an object")
        text = item.get("message")
        if text.__class__ is not str or not text.strip():
            continue  # a ticker, banner or other event without text
        offset = item.get("time_in_seconds")
        if offset.__class__ is not float:
            offset = _number(offset)
        if offset is None:
            stamp = _number(item.get("timestamp"))
            if stamp is None:
                raise ChatImportError(
                    f"message {n} of a chat-downloader JSON has neither time_in_seconds nor "
                    "timestamp: export the chat again"
                )
            offset = clock.offset(stamp)
        if offset < 0:
            continue
        author = _object(item.get("author"))
        yield _message(
            item.get("message_id") or f"{CHAT_DOWNLOADER}:{n}",
            offset,
            author.get("id"),
            author.get("display_name") or author.get("name"),
            text,
            _named(item.get("emotes"), "name"),
        )


def _twitch_downloader(items: Iterator[Any]) -> Iterator[ChatMessage]:
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ChatImportError(f"comment {n} of a TwitchDownloader JSON is not an object")
        offset = item.get("content_offset_seconds")
        if offset.__class__ is not float:
            offset = _number(offset)
        if offset is None:
            raise ChatImportError(
                f"comment {n} of a TwitchDownloader JSON has no content_offset_seconds: "
                "export the chat again"
            )
        message = _object(item.get("message"))
        text = message.get("body")
        if text.__class__ is not str or not text.strip() or offset < 0:
            continue
        commenter = _object(item.get("commenter"))
        yield _message(
            item.get("_id") or f"{TWITCH_DOWNLOADER}:{n}",
            offset,
            commenter.get("_id"),
            commenter.get("display_name") or commenter.get("name"),
            text,
            _named(message.get("fragments"), "text", when="emoticon"),
        )


def _yt_dlp(lines: Iterator[tuple[int, bytes]]) -> Iterator[ChatMessage]:
    clock = _Clock()
    for number, line in lines:
        if b"liveChatTextMessageRenderer" not in line and not any(
            marker in line for marker in _YT_MARKERS
        ):
            if line.strip() and not _is_json_object(line):
                raise ChatImportError(
                    f"line {number} of a yt-dlp live_chat.json is not JSON (cut short or "
                    "damaged): upload the whole file again, or export the chat again"
                )
            continue  # a blank line, or an event that is not a chat message
        try:
            entry = _decode(line.decode())
        except ValueError:  # UnicodeDecodeError too
            raise ChatImportError(
                f"line {number} of a yt-dlp live_chat.json is not JSON (cut short or damaged): "
                "upload the whole file again, or export the chat again"
            ) from None
        try:
            quick = _yt_dlp_quick(entry)
        except (KeyError, TypeError, ValueError, AttributeError):
            quick = None
        if quick is not None:
            yield quick
        else:
            yield from _yt_dlp_entry(entry, number, clock)


def _yt_dlp_quick(entry: Any) -> ChatMessage | None:
    """The common line, one text message with its video offset (None or an error: any other,
    left to _yt_dlp_entry)."""
    replay = entry["replayChatItemAction"]
    (action,) = replay["actions"]
    renderer = action["addChatItemAction"]["item"]["liveChatTextMessageRenderer"]
    offset = int(replay["videoOffsetTimeMsec"]) / 1000
    text, emotes = _yt_runs(renderer["message"]["runs"])
    if offset < 0 or not text.strip() or not renderer["id"]:
        return None
    return _message(
        renderer["id"],
        offset,
        renderer.get("authorExternalChannelId"),
        renderer["authorName"]["simpleText"],
        text,
        emotes,
    )


def _yt_dlp_entry(entry: Any, number: int, clock: _Clock) -> Iterator[ChatMessage]:
    replay = entry.get("replayChatItemAction") if isinstance(entry, dict) else None
    if not isinstance(replay, dict):
        return
    video_ms = _number(replay.get("videoOffsetTimeMsec"))
    for action in _list(replay.get("actions")):
        item = _dict(_dict(_dict(action).get("addChatItemAction")).get("item"))
        renderer = next((item[k] for k in _YT_RENDERERS if k in item), None)
        if not isinstance(renderer, dict):
            continue
        text, emotes = _yt_runs(_list(_dict(renderer.get("message")).get("runs")))
        if not text.strip():
            continue
        if video_ms is not None:
            offset = video_ms / 1000
        else:
            stamp = _number(renderer.get("timestampUsec"))
            if stamp is None:
                raise ChatImportError(
                    f"line {number} of a yt-dlp live_chat.json has a message with neither "
                    "videoOffsetTimeMsec nor timestampUsec: export the chat again"
                )
            offset = clock.offset(stamp)
        if offset < 0:
            continue
        yield _message(
            renderer.get("id") or f"{YT_DLP}:{number}",
            offset,
            renderer.get("authorExternalChannelId"),
            _dict(renderer.get("authorName")).get("simpleText"),
            text,
            emotes,
        )


def _yt_runs(runs: Iterable[Any]) -> tuple[str, list[str]]:
    """A message's text (emoji as their shortcut or character) and its emoji names."""
    parts: list[str] = []
    emotes: list[str] = []
    for run in runs:
        if not isinstance(run, dict):
            continue
        if isinstance(run.get("text"), str):
            parts.append(run["text"])
        elif isinstance(run.get("emoji"), dict):
            emoji = run["emoji"]
            shortcuts = _list(emoji.get("shortcuts"))
            name = (
                shortcuts[0] if shortcuts and emoji.get("isCustomEmoji") else emoji.get("emojiId")
            )
            name = name or (shortcuts[0] if shortcuts else "")
            if isinstance(name, str) and name:
                parts.append(name)
                emotes.append(name)
    return "".join(parts), emotes


# ---------------------------------------------------------------- the whole file


def parse_all(
    fileobj: BinaryIO,
    limit_messages: int,
    on_message: Callable[[ChatMessage], None] | None = None,
) -> ImportSummary:
    """Read a whole chat file and summarise it; writes nothing. `on_message` (optional) sees
    each message as it is read, e.g. to aggregate, but must not write: the file may still turn
    out bad further on. Over `limit_messages` messages is an error."""
    kind, messages = _read(fileobj)
    count = 0
    chatters: set[str] = set()
    first = last = 0.0
    for message in messages:
        count += 1
        if count > limit_messages:
            raise ChatImportError(
                f"this chat has more than {limit_messages:,} messages, the most one import "
                "takes: split the file (or import only part of the stream)"
            )
        if count == 1:
            first = message.offset_s
        last = max(last, message.offset_s)
        chatters.add(message.author_id)
        if on_message is not None:
            on_message(message)
    if count == 0:
        raise ChatImportError(f"this {_WHAT[kind][2:]} file holds no chat messages")
    return ImportSummary(kind, count, len(chatters), last, first)
