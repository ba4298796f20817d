"""Finding the moments chat exploded: 1-second bins, a robust baseline, hysteresis.

The method, in order:

1. **Bins** (`bin_messages`). Chat is cut into 1-second bins: the messages, the unique chatters
   and a weighted emote/keyword score (the lexicon: KEKW, OMEGALUL, "clip it" weigh a lot,
   Kappa little). A term counts once per message, a chatter's messages count once per second,
   and a chatter repeating their own message within `REPEAT_S` adds neither a chatter nor any
   weight: a spam bot is one quiet chatter, however fast it posts.
2. **Activity.** Each second's activity is its chatters plus its weight, smoothed over the last
   `SMOOTH_S` seconds (a trailing mean: the tracker never needs the future).
3. **Baseline.** The rolling median of the activity over the last `BASELINE_S` seconds, and its
   spread, the MAD (x1.4826, at least the Poisson spread √baseline). A median over minutes
   follows a chat that grows slowly and ignores the spikes themselves (seconds inside a spike
   are kept out of it).
4. **Hysteresis.** A spike starts when the activity rises above the baseline by
   `ENTER_SIGMAS` spreads *and* to `ENTER_RATIO` x the baseline (and by `MIN_EXCESS` at
   least, so a dead chat doesn't spike on two messages); it ends when the activity falls below
   the lower exit bar (`EXIT_SIGMAS`, `EXIT_RATIO`).
5. **Level shifts are not spikes.** A stretch above the bar for longer than `MAX_SPIKE_S` is a
   new level (a raid of new chatters, a stream that got busy), not a moment: it is dropped and
   the baseline restarts from the new level.
6. **Merging, and steps.** A spike that starts within `MERGE_S` of the previous one's end is
   the same moment; the two are merged. A spike whose peak doesn't stand `STANDOUT` times
   above the level chat settles at in those `MERGE_S` seconds after it is a step up (a raid
   arriving: the new level is noisy, the old baseline stale), not a moment.
7. **Figures.** The peak is the first second whose centred 3-second activity reaches
   `PEAK_SHARE` of the spike's highest (chat often plateaus: the plateau's start is the
   moment); intensity is the highest message rate (centred 3-second mean) over the baseline
   message rate ("14x its normal rate"); the score (0-100) grows with the activity's peak
   over its baseline.

`SpikeTracker` is the live form: feed it bins in time order, it returns each spike once the
spike has ended and no merge can follow. `find_spikes` runs the same tracker over a list of
bins, so live and batch results are the same by construction. `describe` fills a spike's top
emotes and a few sample messages from the chat itself.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, insort
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from truss.streams.model import ChatMessage, SecondBin, Spike

# Lexicon: term -> weight. Single words match whole tokens, case-insensitively; phrases match
# as words inside the message. Creators can edit theirs; this is the default.
DEFAULT_LEXICON: Mapping[str, float] = {
    "KEKW": 1.0,
    "OMEGALUL": 1.0,
    "LUL": 0.8,
    "LULW": 0.8,
    "LMAO": 0.7,
    "LOL": 0.5,
    "PogChamp": 1.0,
    "Pog": 1.0,
    "PogU": 1.0,
    "POGGERS": 1.0,
    "Poggers": 1.0,
    "monkaS": 0.8,
    "monkaW": 0.8,
    "WutFace": 0.7,
    "PepeLaugh": 0.8,
    "Clap": 0.6,
    "EZ": 0.5,
    "F": 0.5,
    "W": 0.4,
    "Kreygasm": 0.7,
    "clip it": 1.5,
    "clip that": 1.5,
    "CLIPPED": 1.2,
    "no way": 0.8,
    "holy": 0.6,
    "Kappa": 0.2,
}

REPEAT_S = 15.0  # a chatter's identical message within this many seconds is a repeat (spam)
MAX_MESSAGE_WEIGHT = 3.0  # one message can't weigh more than this, however many emotes
WEIGHT_FACTOR = 2.0  # activity = chatters + this x weight (reactions count more than talk)
SMOOTH_S = 3  # trailing mean of the activity
BASELINE_S = 120  # rolling median and MAD window
MIN_HISTORY_S = 20  # no spike before the baseline has this many seconds
ENTER_SIGMAS = 5.0
ENTER_RATIO = 3.0
EXIT_SIGMAS = 2.0
EXIT_RATIO = 1.5
MIN_EXCESS = 2.0  # activity units (about chatters per second) above the baseline
MAX_SPIKE_S = 45  # longer above the bar: a new level (raid, busier chat), not a spike
RESTART_S = 30  # after a level shift, the baseline restarts from this many last seconds
STANDOUT = 2.5  # a spike's peak stands this many times above the level chat settles at after
MERGE_S = 8  # a spike starting this soon after the previous one's end is merged into it
PEAK_SHARE = 0.8  # the peak: the first second at this share of the highest (a plateau's start)
MIN_MESSAGE_RATE = 0.5  # floor of the baseline message rate, for the intensity
MAX_SAMPLES = 5
MAX_SAMPLE_CHARS = 200
TOP_EMOTES = 5

_TOKEN = re.compile(r"[\w']+|[^\w\s]+")


class Lexicon:
    """A lexicon ready for matching: single-word terms by lowercased token, phrases by regex."""

    def __init__(self, terms: Mapping[str, float]) -> None:
        self.words: dict[str, tuple[str, float]] = {}
        self.phrases: list[tuple[re.Pattern[str], str, float]] = []
        for term, weight in terms.items():
            if " " in term.strip():
                pattern = re.compile(
                    r"\b" + r"\s+".join(map(re.escape, term.split())) + r"\b", re.I
                )
                self.phrases.append((pattern, term, weight))
            else:
                self.words.setdefault(term.lower(), (term, weight))

    def terms(self, message: ChatMessage) -> dict[str, float]:
        """The lexicon terms in one message (each once), with their weights; platform-tagged
        emotes count even when the text is spelled differently."""
        found: dict[str, float] = {}
        for token in _TOKEN.findall(message.text):
            hit = self.words.get(token.lower())
            if hit:
                found[hit[0]] = hit[1]
        for emote in message.emotes:
            hit = self.words.get(emote.lower())
            if hit:
                found[hit[0]] = hit[1]
        for pattern, term, weight in self.phrases:
            if pattern.search(message.text):
                found[term] = weight
        return found


def _lexicon(lexicon: Mapping[str, float] | Lexicon) -> Lexicon:
    return lexicon if isinstance(lexicon, Lexicon) else Lexicon(lexicon)


class Binner:
    """Messages (in time order) into 1-second bins; remembers recent messages to spot repeats."""

    def __init__(self, lexicon: Mapping[str, float] | Lexicon = DEFAULT_LEXICON) -> None:
        self.lexicon = _lexicon(lexicon)
        self._last: dict[str, tuple[str, float]] = {}  # author -> (text, offset)

    def is_repeat(self, message: ChatMessage) -> bool:
        """Whether the author said exactly this within REPEAT_S (and remember it)."""
        text = message.text.strip().lower()
        before = self._last.get(message.author_id)
        self._last[message.author_id] = (text, message.offset_s)
        return before is not None and before[0] == text and message.offset_s - before[1] <= REPEAT_S

    def bin(self, second: int, messages: Sequence[ChatMessage]) -> SecondBin:
        """One second's bin (the messages all fall in it, in time order)."""
        chatters: dict[str, float] = {}
        for message in messages:
            if self.is_repeat(message):
                continue
            weight = min(MAX_MESSAGE_WEIGHT, sum(self.lexicon.terms(message).values()))
            chatters[message.author_id] = max(chatters.get(message.author_id, 0.0), weight)
        if len(self._last) > 50_000:  # forget the quiet ones
            cutoff = second - REPEAT_S
            self._last = {a: v for a, v in self._last.items() if v[1] >= cutoff}
        return SecondBin(second, len(messages), len(chatters), round(sum(chatters.values()), 3))


