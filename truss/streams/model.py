"""The value types every part of streams shares: a chat message, a second of chat, a spike."""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCES = ("twitch", "youtube", "import")


@dataclass(frozen=True)
class ChatMessage:
    """One chat message, from a live listener or an imported file."""

    id: str  # the platform's message id (de-duplication key)
    offset_s: float  # seconds since the stream started (video-relative)
    author_id: str
    author: str
    text: str
    emotes: tuple[str, ...] = ()  # emote names found in the message (platform-tagged or lexicon)


@dataclass(frozen=True)
class SecondBin:
    """Chat in one second of the stream."""

    second: int
    messages: int
    chatters: int  # unique authors in this second
    weight: float  # weighted emote/keyword score of the second's messages


@dataclass(frozen=True)
class Spike:
    """A stretch where chat exploded, relative to its own recent baseline."""

    offset_s: float  # the peak second (chat time, before the reaction lag is applied)
    start_s: float
    end_s: float
    intensity: float  # peak message rate ÷ baseline rate ("14x its normal rate")
    score: int  # 0-100
    top_emotes: tuple[tuple[str, int], ...] = field(default=())  # (emote, count), most first
    samples: tuple[str, ...] = field(default=())  # a few messages from the peak (raw text)
    marker: bool = False  # a creator's "Mark this moment", treated like a strong spike
