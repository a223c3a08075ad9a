"""Pictures of what the robot saw: videos and image strips."""
