"""Streams figures for `make bench` (issue 12). Each measurement runs in its own process.

- import_figures: chat import speed for a generated 1,000,000-message file of each exporter's
  format, and the importing process's peak RSS at 250,000 against 1,000,000 messages (flat: the
  file is streamed, never read whole). Files are generated once and cached under /tmp.
- spike_figures (in this process, pure Python): chat spike precision and recall on generated
  chats with planted spikes, spikes at raids and spam bots, messages per second binned and
  detected.
"""

from __future__ import annotations

import time

from bench.common import MB, run_part

IMPORT_SIZES = (250_000, 1_000_000)
IMPORT_FORMATS = ("chat-downloader", "TwitchDownloader", "yt-dlp")
IMPORT_TARGET = 100_000  # messages per second

# (figure, measured, target, met, how): bench.run's Row fields
Figure = tuple[str, str, str, bool | None, str]


def _count(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1000:g}k"


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
        rate = big["messages"] / big["seconds"]  # wall clock, as a creator waits for it
        rows.append(
            (
                f"chat import speed, {fmt}, {_count(big['messages'])} messages",
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
                f"chat import peak RSS, {fmt}, {_count(small['messages'])} -> "
                f"{_count(big['messages'])} messages",
                f"{growth:+.1f} MB",
                "flat",
                abs(growth) < 10,
                f"{small['peak_rss_mb']:.0f} -> {big['peak_rss_mb']:.0f} MB (ru_maxrss of the "
                f"importing process, interpreter included); files {small['bytes'] / MB:.0f} -> "
                f"{big['bytes'] / MB:.0f} MB",
            )
        )
    return rows


# --- spikes (S1): detection quality and speed on generated chat -----------------------------

SPIKE_SEEDS = range(101, 121)  # not the unit tests' seeds
SPIKE_MINUTES = 30
SPEED_MINUTES, SPEED_RATE = 60, 40.0  # a busy channel: ~40 msg/s baseline, ~290k messages
SPEED_TARGET = 5_000  # messages per second (the listener target; binning is part of it)


def spike_figures() -> list[Figure]:
    """Spike precision and recall (a found peak within +-2 s of a planted one) on generated
    30-minute chats with a drifting baseline, noise bursts, a raid and a spam bot; false spikes
    on chats with a raid, a spam bot and growth but nothing planted; messages per second binned
    and detected. In this process: pure Python, no I/O."""
    from tests.support.chat_traces import chat_trace, match
    from truss.streams.spikes import SpikeTracker, bin_messages, find_spikes

    started = time.perf_counter()
    hits = found = recalled = planted = false_steps = false_elsewhere = 0
    for seed in SPIKE_SEEDS:
        trace = chat_trace(seed, minutes=SPIKE_MINUTES)
        spikes = find_spikes(bin_messages(trace.messages))
        h, r = match(spikes, trace.planted)
        hits, found, recalled, planted = (
            hits + h,
            found + len(spikes),
            recalled + r,
            planted + len(trace.planted),
        )
        quiet = chat_trace(seed, minutes=SPIKE_MINUTES, spikes=0, bursts_on=False)
        for spike in find_spikes(bin_messages(quiet.messages)):
            if _at_raid_or_spam(spike.offset_s, quiet.raid_at, quiet.spam_at):
                false_steps += 1
            else:
                false_elsewhere += 1

    busy = chat_trace(1, minutes=SPEED_MINUTES, base_rate=SPEED_RATE)
    cpu, wall = time.process_time(), time.perf_counter()
    bins = bin_messages(busy.messages)
    binned_cpu = time.process_time() - cpu
    tracker = SpikeTracker()
    live = [s for b in bins for s in tracker.add(b)] + tracker.finish()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = len(busy.messages) / cpu
    print(f"spike detection: done in {time.perf_counter() - started:.0f} s", flush=True)
    hours = len(SPIKE_SEEDS) * SPIKE_MINUTES / 60
    where = f"{len(SPIKE_SEEDS)} generated {SPIKE_MINUTES}-min chats, {planted} planted spikes"
    return [
        (
            "chat spike precision",
            f"{hits / found:.0%} ({hits}/{found})" if found else "n/a",
            ">= 90%",
            bool(found) and hits / found >= 0.9,
            f"found spikes whose peak is within +-2 s of a planted one; {where}",
        ),
        (
            "chat spike recall",
            f"{recalled / planted:.0%} ({recalled}/{planted})",
            ">= 90%",
            recalled / planted >= 0.9,
            "planted spikes found within +-2 s (4-12x the rate; noise bursts 1.3-2x, a raid "
            "~3x, a spam bot)",
        ),
        (
            "chat spikes at a raid or a spam bot",
            f"{false_steps}",
            "0",
            false_steps == 0,
            f"the same {len(SPIKE_SEEDS)} chats without planted spikes or noise bursts (a raid, "
            f"a spam bot, a growing chat); elsewhere in their {hours:g} h: {false_elsewhere} "
            "(chance clusters of messages)",
        ),
        (
            "chat binned + spikes detected",
            f"{rate:,.0f} msg/s",
            f">= {SPEED_TARGET:,} msg/s",
            rate >= SPEED_TARGET,
            f"{len(busy.messages):,} messages ({SPEED_MINUTES} min at ~{SPEED_RATE:g}/s) in "
            f"{cpu:.2f} s CPU ({binned_cpu:.2f} s binning, the rest the live tracker), "
            f"{wall:.2f} s wall; {len(live)} spikes",
        ),
    ]


def _at_raid_or_spam(t: float, raid_at: int | None, spam_at: tuple[int, int] | None) -> bool:
    """Within 90 s after a raid's arrival or during a spam bot's run (+-5 s)."""
    if raid_at is not None and raid_at - 5 <= t <= raid_at + 90:
        return True
    return spam_at is not None and spam_at[0] - 5 <= t <= spam_at[1] + 5
