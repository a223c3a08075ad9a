"""The node graph without ROS: what the ROS 2 nodes of ``ros_ws/src/robot_rl_ros`` call into (the actor's
tick, the observation ages) and the supervisor that ``robot-rl up`` runs them under. Never imports rclpy."""
