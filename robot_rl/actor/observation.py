"""The newest sample of every observation key, with its capture time, and the age check the actor
applies before acting: stale means hold and stop, never act on old data (docs/architecture.md §1)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from robot_rl.control.rotations import quat_to_mat
from robot_rl.spec import JOINTS, STATE, proprio


class StaleObservation(RuntimeError):
    """An observation key is missing or older than allowed; ``key`` names it."""

    def __init__(self, key: str, age: float, not_newer: bool = False) -> None:
        if age == float("inf"):
            what = "never received"
        elif age < 0:
            what = f"stamped {-age * 1e3:.0f} ms in the future (clocks disagree?); dropped"
        else:
            what = f"{age * 1e3:.0f} ms old"
        if not_newer:
            what += ", not newer than the last command"
        super().__init__(f"{key}: {what}")
        self.key, self.age = key, age


class ObservationBuffer:
    """``put(key, value, stamp)`` from the subscribers; ``assemble(now)`` from the control tick.

    Keys are the observation's (``images/<cam>``, ``state``) or its parts; values are kept as given
    (the subscriber already made them numpy). Stamps in seconds on one clock (ROS time in the graph)."""

    def __init__(self, keys: Sequence[str], max_age_s: float) -> None:
        self.keys = tuple(keys)
        self.max_age_s = float(max_age_s)
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[np.ndarray, float]] = {}

    def put(self, key: str, value: np.ndarray, stamp: float) -> bool:
        """Keep ``value`` as the newest sample of ``key``; False (dropped) for a non-finite stamp or one older
        than the sample already held."""
        stamp = float(stamp)
        if not np.isfinite(stamp):  # its age is unknown: it could never be checked
            return False
        with self._lock:
            old = self._latest.get(key)
            if old is None or stamp >= old[1]:  # a late, older sample never replaces a newer one
                self._latest[key] = (value, stamp)
                return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._latest.clear()

    def assemble(self, now: float, newer_than: float = float("-inf")) -> tuple[dict[str, np.ndarray], float]:
        """(observation, oldest stamp). Raises :class:`StaleObservation` for the first key that is missing,
        older than ``max_age_s``, or not newer than ``newer_than`` (e.g. the last command sent).

        A sample stamped more than ``max_age_s`` in the *future* is refused too, and dropped: otherwise it
        would pass every age check and, since older samples never replace a newer one, block every real
        sample after it, so the actor would act on one frozen observation."""
        with self._lock:
            latest = dict(self._latest)
        obs, oldest = {}, float("inf")
        for key in self.keys:
            if key not in latest:
                raise StaleObservation(key, float("inf"))
            value, stamp = latest[key]
            age = now - stamp
            if age < -self.max_age_s:
                with self._lock:
                    if self._latest.get(key, (None, None))[1] == stamp:
                        del self._latest[key]
                raise StaleObservation(key, age)
            if not (age <= self.max_age_s and stamp > newer_than):  # written so that NaN is stale too
                raise StaleObservation(key, age, not_newer=age <= self.max_age_s)
            obs[key] = value
            oldest = min(oldest, stamp)
        return obs, oldest


class ProprioAssembler:
    """The ``state`` and ``joints`` keys from a robot that reports them on two streams (the ROS robot node: joint
    states with the gripper width last, and the EE pose): each pose is paired with the newest width and stamped
    with the older of the two, so the state's age is never understated."""

    def __init__(self, buffer: ObservationBuffer) -> None:
        self.buffer = buffer
        self._width: tuple[float, float] | None = None  # gripper width (m), stamp (s)

    def on_joints(self, positions: np.ndarray, stamp: float) -> None:
        """``(JOINTS_DIM + 1,)``: the arm's joint positions, then the gripper width."""
        self._width = (float(positions[-1]), float(stamp))
        self.buffer.put(JOINTS, np.asarray(positions[:-1], dtype=np.float32), stamp)  # recorded as obs/joints

    def on_pose(self, pos: np.ndarray, quat_wxyz: np.ndarray, stamp: float) -> None:
        """EE position (3,) m and orientation (4,) w, x, y, z; ignored until a width is known."""
        if self._width is None:
            return
        width, width_stamp = self._width
        self.buffer.put(STATE, proprio(pos, quat_to_mat(quat_wxyz), width), min(float(stamp), width_stamp))