def bin_messages(
    messages: Iterable[ChatMessage], lexicon: Mapping[str, float] = DEFAULT_LEXICON
) -> list[SecondBin]:
    """1-second bins from second 0 (or the earliest message, if before) to the last message's,
    empty seconds included."""
    by_second: dict[int, list[ChatMessage]] = {}
    for message in sorted(messages, key=lambda m: m.offset_s):
        by_second.setdefault(math.floor(message.offset_s), []).append(message)
    if not by_second:
        return []
    binner = Binner(lexicon)
    first, last = min(0, min(by_second)), max(by_second)
    return [binner.bin(s, by_second.get(s, [])) for s in range(first, last + 1)]


def activity(b: SecondBin) -> float:
    """What the detector watches: chatters plus their emote/keyword weight."""
    return b.chatters + WEIGHT_FACTOR * b.weight


class _RollingMedian:
    """Median and MAD of the last `size` values (sorted list; the window is small)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.window: deque[float] = deque()
        self.ordered: list[float] = []

    def __len__(self) -> int:
        return len(self.window)

    def add(self, value: float) -> None:
        self.window.append(value)
        insort(self.ordered, value)
        if len(self.window) > self.size:
            old = self.window.popleft()
            del self.ordered[bisect_left(self.ordered, old)]

    def reset(self, values: Iterable[float]) -> None:
        self.window.clear()
        self.ordered.clear()
        for value in values:
            self.add(value)

    def median(self) -> float:
        return _median(self.ordered) if self.ordered else 0.0

    def mad(self) -> float:
        centre = self.median()
        return _median(sorted(abs(v - centre) for v in self.ordered)) if self.ordered else 0.0


def _median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class _Candidate:
    """A spike being watched (or waiting out the merge window)."""

    start: int
    bins: list[SecondBin]  # from start to the current second
    base_activity: float
    base_rate: float
    end: int | None = None  # the first second back under the exit bar
    after: list[float] = field(default_factory=list)  # activity since the end

    def is_step(self) -> bool:
        """Chat didn't come back down after the peak: the peak doesn't stand `STANDOUT` times
        above the level chat settled at. A step up, such as a raid arriving, is no spike."""
        if not self.after:
            return False
        settled = sum(self.after) / len(self.after)
        return max(_centred([activity(b) for b in self.bins])) < STANDOUT * settled


class SpikeTracker:
    """Spike detection, live: `add` bins in time order; each spike is returned once it ended.

    Missing seconds (no bin) count as silent seconds. `finish` returns a spike still open at
    the end of the stream."""

    def __init__(self) -> None:
        self.activity = _RollingMedian(BASELINE_S)
        self.rate = _RollingMedian(BASELINE_S)
        self.recent: deque[SecondBin] = deque(maxlen=max(RESTART_S, SMOOTH_S))
        self.smoothed: deque[float] = deque(maxlen=RESTART_S)
        self.next_second: int | None = None
        self.open: _Candidate | None = None

    def add(self, b: SecondBin) -> list[Spike]:
        """Take the next second; the spikes that became final with it."""
        if self.next_second is not None and b.second < self.next_second:
            return []  # a second already seen
        found: list[Spike] = []
        while self.next_second is not None and self.next_second < b.second:
            found += self._step(SecondBin(self.next_second, 0, 0, 0.0))
        return found + self._step(b)

    def finish(self) -> list[Spike]:
        """The end of the stream: a spike still above the bar ends here (unless it is a level
        shift), one waiting out the merge window is final."""
        candidate, self.open = self.open, None
        if candidate is None or candidate.is_step():
            return []
        if candidate.end is None:
            candidate.end = candidate.bins[-1].second + 1
        return [_spike(candidate)]

    def _step(self, b: SecondBin) -> list[Spike]:
        self.next_second = b.second + 1
        self.recent.append(b)
        window = list(self.recent)[-SMOOTH_S:]
        level = sum(activity(x) for x in window) / len(window)
        rate = sum(x.messages for x in window) / len(window)
        self.smoothed.append(level)
        if self.open is not None:
            return self._watch(b, level, rate)
        if len(self.activity) >= MIN_HISTORY_S and level >= self._bar(ENTER_SIGMAS, ENTER_RATIO):
            start = max(b.second - SMOOTH_S + 1, self.recent[0].second)
            bins = [x for x in self.recent if x.second >= start]
            self.open = _Candidate(start, bins, self.activity.median(), self._base_rate())
            return []
        self._learn(level, rate)
        return []

    def _watch(self, b: SecondBin, level: float, rate: float) -> list[Spike]:
        candidate = self.open
        assert candidate is not None
        candidate.bins.append(b)
        above = level >= self._bar(EXIT_SIGMAS, EXIT_RATIO)
        if candidate.end is None:
            if above and b.second - candidate.start >= MAX_SPIKE_S:
                self._level_shift()
            elif not above:
                candidate.end = b.second
            return []
        if level >= self._bar(ENTER_SIGMAS, ENTER_RATIO):  # another peak soon after: merge
            candidate.end = None
            candidate.after.clear()
            return []
        self._learn(level, rate)
        candidate.after.append(level)
        if b.second - candidate.end >= MERGE_S:
            self.open = None
            return [] if candidate.is_step() else [_spike(candidate)]
        return []

    def _level_shift(self) -> None:
        """Chat stayed up too long to be a moment: the new level is the baseline."""
        self.open = None
        self.activity.reset(self.smoothed)
        self.rate.reset(x.messages for x in self.recent)

    def _learn(self, level: float, rate: float) -> None:
        self.activity.add(level)
        self.rate.add(rate)

    def _base_rate(self) -> float:
        return max(MIN_MESSAGE_RATE, self.rate.median())

    def _bar(self, sigmas: float, ratio: float) -> float:
        """The activity above which chat is 'up' (sigmas spreads and ratio x the baseline)."""
        base = self.activity.median()
        spread = max(1.4826 * self.activity.mad(), math.sqrt(max(base, 1.0)) / 2)
        return base + max(sigmas * spread, (ratio - 1) * base, MIN_EXCESS * (sigmas / 5))


def _spike(candidate: _Candidate) -> Spike:
    """A finished candidate's figures: peak, window, intensity, score."""
    end = candidate.end if candidate.end is not None else candidate.bins[-1].second + 1
    bins = [b for b in candidate.bins if b.second < end] or candidate.bins[:1]
    centred = _centred([activity(b) for b in bins])
    highest = max(centred)
    top = next(i for i, v in enumerate(centred) if v >= PEAK_SHARE * highest)
    intensity = max(_centred([b.messages for b in bins])) / candidate.base_rate
    ratio = highest / max(candidate.base_activity, 1.0)
    return Spike(
        offset_s=float(bins[top].second),
        start_s=float(candidate.start),
        end_s=float(end),
        intensity=round(intensity, 1),
        score=score(ratio),
    )


