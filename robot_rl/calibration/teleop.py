"""Calibrating by hand: the operator drives the arm (SpaceMouse) or guides it, and presses Enter to capture.

For cells where the automatic pose set cannot run (obstacles, a camera the orbit would lose the board
from), and for recording workspace corners. The loop only needs a robot, an optional twist source and a
line source, so it is tested with fakes and runs with the real SpaceMouse and a terminal.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Callable

import numpy as np

from robot_rl.hardware.robot import Robot, RobotState

QUIT_WORDS = ("q", "quit", "done", "d")


def stdin_line() -> str | None:
    """A line typed on the terminal, or None when nothing was typed (never blocks)."""
    ready, _, _ = select.select([sys.stdin], [], [], 0.0)
    return sys.stdin.readline() if ready else None


def spacemouse_twist(mouse) -> Callable[[], np.ndarray]:
    """Twist source from a started :class:`robot_rl.hardware.spacemouse.SpaceMouse`: (6,) in [-1, 1],
    zero while its data is stale (a stale device must not keep the arm moving)."""
    from robot_rl.hardware.camera import StaleFrameError

    def read() -> np.ndarray:
        try:
            return np.asarray(mouse.latest().twist, dtype=np.float32)
        except StaleFrameError:
            return np.zeros(6, dtype=np.float32)

    return read


def capture_loop(robot: Robot, on_capture: Callable[[RobotState], str], lines: Callable[[], str | None],
                 twist: Callable[[], np.ndarray] | None, pace: Callable[[], None],
                 say: Callable[[str], None] = print, max_ticks: int | None = None) -> int:
    """Drive with ``twist`` (when given; else the arm is guided by hand and only read) and call
    ``on_capture`` with the robot state each time a line is entered; a line 'q' ends. Returns the number
    of captures. The gripper is held as it is."""
    say("drive the arm to a pose, then press Enter to capture it; type q and Enter when done")
    grip = 1.0 if robot.read_state().gripper_width < 0.04 else -1.0
    captures, ticks = 0, 0
    while max_ticks is None or ticks < max_ticks:
        ticks += 1
        line = lines()
        if line is not None:
            if line.strip().lower() in QUIT_WORDS:
                break
            robot.stop()
            captures += 1
            say(f"capture {captures}: {on_capture(robot.read_state())}")
            continue
        if twist is not None:
            robot.send_action(np.concatenate([twist(), [grip]]).astype(np.float32))
        pace()
    robot.stop()
    return captures
