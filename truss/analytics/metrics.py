"""The names of the daily counters (one copy): what a day's `counters` dict is keyed by.

A per-source or per-platform counter is `<base>.<qualifier>`, e.g. `clips_made.signals`,
`publish_ok.youtube`; build them with `qualified` and split them with `split`.
"""

from __future__ import annotations

from collections.abc import Mapping

# Videos and analysis
VIDEOS_UPLOADED = "videos_uploaded"
SECONDS_ANALYSED = "seconds_analysed"
ANALYSES = "analyses"  # analysis runs completed (the cost per hour divides by seconds)

# Clips
CLIPS_MADE = "clips_made"  # per source: clips_made.<source> (gemini, signals, chat, manual...)
RENDERS = "renders"  # every render, first ones, trims and re-renders alike
RENDER_SECONDS = "render_seconds"  # seconds of clip rendered

# Publishing (per platform: publish_ok.<platform>, publish_failed.<platform>)
PUBLISH_OK = "publish_ok"
PUBLISH_FAILED = "publish_failed"

# Audience on Truss itself
SHARE_VIEWS = "share_views"
DOWNLOADS = "downloads"

# What it cost
GEMINI_IN_TOKENS = "gemini_in_tokens"
GEMINI_OUT_TOKENS = "gemini_out_tokens"
DDB_READ_UNITS = "ddb_read_units"
DDB_WRITE_UNITS = "ddb_write_units"
S3_BYTES_STORED = "s3_bytes_stored"  # bytes added to S3 that day (uploads, renders)
S3_BYTES_OUT = "s3_bytes_out"  # bytes S3 served to the internet (downloads, share plays)
S3_PUT_REQUESTS = "s3_put_requests"
S3_GET_REQUESTS = "s3_get_requests"

SEP = "."

ALL_BASE = (
    VIDEOS_UPLOADED, SECONDS_ANALYSED, ANALYSES, CLIPS_MADE, RENDERS, RENDER_SECONDS,
    PUBLISH_OK, PUBLISH_FAILED, SHARE_VIEWS, DOWNLOADS, GEMINI_IN_TOKENS, GEMINI_OUT_TOKENS,
    DDB_READ_UNITS, DDB_WRITE_UNITS, S3_BYTES_STORED, S3_BYTES_OUT,
    S3_PUT_REQUESTS, S3_GET_REQUESTS,
)  # fmt: skip
QUALIFIED = (CLIPS_MADE, PUBLISH_OK, PUBLISH_FAILED)  # counted per source / platform


def qualified(base: str, qualifier: str) -> str:
    """`clips_made.<source>`, `publish_ok.<platform>`: a counter split by one dimension."""
    if not qualifier or SEP in qualifier or "#" in qualifier:
        raise ValueError(f"bad counter qualifier {qualifier!r}")
    return f"{base}{SEP}{qualifier}"


def split(name: str) -> tuple[str, str | None]:
    """(base, qualifier or None) of a counter name."""
    base, sep, qualifier = name.partition(SEP)
    return base, (qualifier if sep else None)


def total(counters: Mapping[str, float], base: str) -> float:
    """A counter plus every qualified counter under it (clips made over all sources)."""
    return sum(value for name, value in counters.items() if split(name)[0] == base)


def by_qualifier(counters: Mapping[str, float], base: str) -> dict[str, float]:
    """{qualifier: value} of the qualified counters under base ({"youtube": 3, ...})."""
    found: dict[str, float] = {}
    for name, value in counters.items():
        head, qualifier = split(name)
        if head == base and qualifier is not None:
            found[qualifier] = found.get(qualifier, 0.0) + value
    return found
