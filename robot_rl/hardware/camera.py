"""The camera interface every camera backend implements (RealSense, MuJoCo renderer, test fakes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class StaleFrameError(RuntimeError):
    """The newest frame is older than the caller accepts: act on nothing rather than on old data."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    stamp: float  # capture time, seconds on the backend's clock
    index: int  # frame counter, increasing
    depth: np.ndarray | None = None  # (H, W) uint16 depth aligned to the image, in the device's depth units
    hw_stamp_ms: float | None = None  # the device's own capture timestamp (RealSense hardware clock), ms


class Camera(ABC):
    """A colour camera. ``read_latest`` returns the newest frame or raises :class:`StaleFrameError`."""

    name: str

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def disconnect(self) -> None: ...

    @abstractmethod
    def read_latest(self, max_age_s: float) -> Frame: ...

    def __enter__(self) -> Camera:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()
