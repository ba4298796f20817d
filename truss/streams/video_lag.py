"""The reaction lag of a stream, estimated when its video is analysed.

The stream's chat-rate curve (rebuilt from its spikes, truss.streams.moments.chat_rate) is
aligned with the video's loudness (truss.media.measure_signals, measured only for a video
linked to a stream with spikes) by truss.streams.lag.estimate_lag. A confident estimate is
stored on the stream and used for this analysis; a creator's own lag always wins, and a weak
estimate keeps the lag in use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from truss.analysis.base import AnalysisError
from truss.data import streams
from truss.data.table import Table
from truss.streams import lag
from truss.streams.model import Spike
from truss.streams.moments import chat_rate

log = logging.getLogger(__name__)

Loudness = Callable[[], tuple[list[float], float]]  # () -> (loudness per bin, bin seconds)


def estimate_for_video(
    table: Table,
    cid: str,
    aid: str,
    spikes: list[Spike],
    loudness: Loudness,
    stream: streams.Stream | None = None,
) -> float | None:
    """The lag to use for this video's stream, newly estimated (None: keep the lag in use).
    `stream`: the linked stream already read for this analysis (else it is looked up)."""
    stream = stream or streams.stream_for_asset(table, cid, aid)
    if stream is None or stream.lag_override_s is not None:
        return None
    try:
        levels, bin_s = loudness()
    except AnalysisError as exc:  # the lag in use still works: the clips go on
        log.warning("stream %s: no loudness for the lag estimate: %s", stream.id, exc)
        return None
    estimate = lag.estimate_lag(chat_rate(spikes, bin_s, len(levels)), levels, bin_s)
    if estimate.confidence < lag.MIN_CONFIDENCE:
        log.info("stream %s: lag estimate not confident (%s)", stream.id, estimate)
        return None
    streams.set_lag_estimate(table, cid, stream.id, estimate.lag_s)
    return estimate.lag_s
