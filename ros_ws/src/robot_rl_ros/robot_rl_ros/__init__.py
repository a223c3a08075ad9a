"""ROS 2 nodes over the robot_rl core library (docs/architecture.md §1): thin adapters, no learning logic."""
