"""MuJoCo twin of the robot cell: the FR3 arm, a table, a cube and a target.

Importing this package selects a headless GL backend before MuJoCo is imported.
"""

from robot_rl.sim.gl import choose_default_backend

choose_default_backend()
