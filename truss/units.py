"""Amounts in words a creator reads: file sizes."""

from __future__ import annotations


def human_size(size: int) -> str:
    """Bytes as bytes, KB, MB or GB (binary multiples, one decimal above bytes)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
