"""Sound features per 0.5 s bin from 8 kHz mono PCM (numpy; the coarse pass's audio output).

Each bin is cut into 16 frames of 250 samples (31 ms, Hann window, 512-point FFT). Per bin:

- `level_db`: RMS level in dBFS (SILENCE_DB for digital silence);
- `flatness`: spectral flatness (geometric / arithmetic mean of the power spectrum, 60 Hz -
  4 kHz), energy-weighted over the frames: ~0.3-0.6 for broadband noise (applause, the breath
  of laughter), < 0.1 for a tone, a hum or one voice;
- `flux`: mean change of the log spectrum between consecutive frames (dB): a busy, changing
  sound (many hands, many voices) is high, a steady bed low;
- `spread_db`: standard deviation of the frame levels in the bin: speech (syllables and gaps)
  is high, a steady hum or bed low;
- `frame_db`: every frame's level, for pauses and for how much of a bin is loud.

Everything is computed chunk by chunk (CHUNK_BINS), so a long video needs little memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

RATE = 8000
FRAME = 250  # samples per frame; 16 frames per 0.5 s bin
FFT = 512
SILENCE_DB = -90.0
CHUNK_BINS = 240  # two minutes of audio at a time

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class AudioFeatures:
    """Per-bin sound features (bin i covers [i*bin_s, (i+1)*bin_s)); see the module doc."""

    bin_s: float
    level_db: list[float]
    flatness: list[float]
    flux: list[float]
    spread_db: list[float]
    frame_db: list[float] = field(repr=False)

    @property
    def frame_s(self) -> float:
        return FRAME / RATE

    def frames_per_bin(self) -> int:
        return round(self.bin_s * RATE / FRAME)


def from_pcm(samples: NDArray[np.int16] | Floats, bins: int, bin_s: float) -> AudioFeatures:
    """Features of `bins` bins of 8 kHz mono samples (int16 or floats in -1..1); missing audio
    at the end counts as silence."""
    per_bin = round(bin_s * RATE)
    if per_bin % FRAME:
        raise ValueError(f"a bin of {bin_s} s is not a whole number of {FRAME}-sample frames")
    parts = [
        _chunk(_as_float(samples[lo * per_bin : min(bins, lo + CHUNK_BINS) * per_bin]),
               min(CHUNK_BINS, bins - lo), per_bin)
        for lo in range(0, bins, CHUNK_BINS)
    ]  # fmt: skip
    columns = [np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in range(5)]
    level, flat, flux, spread, frames = (c.round(4).tolist() for c in columns)
    return AudioFeatures(bin_s, level, flat, flux, spread, frames)


def _as_float(samples: NDArray[np.int16] | Floats) -> Floats:
    if samples.dtype == np.int16:
        return samples.astype(np.float64) / 32768.0
    return np.asarray(samples, dtype=np.float64)


def _chunk(x: Floats, bins: int, per_bin: int) -> tuple[Floats, ...]:
    """The five feature columns of one chunk (the last five per bin, frame levels per frame)."""
    x = np.pad(x, (0, bins * per_bin - len(x)))
    frames = x.reshape(-1, FRAME)
    energy = np.mean(frames**2, axis=1)
    frame_db = _db(energy)
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), n=FFT, axis=1)) ** 2
    k = per_bin // FRAME
    weights = energy.reshape(bins, k) + 1e-12
    level = _db(energy.reshape(bins, k).mean(axis=1))
    flat = _weighted(spectral_flatness(power).reshape(bins, k), weights)
    flux = spectral_flux(power).reshape(bins, k).mean(axis=1)
    audible = frame_db.reshape(bins, k)
    spread = np.where(level > SILENCE_DB + 1, audible.std(axis=1), 0.0)
    return level, flat, flux, spread, frame_db


def _db(energy: Floats) -> Floats:
    with np.errstate(divide="ignore"):
        return np.maximum(SILENCE_DB, 10 * np.log10(np.maximum(energy, 1e-30)))


def _weighted(values: Floats, weights: Floats) -> Floats:
    return (values * weights).sum(axis=1) / weights.sum(axis=1)


def spectral_flatness(power: Floats) -> Floats:
    """Per frame: geometric over arithmetic mean of the power spectrum, 60 Hz - 4 kHz (0-1)."""
    band = power[:, 2:] + 1e-12
    return np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)


def spectral_flux(power: Floats) -> Floats:
    """Per frame: mean absolute change of the log spectrum since the previous frame (dB)."""
    log = 10 * np.log10(power[:, 2:] + 1e-10)
    change = np.abs(np.diff(log, axis=0)).mean(axis=1)
    return np.concatenate([change[:1], change]) if len(change) else np.zeros(len(power))
