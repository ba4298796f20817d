"""The built-in analyzer's signals on small generated sounds (numpy, 8 kHz): local loudness,
spectral flatness, speech activity, shouts, cut density, clip edges, no-highlight videos."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from truss.analysis import events, features
from truss.analysis.base import ClipLengths
from truss.analysis.signals import NO_HIGHLIGHT, SignalAnalyzer, pauses, pick_moments
from truss.media import Signals

RATE = features.RATE
BIN_S = 0.5


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _talk(seconds: float, db: float = -24.0) -> np.ndarray:
    """Speech-like sound: voiced syllables (a 140 Hz buzz with harmonics) 4 a second with
    gaps, a short pause every ~3 s."""
    t = np.arange(int(seconds * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 12))
    syllables = (np.sin(2 * np.pi * 4 * t) > 0.1).astype(float)
    pauses_ = (np.mod(t, 3.0) < 2.5).astype(float)
    return _at(np.asarray(buzz) * syllables * pauses_, db)


def _at(x: np.ndarray, db: float) -> np.ndarray:
    return x * 10 ** (db / 20) / np.sqrt(np.mean(x**2))


def _noise(seconds: float, db: float) -> np.ndarray:
    return _at(_rng().standard_normal(int(seconds * RATE)), db)


def _tone(seconds: float, db: float, hz: float = 60.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return _at(sum(np.sin(2 * np.pi * hz * h * t) / h for h in (1, 2, 3)), db)  # type: ignore[arg-type]


def _mix(base: np.ndarray, sound: np.ndarray, at: float) -> np.ndarray:
    out = base.copy()
    i = int(at * RATE)
    out[i : i + len(sound)] += sound[: len(out) - i]
    return out


def _signals(audio: np.ndarray | None, seconds: float, cuts: list[float] = ()) -> Signals:  # type: ignore[assignment]
    bins = int(seconds / BIN_S)
    sound = features.from_pcm(audio, bins, BIN_S) if audio is not None else None
    return Signals(
        duration=seconds,
        bin_s=BIN_S,
        loudness_db=sound.level_db if sound else [features.SILENCE_DB] * bins,
        visual_change=[1.0] * bins,
        cuts=sorted(cuts),
        quiet=[],
        has_audio=sound is not None,
        sound=sound,
    )


def _kinds(signals: Signals) -> list[tuple[str, float]]:
    return [(e.kind, e.start) for e in events.find(signals)]


def test_a_sustained_loud_hum_is_no_event_but_a_short_burst_is() -> None:
    talk = _talk(90)
    hum = _mix(talk, _tone(50, -14), 35)  # starts at 35 s, 10 dB over the talk, runs on
    burst = _mix(talk, _noise(4, -14), 35)  # the same sound level, for 4 s only
    assert max(events.local_rise(_signals(hum, 90))[80:] or [0]) < events.BURST_DB
    assert _kinds(_signals(hum, 90)) == []
    found = _kinds(_signals(burst, 90))
    assert len(found) == 1 and 34 <= found[0][1] <= 36


def test_noise_is_flat_a_tone_is_not() -> None:
    seconds = 4
    noisy = features.from_pcm(_noise(seconds, -20), 8, BIN_S)
    tonal = features.from_pcm(_tone(seconds, -20, 440), 8, BIN_S)
    assert min(noisy.flatness) > 0.3 and max(tonal.flatness) < 0.05


def test_the_voice_detector_finds_talk_not_silence_or_hum() -> None:
    audio = np.concatenate([_talk(10), np.zeros(10 * RATE), _tone(10, -24)])
    speech = events.speech_bins(_signals(audio, 30))
    assert sum(speech[:20]) >= 12  # most of the talk (not its pauses)
    assert not any(speech[20:])


def test_a_shout_is_talk_far_above_the_speakers_level() -> None:
    talk = _talk(60)
    shout = _mix(talk, _talk(2.0, -11), 30.0)  # +13 dB
    louder_speaker = _mix(talk, _talk(2.0, -20), 30.0)  # +4 dB: just another voice
    found = events.find(_signals(shout, 60))
    assert [e.kind for e in found] == ["shout"] and 29.5 <= found[0].start <= 31
    assert events.find(_signals(louder_speaker, 60)) == []


def test_a_montage_is_many_cuts_close_together_not_one_cut() -> None:
    montage = [40.0 + 0.6 * i for i in range(8)]
    found = events.find(_signals(None, 90, cuts=[10.0, *montage, 70.0]))
    assert [(e.kind, e.start) for e in found] == [("montage", 40.0)]
    assert events.find(_signals(None, 90, cuts=[10.0, 30.0, 50.0, 70.0])) == []


def test_a_clip_starts_with_the_lead_in_and_ends_at_a_pause() -> None:
    talk = _talk(90)
    audio = _mix(talk, _noise(4, -14), 45.5)  # an applause-like burst at 45.5-49.5 s
    signals = _signals(audio, 90)
    (moment,) = pick_moments(signals, ClipLengths(min_s=8, max_s=40), 8)
    spots = pauses(signals)
    assert moment.start <= 45.5 - 4  # the line before the burst is in the clip
    assert moment.end >= 49.5 and any(abs(moment.end - p) < 0.01 for p in spots)
    assert any(abs(moment.start - p) < 0.01 for p in spots)
    assert moment.end - moment.start <= 20  # the moment's own length, not the maximum
    assert "Applause-like burst after speech" in moment.reason


def test_a_short_minimum_is_respected_by_stretching_the_lead_in() -> None:
    audio = _mix(_talk(90), _noise(4, -14), 45.5)
    (moment,) = pick_moments(_signals(audio, 90), ClipLengths(min_s=25, max_s=40), 8)
    assert 25 <= moment.end - moment.start <= 40 and moment.end < 56


def test_a_video_without_a_highlight_gets_no_moments_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    audio = _mix(_mix(_talk(120), _tone(40, -18), 20), _noise(0.15, -5), 80)  # hum, mic bump
    signals = _signals(audio, 120, cuts=[30.0, 90.0])
    assert pick_moments(signals, ClipLengths(), 8) == []
    monkeypatch.setattr("truss.media.measure_signals", lambda *_: signals)
    probe = SimpleNamespace(duration=120.0)
    result = SignalAnalyzer().analyze(Path("x.mp4"), probe, ClipLengths())  # type: ignore[arg-type]
    assert result.moments == [] and NO_HIGHLIGHT in result.summary


def test_features_read_long_audio_in_chunks_and_missing_audio_as_silence() -> None:
    seconds = 150  # 300 bins: more than one chunk
    sound = features.from_pcm(_noise(seconds - 10, -20), seconds * 2, BIN_S)
    assert len(sound.level_db) == seconds * 2
    assert all(abs(level + 20) < 1.5 for level in sound.level_db[: (seconds - 10) * 2])
    assert set(sound.level_db[(seconds - 10) * 2 :]) == {features.SILENCE_DB}
    nothing = features.from_pcm(np.zeros(0, dtype="<i2"), 10, BIN_S)
    assert nothing.level_db == [features.SILENCE_DB] * 10


def test_a_short_yell_is_a_shout_but_a_mic_bump_is_not() -> None:
    talk = _talk(60)
    t = np.arange(RATE // 2) / RATE  # "No way!": two syllables in half a second, +14 dB
    buzz = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 12))
    yell = _mix(talk, _at(np.asarray(buzz) * (np.sin(2 * np.pi * 4 * t) > -0.6), -10), 30.0)
    bump = _mix(talk, _tone(0.15, -6, 80) * np.exp(-np.arange(1200) / 300), 30.0)
    assert [e.kind for e in events.find(_signals(yell, 60))] == ["shout"]
    assert events.find(_signals(bump, 60)) == []


def test_applause_as_loud_as_the_talk_counts_but_a_wandering_noise_bed_does_not() -> None:
    applause = _mix(_talk(90), _noise(5, -24), 45.0)  # no louder than the talk, but broadband
    found = events.find(_signals(applause, 90))
    assert [e.kind for e in found] == ["applause"] and 44 <= found[0].start <= 46
    t = np.arange(90 * RATE) / RATE
    bed = _noise(90, -30) * (1 + 0.4 * np.sin(2 * np.pi * t / 20))  # wind or a fan, +-3 dB
    assert events.find(_signals(bed, 90)) == []


def test_two_highlights_close_together_get_two_clips_that_do_not_overlap() -> None:
    audio = _mix(_mix(_talk(120), _noise(4, -12), 50.0), _noise(4, -14), 62.0)
    lengths = ClipLengths(min_s=15, max_s=40)
    moments = sorted(pick_moments(_signals(audio, 120), lengths, 8), key=lambda m: m.start)
    assert len(moments) == 2
    first, second = moments
    assert first.end <= second.start and first.start <= 50 and second.end >= 66
    assert all(15 - 0.01 <= m.end - m.start <= 40 for m in moments)
