"""Precision and recall of the signal analyzer's moments on the generated evaluation set.

A moment hits an event when their time spans overlap. Precision: moments that hit an event
over all moments (every moment becomes a clip). Recall: events hit by some moment over all
events. Top-k precision: the same as precision, counting only each video's k best-scored
moments, k = that video's number of events (how well the ranking puts events first).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import eval_set
from bench.eval_set import EvalCase, Planted
from bench.videos import EVAL_SET, EvalVideo, eval_video
from truss import media
from truss.analysis.base import ClipLengths, Moment
from truss.analysis.signals import SignalAnalyzer


@dataclass(frozen=True)
class VideoScore:
    video: EvalVideo
    moments: list[Moment]

    def hits(self, moment: Moment) -> bool:
        return any(moment.start < end and start < moment.end for _, start, end in self.events)

    @property
    def events(self) -> list[tuple[str, float, float]]:
        return self.video.events()

    @property
    def moments_hitting(self) -> int:
        return sum(self.hits(m) for m in self.moments)

    @property
    def events_hit(self) -> int:
        return sum(
            any(m.start < end and start < m.end for m in self.moments)
            for _, start, end in self.events
        )

    @property
    def top_k_hitting(self) -> int:
        best = sorted(self.moments, key=lambda m: -m.score)[: len(self.events)]
        return sum(self.hits(m) for m in best)

    def line(self) -> str:
        events = ", ".join(f"{kind} {a:g}-{b:g}" for kind, a, b in self.events)
        found = ", ".join(
            f"{m.start:.0f}-{m.end:.0f}{'*' if self.hits(m) else ''} ({m.score})"
            for m in self.moments
        )
        return f"  {self.video.name:<15} events: {events:<30} moments: {found}"


def run() -> list[VideoScore]:
    """Make (or reuse) the set and analyse every video as the pipeline does."""
    scores = []
    for video in EVAL_SET:
        path = eval_video(video)
        result = SignalAnalyzer().analyze(path, media.probe(path), ClipLengths())
        scores.append(VideoScore(video, result.moments))
    return scores


def totals(scores: list[VideoScore]) -> dict[str, int]:
    return {
        "videos": len(scores),
        "moments": sum(len(s.moments) for s in scores),
        "moments_hitting": sum(s.moments_hitting for s in scores),
        "events": sum(len(s.events) for s in scores),
        "events_hit": sum(s.events_hit for s in scores),
        "top_k": sum(min(len(s.events), len(s.moments)) for s in scores),
        "top_k_hitting": sum(s.top_k_hitting for s in scores),
    }


# --- the realistic set (bench.eval_set): is the top clip a highlight, are the top k the k? ---

HIT_SHARE = 0.5  # a moment hits a highlight when it covers at least half of it
NEAR_S = 1.0  # a cut or a mic bump counts as "in" a moment within this many seconds


@dataclass(frozen=True)
class CaseScore:
    """The analyzer's moments on one realistic video, against what was planted."""

    case: EvalCase
    moments: list[Moment]

    def hit(self, moment: Moment) -> Planted | None:
        for p in self.case.highlights:
            covered = min(moment.end, p.end) - max(moment.start, p.start)
            if covered >= HIT_SHARE * max(p.end - p.start, 0.5):
                return p
        return None

    def distractor(self, moment: Moment) -> Planted | None:
        """The distractor a moment that hits no highlight sits on, if any."""
        if self.hit(moment) is not None:
            return None
        for p in self.case.distractors:
            if moment.start - NEAR_S < p.end and p.start < moment.end + NEAR_S:
                return p
        return None

    @property
    def k(self) -> int:
        return len(self.case.highlights)

    @property
    def top(self) -> list[Moment]:
        return sorted(self.moments, key=lambda m: -m.score)[: self.k]

    @property
    def top1(self) -> bool:
        return bool(self.moments) and self.hit(self.top[0]) is not None if self.k else True

    @property
    def found(self) -> set[Planted]:
        return {p for m in self.top if (p := self.hit(m)) is not None}

    def line(self) -> str:
        marks = []
        for m in self.moments:
            hit, bad = self.hit(m), self.distractor(m)
            tag = f"={hit.kind}" if hit else (f"!{bad.kind}" if bad else "?")
            marks.append(f"{m.start:.0f}-{m.end:.0f}{tag}({m.score})")
        planted = ", ".join(f"{p.kind} {p.start:.0f}" for p in self.case.highlights) or "none"
        return f"  {self.case.name:<18} planted: {planted:<44} moments: {' '.join(marks) or '-'}"


def run_realistic(split: str) -> list[CaseScore]:
    """Generate (or reuse) the split's videos and analyse each as the pipeline does."""
    scores = []
    for case in eval_set.cases():
        if case.split != split:
            continue
        path, final = eval_set.generate(case)
        result = SignalAnalyzer().analyze(path, media.probe(path), ClipLengths())
        scores.append(CaseScore(final, result.moments))
    return scores


def realistic_totals(scores: list[CaseScore]) -> dict[str, float | int | str]:
    """Top-1, top-k precision, distractors in a top k, and per highlight kind: found / planted."""
    with_k = [s for s in scores if s.k]
    top_k = sum(s.k for s in with_k)
    kinds: dict[str, list[int]] = {}
    for s in with_k:
        for p in s.case.highlights:
            kinds.setdefault(p.kind, [0, 0])[1] += 1
            kinds[p.kind][0] += p in s.found
    empty = [s for s in scores if not s.k]
    return {
        "videos": len(scores),
        "top1": sum(s.top1 for s in with_k) / max(1, len(with_k)),
        "top_k_precision": sum(len(s.found) for s in with_k) / max(1, top_k),
        "distractors": sum(any(s.distractor(m) for m in s.top) for s in with_k),
        "kinds": ", ".join(f"{kind} {a}/{b}" for kind, (a, b) in sorted(kinds.items())),
        "empty_ok": f"{sum(not s.moments for s in empty)}/{len(empty)}",
    }
