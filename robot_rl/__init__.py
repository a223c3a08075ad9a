"""robot_rl: human-in-the-loop residual RL for robot arms (ROS-free core library)."""

__version__ = "0.1.0"

# MuJoCo reads MUJOCO_GL once, when first imported: choose a headless backend before any module of
# this package can import mujoco.
from robot_rl.sim.gl import choose_default_backend as _choose_gl

_choose_gl()
