"""Face detection behind a small interface, so a better detector can be swapped in.

The bundled detector is OpenCV's Haar cascade for frontal faces: its model file ships inside
the opencv-python-headless 4.x wheel (`cv2.data.haarcascades`; the 5.0 wheels no longer carry
it), so nothing is downloaded at run time."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

CASCADE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Box:
    """A detected face in the analysed frame's pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h


class FaceDetector(Protocol):
    """Finds faces in one small grayscale frame (a uint8 array, rows x columns)."""

    def faces(self, gray: np.ndarray) -> list[Box]: ...


class HaarFaceDetector:
    """OpenCV's bundled frontal-face Haar cascade, tuned for ~320 px wide frames."""

    def __init__(self, min_size: int = 20, neighbours: int = 4) -> None:
        self.min_size = min_size
        self.neighbours = neighbours

    def faces(self, gray: np.ndarray) -> list[Box]:
        found = _cascade().detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=self.neighbours,
            minSize=(self.min_size, self.min_size),
        )  # fmt: skip
        return [Box(float(x), float(y), float(w), float(h)) for x, y, w, h in found]


@cache
def _cascade() -> Any:
    import cv2  # imported on first use: the web tier only needs it for a preview

    path = cv2.data.haarcascades + CASCADE  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's face model {path} is missing: reinstall opencv 4.x")
    return cascade
