"""An episode as a video: its recorded camera frames beside the simulated replay, with an overlay.

Each frame (one per row of the episode)::

    +-------------------+-------------------+
    | recorded <cam 1>  | simulated <cam 1> |     one row per camera, tiles scaled to ``tile`` pixels high
    +-------------------+-------------------+
    | recorded <cam 2>  | simulated <cam 2> |
    +-------------------+-------------------+
    | episode, step, time, reward, return,  |     info panel: who acted (HUMAN in red / policy),
    | EE error; 7 action bars in [-1, 1]     |     the executed action as bars
    +---------------------------------------+

A red border frames every step the human drove (``intervened``). In a store written with a help gate the info
panel also shows the step's help score and level (``ASKS`` in amber while the robot held still asking).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from robot_rl.sim.replay import RecordedEpisode, ReplayResult
from robot_rl.viz.video import VideoSink

BORDER = 6
PANEL_H = 96
RED, GREEN, WHITE, GREY, DARK = (220, 30, 30), (40, 170, 70), (240, 240, 240), (150, 150, 150), (28, 28, 32)
AMBER = (240, 170, 0)
HELP_LEVELS = ("normal", "caution", "ASKS")
ACTION_LABELS = ("x", "y", "z", "rx", "ry", "rz", "grip")
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    frames: int
    width: int
    height: int
    codec: str


def _text(img: np.ndarray, text: str, org: tuple[int, int], color=WHITE, scale: float = 0.5,
          thick: int = 1) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, thick, cv2.LINE_AA)


def _label(img: np.ndarray, text: str) -> None:
    """A caption with a dark box in the tile's top-left corner."""
    (w, h), _ = cv2.getTextSize(text, _FONT, 0.45, 1)
    cv2.rectangle(img, (0, 0), (w + 8, h + 8), DARK, -1)
    _text(img, text, (4, h + 4), scale=0.45)


def tile_image(image: np.ndarray, size: tuple[int, int], caption: str) -> np.ndarray:
    out = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST if size[1] >= 2 * image.shape[0]
                     else cv2.INTER_AREA)
    _label(out, caption)
    return out


def info_panel(width: int, lines: tuple[str, str], who: str, who_color: tuple[int, int, int],
               action: np.ndarray) -> np.ndarray:
    """``(PANEL_H, width, 3)`` uint8: two text lines, who acted (top right), the action as bars in [-1, 1]."""
    panel = np.full((PANEL_H, width, 3), DARK, dtype=np.uint8)
    _text(panel, lines[0], (8, 18))
    _text(panel, lines[1], (8, 38))
    (tw, _), _ = cv2.getTextSize(who, _FONT, 0.6, 2)
    _text(panel, who, (width - tw - 8, 18), who_color, 0.6, 2)
    n = len(ACTION_LABELS)
    x0, bar_w = 8, max(20, (width - 16) // n)
    mid_y, half_h = 76, 11
    for i, (name, v) in enumerate(zip(ACTION_LABELS, np.asarray(action)[:n], strict=False)):
        left = x0 + i * bar_w
        cx = left + bar_w // 2
        span = bar_w // 2 - 4
        cv2.rectangle(panel, (left + 4, mid_y - half_h), (left + bar_w - 4, mid_y + half_h), (60, 60, 66), -1)
        end = round(cx + float(np.clip(v, -1, 1)) * span)
        if end != cx:
            cv2.rectangle(panel, (min(cx, end), mid_y - half_h + 3), (max(cx, end), mid_y + half_h - 3),
                          (90, 160, 240), -1)
        cv2.line(panel, (cx, mid_y - half_h), (cx, mid_y + half_h), GREY, 1)
        _text(panel, f"{name} {v:+.2f}", (left + 6, mid_y - half_h - 3), GREY, 0.38)
    return panel


def framed(body: np.ndarray, intervened: bool) -> np.ndarray:
    """``body`` with a ``BORDER``-pixel frame, red while the human drives; cropped to even H and W."""
    color = RED if intervened else (0, 0, 0)
    out = cv2.copyMakeBorder(body, BORDER, BORDER, BORDER, BORDER, cv2.BORDER_CONSTANT, value=color)
    return out[: out.shape[0] // 2 * 2, : out.shape[1] // 2 * 2]


def _panel(width: int, ep: RecordedEpisode, result: ReplayResult, t: int, ret: float) -> np.ndarray:
    cols, last = ep.cols, t == ep.length - 1
    err_mm = 1000.0 * float(result.error.position[t])
    lines = (f"episode {ep.index}  step {t}/{ep.length - 1}  t {cols['t_obs'][t] - cols['t_obs'][0]:.1f} s  "
             f"weights v{ep.meta.policy_version}",
             f"reward {cols['reward'][t]:+.2f}  return {ret:+.2f}  EE err {err_mm:.1f} mm ({result.mode})")
    asks = False
    if "help_level" in cols and not last:
        level = int(cols["help_level"][t])
        asks = level == 2
        lines = (lines[0], f"{lines[1]}  help {float(cols['help_score'][t]):.2f} {HELP_LEVELS[min(level, 2)]}")
    if last:
        who, color = "final obs", GREY
    elif cols["intervened"][t]:
        who, color = "HUMAN", RED
    elif asks:
        who, color = "policy ASKS", AMBER
    else:
        who, color = "policy", GREEN
    if cols["success"][t]:
        who, color = f"{who} SUCCESS", GREEN
    return info_panel(width, lines, who, color, np.zeros(len(ACTION_LABELS)) if last else cols["action"][t])


def compose_frame(ep: RecordedEpisode, result: ReplayResult, t: int, tile: int, ret: float = 0.0) -> np.ndarray:
    """Frame ``t`` of the video: ``(H, W, 3) uint8`` RGB with even H and W; ``ret``: return up to step t."""
    h, w = next(iter(result.frames.values())).shape[1:3]
    size = (max(2, round(w * tile / h)), tile)
    rows = [np.concatenate([tile_image(ep.images(cam)[t], size, f"recorded {cam}"),
                            np.full((tile, 4, 3), DARK, np.uint8),
                            tile_image(result.frames[cam][t], size, f"simulated {cam}")], axis=1)
            for cam in ep.cameras]
    grid = np.concatenate([r for row in rows for r in (row, np.full((4, row.shape[1], 3), DARK, np.uint8))][:-1],
                          axis=0)
    body = np.concatenate([grid, _panel(grid.shape[1], ep, result, t, ret)], axis=0)
    return framed(body, bool(t < ep.length - 1 and ep.cols["intervened"][t]))


def write_episode_video(ep: RecordedEpisode, result: ReplayResult, path: str | Path, fps: float, *,
                        tile: int = 256, codec: str = "auto") -> VideoInfo:
    """One frame per row of ``ep``: recorded frames of ``ep.cameras`` beside ``result``'s renders."""
    missing = [c for c in ep.cameras if c not in result.frames]
    if not ep.cameras or missing:
        raise ValueError(f"the replay rendered {sorted(result.frames)}, the video needs {list(ep.cameras)}")
    rewards = np.cumsum(ep.cols["reward"])
    with VideoSink(path, fps, codec) as sink:
        for t in range(ep.length):
            sink.write(compose_frame(ep, result, t, tile, float(rewards[t])))
    assert sink.size is not None
    return VideoInfo(sink.path, sink.frames, sink.size[0], sink.size[1], sink.codec)
