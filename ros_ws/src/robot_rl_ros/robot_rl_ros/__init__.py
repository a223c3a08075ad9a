"""ROS 2 nodes over the robot_rl core library (DESIGN.md sections 1 and 6): thin adapters, no learning logic."""
