"""Write camera frames as an MP4 video or a PNG strip (OpenCV, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def tile(obs_images: Sequence[np.ndarray]) -> np.ndarray:
    """Several (H, W, 3) uint8 camera images side by side -> (H, W * n, 3)."""
    return np.concatenate(list(obs_images), axis=1)


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Frames (H, W, 3) uint8 RGB -> MP4. Raises if OpenCV cannot encode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not frames:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open a video writer for {path}")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def write_strip(frames: Sequence[np.ndarray], path: str | Path, count: int = 8) -> Path:
    """``count`` frames evenly spaced over the sequence, stacked vertically, as one PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    idx = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in idx], axis=0)
    if not cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
        raise RuntimeError(f"OpenCV could not write {path}")
    return path
