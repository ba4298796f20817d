"""Generated chat traces with planted spikes over realistic noise (tests and `make bench`).

A trace is a stream's chat, message by message:
- a drifting baseline: a Poisson message rate that grows over the stream and wanders slowly
  (±30 % over minutes), from regulars who talk often and lurkers who rarely do, with the odd
  emote in ordinary chatter;
- small bursts of different sizes (a conversation, a question to chat): 1.3-2x the rate for a
  few seconds, no reaction emotes;
- planted spikes of different sizes: chat jumps to 4-12x its rate within a second or two and
  decays over several seconds, many chatters at once, reaction emotes ("KEKW", "Pog", "clip
  it"); `planted` holds each one's peak second;
- a raid: ~150 new chatters arrive within seconds and keep talking (the rate steps up ~3x and
  thins out over minutes) — a new level, not a moment;
- a spam bot repeating one message (with emotes in it) several times a second for a while.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from truss.streams.model import ChatMessage, Spike

ORDINARY = (
    "hi chat",
    "what game is this",
    "how long has he been live",
    "gg",
    "nice",
    "that was close",
    "lol",
    "true",
    "wait what",
    "is this ranked",
    "first time here",
    "love this song",
    "Kappa",
    "LUL",
    "hello from Brazil",
    "he is cooking",
    "any plans for later",
    "ok",
)
REACTIONS = (
    ("KEKW", "KEKW KEKW", "OMEGALUL", "LUL LUL LUL", "LMAO", "clip it", "KEKW clip that"),
    ("Pog", "PogChamp", "POGGERS", "no way", "NO WAY Pog", "clip it", "holy"),
    ("monkaS", "monkaW", "WutFace", "monkaS monkaS", "no way", "holy"),
)
RAID = ("raidHype raidHype", "hello from the raid", "hi chat", "raid gang", "hi", "raidHype")
SPAM = "PogChamp FREE FOLLOWERS clip it PogChamp at spam dot example"


@dataclass
class Trace:
    seed: int
    duration_s: int
    messages: list[ChatMessage] = field(default_factory=list)
    planted: list[int] = field(default_factory=list)  # peak seconds of the planted spikes
    raid_at: int | None = None
    spam_at: tuple[int, int] | None = None  # (from, to) seconds


class _Writer:
    def __init__(self, trace: Trace, rng: random.Random) -> None:
        self.trace, self.rng, self.n = trace, rng, 0

    def say(self, second: int, author: str, text: str) -> None:
        self.n += 1
        self.trace.messages.append(
            ChatMessage(
                id=f"{self.trace.seed}-{self.n}",
                offset_s=second + self.rng.random() * 0.999,
                author_id=author,
                author=author.replace("u", "viewer_", 1),
                text=text,
            )
        )


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small rates, normal approximation above 30)."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _planted_times(rng: random.Random, duration: int, count: int, avoid: list[int]) -> list[int]:
    """Spike peaks at least 90 s apart, after the first 2 minutes, away from the raid/spam."""
    times: list[int] = []
    tries = 0
    while len(times) < count and tries < 10_000:
        tries += 1
        t = rng.randrange(150, duration - 60)
        if all(abs(t - other) >= 90 for other in times + avoid):
            times.append(t)
    return sorted(times)


def chat_trace(
    seed: int,
    minutes: float = 30,
    spikes: int = 8,
    raid: bool = True,
    spam: bool = True,
    bursts_on: bool = True,
    base_rate: float | None = None,
) -> Trace:
    """A generated stream chat (see the module's docstring); the same seed, the same trace."""
    rng = random.Random(seed)
    duration = int(minutes * 60)
    trace = Trace(seed, duration)
    out = _Writer(trace, rng)
    rate0 = base_rate if base_rate is not None else rng.uniform(1.5, 4.0)
    growth = rng.uniform(0.5, 1.5)  # the rate grows by this share over the stream
    phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(300, 900)
    regulars = [f"u{i}" for i in range(300)]
    lurkers = [f"u{i}" for i in range(300, 3000)]
    raiders = [f"r{i}" for i in range(150)]

    avoid: list[int] = []
    if raid:
        trace.raid_at = rng.randrange(duration // 3, 2 * duration // 3)
        avoid += [trace.raid_at, trace.raid_at + 60]
    if spam:
        start = rng.randrange(200, duration - 200)
        trace.spam_at = (start, start + rng.randrange(20, 60))
        avoid += list(trace.spam_at)
    trace.planted = _planted_times(rng, duration, spikes, avoid)
    shapes = {
        t: (rng.uniform(4, 12), rng.uniform(3, 8), rng.choice(REACTIONS)) for t in trace.planted
    }
    bursts = {rng.randrange(60, duration): rng.uniform(1.3, 2.0) for _ in range(duration // 120)}
    bursts = bursts if bursts_on else {}

    for second in range(duration):
        drift = (1 + growth * second / duration) * (
            1 + 0.3 * math.sin(phase + second / period * 2 * math.pi)
        )
        rate = rate0 * drift
        burst = max((size for at, size in bursts.items() if at <= second < at + 3), default=1.0)
        for _ in range(_poisson(rng, rate * burst)):
            author = rng.choice(regulars) if rng.random() < 0.8 else rng.choice(lurkers)
            out.say(second, author, rng.choice(ORDINARY))
        _raid(out, rng, trace, second, rate0, raiders)
        _spam(out, rng, trace, second)
        _spikes(out, rng, second, rate, shapes, regulars + lurkers)
    trace.messages.sort(key=lambda m: m.offset_s)
    return trace


def _raid(
    out: _Writer, rng: random.Random, trace: Trace, second: int, rate0: float, raiders: list[str]
) -> None:
    if trace.raid_at is None or second < trace.raid_at:
        return
    since = second - trace.raid_at
    ramp = min(1.0, (since + 1) / 8)  # raiders arrive over ~8 s
    level = 2.0 * rate0 * ramp * math.exp(-since / 900)  # and thin out over minutes
    for _ in range(_poisson(rng, level)):
        out.say(second, rng.choice(raiders), rng.choice(RAID + ORDINARY))


def _spam(out: _Writer, rng: random.Random, trace: Trace, second: int) -> None:
    if trace.spam_at and trace.spam_at[0] <= second < trace.spam_at[1]:
        for _ in range(rng.randrange(4, 9)):
            out.say(second, "spambot", SPAM)


def _spikes(
    out: _Writer,
    rng: random.Random,
    second: int,
    rate: float,
    shapes: dict[int, tuple[float, float, tuple[str, ...]]],
    chatters: list[str],
) -> None:
    for peak, (size, tau, words) in shapes.items():
        if second == peak - 1:
            extra = 0.4 * size * rate  # the rise
        elif peak <= second < peak + 6 * tau:
            extra = size * rate * math.exp(-(second - peak) / tau)
        else:
            continue
        extra = max(extra, 8.0) if second == peak else extra
        for _ in range(_poisson(rng, extra)):
            text = rng.choice(words) if rng.random() < 0.85 else rng.choice(ORDINARY)
            out.say(second, rng.choice(chatters), text)


def match(found: list[Spike], planted: list[int], tolerance: float = 2.0) -> tuple[int, int]:
    """(found spikes whose peak is within tolerance of a planted one, planted ones found)."""
    hits = sum(any(abs(s.offset_s - t) <= tolerance for t in planted) for s in found)
    recalled = sum(any(abs(s.offset_s - t) <= tolerance for s in found) for t in planted)
    return hits, recalled
