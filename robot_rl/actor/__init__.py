"""The actor: one control tick from the newest observation to a clipped command and a recorded row.

``observation`` (the newest sample of each key and its age check) -> ``policy`` (frozen base + scale * residual)
-> ``arbitration`` (the human wins while intervening) -> the safety clip -> ``rows`` (the store's row) ->
``tick`` (the episode lifecycle around all of that) driven at a fixed rate by ``control_loop``; ``wiring`` builds
the policy and the store writer from the config. Never imports rclpy: the ROS actor node converts messages and
calls :class:`~robot_rl.actor.tick.GraphActor`."""
