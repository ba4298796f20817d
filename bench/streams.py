"""Streams figures for `make bench` (issue 12). Each measurement runs in its own process.

- import_figures: chat import speed for a generated 1,000,000-message file of each exporter's
  format, and the importing process's peak RSS at 250,000 against 1,000,000 messages (flat: the
  file is streamed, never read whole). Files are generated once and cached under /tmp.
"""

from __future__ import annotations

import time

from bench.common import MB, run_part

IMPORT_SIZES = (250_000, 1_000_000)
IMPORT_FORMATS = ("chat-downloader", "TwitchDownloader", "yt-dlp")
IMPORT_TARGET = 100_000  # messages per second

# (figure, measured, target, met, how): bench.run's Row fields
Figure = tuple[str, str, str, bool | None, str]


def import_figures() -> list[Figure]:
    rows: list[Figure] = []
    for fmt in IMPORT_FORMATS:
        started = time.perf_counter()
        got = {}
        for messages in IMPORT_SIZES:
            path = run_part("chat_import", "make", fmt, str(messages), timeout=1800)["path"]
            got[messages] = run_part("chat_import", "parse", path, timeout=1800)
        small, big = got[IMPORT_SIZES[0]], got[IMPORT_SIZES[-1]]
        print(f"chat import {fmt}: done in {time.perf_counter() - started:.0f} s", flush=True)
        rate = big["messages"] / big["seconds"]
        rows.append(
            (
                f"chat import speed, {fmt}, {big['messages'] / 1e6:g}M messages",
                f"{rate:,.0f} msg/s",
                f">= {IMPORT_TARGET:,} msg/s",
                rate >= IMPORT_TARGET,
                f"{big['bytes'] / MB:.0f} MB file in {big['seconds']:.1f} s wall, "
                f"{big['cpu_seconds']:.1f} s CPU ({big['messages'] / big['cpu_seconds']:,.0f} "
                f"msg per CPU second); {big['chatters']:,} chatters",
            )
        )
        growth = big["peak_rss_mb"] - small["peak_rss_mb"]
        rows.append(
            (
                f"chat import peak RSS, {fmt}, {small['messages'] // 1000}k -> "
                f"{big['messages'] // 1000}k messages",
                f"{growth:+.1f} MB",
                "flat",
                abs(growth) < 10,
                f"{small['peak_rss_mb']:.0f} -> {big['peak_rss_mb']:.0f} MB (ru_maxrss of the "
                f"importing process, interpreter included); files {small['bytes'] / MB:.0f} -> "
                f"{big['bytes'] / MB:.0f} MB",
            )
        )
    return rows
