"""Simulated cameras behind the same :class:`Camera` interface as the RealSense driver."""

from __future__ import annotations

from robot_rl.hardware.camera import Camera, Frame, StaleFrameError
from robot_rl.sim.world import SimWorld


class MujocoCamera(Camera):
    """Renders a named model camera at the world's current state; frames are stamped with sim time
    and cached per physics state, so several readers in one control step share one render."""

    def __init__(self, name: str, world: SimWorld) -> None:
        self.name = name
        self.world = world
        self._frame: Frame | None = None
        self._index = 0

    def connect(self) -> None:
        self.world.model.camera(self.name)  # raises KeyError if the model has no such camera

    def disconnect(self) -> None:
        self._frame = None

    def invalidate(self) -> None:
        """Forget the cached frame (call after teleporting the state without advancing time)."""
        self._frame = None

    def read_latest(self, max_age_s: float = float("inf")) -> Frame:
        now = self.world.time
        if self._frame is None or self._frame.stamp != now:
            self._index += 1
            self._frame = Frame(image=self.world.render(self.name), stamp=now, index=self._index)
        if now - self._frame.stamp > max_age_s:
            raise StaleFrameError(f"camera {self.name}: frame is {now - self._frame.stamp:.3f} s old")
        return self._frame
