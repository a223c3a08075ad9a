"""Crop + resize from a camera's capture to the policy's input size (e.g. 640x480 -> 128x128)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def centre_square(width: int, height: int) -> list[int]:
    """The largest centred square crop [x, y, w, h] of a width x height image."""
    side = min(width, height)
    return [(width - side) // 2, (height - side) // 2, side, side]


def crop_resize(image: np.ndarray, crop: Sequence[int], size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """(H, W, C) or (H, W) -> cropped to [x, y, w, h] and resized to ``size`` = (width, height).
    Area interpolation for colour (no aliasing when shrinking); nearest for depth (no invented depths)."""
    x, y, w, h = (int(v) for v in crop)
    patch = image[y:y + h, x:x + w]
    if patch.shape[1] == size[0] and patch.shape[0] == size[1]:
        return np.ascontiguousarray(patch)
    return cv2.resize(patch, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)
