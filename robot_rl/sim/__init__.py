"""MuJoCo twin of the robot cell: the FR3 arm, a table, a cube and a target.

The headless GL backend is chosen in ``robot_rl/__init__.py``, before MuJoCo can be imported.
"""
