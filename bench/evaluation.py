"""Precision and recall of the signal analyzer's moments on the generated evaluation set.

A moment hits an event when their time spans overlap. Precision: moments that hit an event
over all moments (every moment becomes a clip). Recall: events hit by some moment over all
events. Top-k precision: the same as precision, counting only each video's k best-scored
moments, k = that video's number of events (how well the ranking puts events first).
"""

from __future__ import annotations

from dataclasses import dataclass

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