def _centred(values: Sequence[float]) -> list[float]:
    """Centred 3-second means."""
    return [
        sum(values[max(0, i - 1) : i + 2]) / len(values[max(0, i - 1) : i + 2])
        for i in range(len(values))
    ]


def score(ratio: float) -> int:
    """0-100 from the peak activity over the baseline: 3x ≈ 29, 5x = 50, 9x = 75, 17x ≈ 94."""
    return max(0, min(100, round(100 * (1 - 2 ** (-max(0.0, ratio - 1) / 4)))))


def find_spikes(bins: Iterable[SecondBin]) -> list[Spike]:
    """Every spike in a stream's bins (in time order), as the live tracker would find them."""
    tracker = SpikeTracker()
    found: list[Spike] = []
    for b in bins:
        found += tracker.add(b)
    return found + tracker.finish()


def describe(
    spike: Spike,
    messages: Iterable[ChatMessage],
    lexicon: Mapping[str, float] = DEFAULT_LEXICON,
) -> Spike:
    """The spike with its top emotes (messages in its window using each) and a few sample
    messages from around its peak (raw text; pages escape it), repeats and spam left out."""
    terms = _lexicon(lexicon)
    inside = sorted(
        (m for m in messages if spike.start_s <= m.offset_s < spike.end_s),
        key=lambda m: m.offset_s,
    )
    counts: Counter[str] = Counter()
    binner = Binner(terms)
    fresh: list[ChatMessage] = []
    for message in inside:
        if binner.is_repeat(message):
            continue
        fresh.append(message)
        counts.update(set(terms.terms(message)) | set(message.emotes))
    top = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_EMOTES])
    return replace(spike, top_emotes=top, samples=_samples(spike, fresh))


def _samples(spike: Spike, messages: list[ChatMessage]) -> tuple[str, ...]:
    """Up to MAX_SAMPLES distinct messages closest to the peak, in time order."""
    near = sorted(messages, key=lambda m: (abs(m.offset_s - spike.offset_s - 0.5), m.offset_s))
    picked: list[ChatMessage] = []
    seen: set[str] = set()
    for message in near:
        text = " ".join(message.text.split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            picked.append(message)
        if len(picked) == MAX_SAMPLES:
            break
    picked.sort(key=lambda m: m.offset_s)
    return tuple(" ".join(m.text.split())[:MAX_SAMPLE_CHARS] for m in picked)
