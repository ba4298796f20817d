"""The picture layouts a clip can be rendered with (the clip's `layout` field)."""

from __future__ import annotations

AUTO = "auto"  # decided per clip at render time: follow when faces are found, fit otherwise
FOLLOW = "follow"  # a 9:16 crop that follows the main face (or the most motion)
FIT = "fit"  # the whole picture in the middle over a blurred, enlarged copy of itself
SPLIT = "split"  # two speakers stacked, top and bottom
CENTRE = "centre"  # the middle of the picture (Truss's crop before issue 15)
LAYOUTS = (AUTO, FOLLOW, FIT, SPLIT, CENTRE)
DEFAULT_LAYOUT = AUTO
LABELS = {
    AUTO: "Automatic (follow the speaker when faces are found, fit otherwise)",
    FOLLOW: "Follow the speaker",
    FIT: "Fit the whole picture (blurred background)",
    SPLIT: "Split: two speakers stacked",
    CENTRE: "Centre crop",
}


def is_layout(value: str) -> bool:
    return value in LAYOUTS
