"""Write camera frames as an MP4 video or a PNG strip (OpenCV, no display needed)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np


def tile(obs_images: Sequence[np.ndarray]) -> np.ndarray:
    """Several (H, W, 3) uint8 camera images side by side -> (H, W * n, 3)."""
    return np.concatenate(list(obs_images), axis=1)


class VideoSink:
    """Streams (H, W, 3) uint8 RGB frames into an MP4, one at a time (a long episode never sits in memory).

    ``codec="auto"``: H.264 (yuv420p, faststart: plays in browsers and every common player) through an
    ``ffmpeg`` on PATH, else OpenCV's MPEG-4 Part 2 (``mp4v``: VLC, mpv, ffmpeg, OpenCV; not browsers).
    ``"h264"`` insists on ffmpeg, ``"mp4v"`` on OpenCV. :attr:`codec` says which one wrote the file."""

    def __init__(self, path: str | Path, fps: float, codec: str = "auto") -> None:
        if codec not in ("auto", "h264", "mp4v"):
            raise ValueError(f"codec {codec!r}: use auto, h264 or mp4v")
        if codec == "h264" and shutil.which("ffmpeg") is None:
            raise RuntimeError("H.264 needs ffmpeg on PATH (apt-get install ffmpeg); or use codec mp4v")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.codec = "h264" if codec == "h264" or (codec == "auto" and shutil.which("ffmpeg")) else "mp4v"
        self.size: tuple[int, int] | None = None  # (width, height), fixed by the first frame
        self.frames = 0
        self._cv: cv2.VideoWriter | None = None
        self._proc: subprocess.Popen | None = None

    def _open(self, w: int, h: int) -> None:
        if self.codec == "h264":
            if w % 2 or h % 2:
                raise ValueError(f"H.264 (yuv420p) needs even frame sizes, got {w}x{h}")
            cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                   "-r", f"{self.fps}", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags",
                   "+faststart", str(self.path)]
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        else:
            self._cv = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
            if not self._cv.isOpened():
                raise RuntimeError(f"OpenCV could not open a video writer for {self.path}")

    def write(self, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if self.size is None:
            self._open(w, h)
            self.size = (w, h)
        elif self.size != (w, h):
            raise ValueError(f"frame {self.frames} is {w}x{h}, the video is {self.size[0]}x{self.size[1]}")
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
        else:
            assert self._cv is not None
            self._cv.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            if self._proc.wait() != 0:
                raise RuntimeError(f"ffmpeg failed (exit {self._proc.returncode}) writing {self.path}")
            self._proc = None

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float, codec: str = "mp4v") -> Path:
    """Frames (H, W, 3) uint8 RGB -> MP4 (see :class:`VideoSink` for ``codec``). Raises if it cannot encode."""
    if not frames:
        raise ValueError("no frames to write")
    with VideoSink(path, fps, codec) as sink:
        for frame in frames:
            sink.write(frame)
    return sink.path


def write_strip(frames: Sequence[np.ndarray], path: str | Path, count: int = 8) -> Path:
    """``count`` frames evenly spaced over the sequence, stacked vertically, as one PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    idx = np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)
    strip = np.concatenate([frames[i] for i in idx], axis=0)
    if not cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR)):
        raise RuntimeError(f"OpenCV could not write {path}")
    return path
