"""robot_rl: human-in-the-loop residual RL for robot arms (ROS-free core library)."""

__version__ = "0.1.0"
