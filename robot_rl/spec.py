"""The observation / action contract, written once (docs/architecture.md section 2).

Everything that produces or consumes an observation or an action (the twin, the Franka driver, the ROS actor
node's conversions, the policies, the store's rows) takes its sizes, names and keys from here, so the ROS actor
and the in-process sim cannot drift apart.

- **Action**: ``(ACTION_DIM,) = (7,) float32`` in [-1, 1]: EE delta translation (3), delta rotation as
  axis-angle (3), gripper (1, -1 open); scaled to metres / radians per step by the robot config.
- **Observation**: a dict of numpy arrays: ``images/<camera>`` ``(H, W, 3) uint8``, ``state``
  ``(STATE_DIM,) = (10,) float32`` (see :func:`proprio`), and where the backend has them ``joints``
  ``(JOINTS_DIM,) = (7,) float32`` arm joint positions (recorded, not fed to the policy).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

ACTION_DIM = 7
ACTION_NAMES = ("dx", "dy", "dz", "drx", "dry", "drz", "gripper")  # the order of the action vector
GRIPPER = 6  # index of the gripper command in an action

# EE position (3), EE orientation as the first two columns of its rotation matrix (6: continuous and unique,
# unlike a quaternion whose sign flips), gripper width (1).
STATE_DIM = 10
JOINTS_DIM = 7

STATE = "state"
JOINTS = "joints"
IMAGE_PREFIX = "images/"


def image_key(camera: str) -> str:
    """The observation key of a camera's frame: ``images/<camera>``."""
    return f"{IMAGE_PREFIX}{camera}"


def observation_keys(cameras: Iterable[str], joints: bool = False) -> list[str]:
    """Every key an observation from these cameras holds, in a fixed order."""
    return [*(image_key(c) for c in cameras), STATE, *([JOINTS] if joints else [])]


def proprio(ee_pos: np.ndarray, ee_mat: np.ndarray, gripper_width: float) -> np.ndarray:
    """The observation's ``state``: ``(3,)`` m, ``(3, 3)`` rotation, width m -> ``(STATE_DIM,) float32``:
    position, rotation columns x and y, width."""
    rot6 = np.asarray(ee_mat)[:, :2].T.reshape(6)
    return np.concatenate([np.asarray(ee_pos).reshape(3), rot6, [gripper_width]]).astype(np.float32)
