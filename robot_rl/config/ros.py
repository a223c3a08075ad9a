"""Config of the ROS 2 node graph (``ros.*``): which nodes ``robot-rl up`` starts and how they talk.

The nodes themselves live in ``ros_ws/src/robot_rl_ros``; the core library only describes the graph
here and supervises it (:mod:`robot_rl.cli.supervisor`), it never imports rclpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.checks import check

TELEOP_BACKENDS = ("sim", "devices", "none")
NODE_EXECUTABLES = ("camera_node", "robot_node", "teleop_node", "actor_node", "learner_node")


@dataclass
class RosNodeConfig:
    """One process of the graph. ``executable``: a module of ``robot_rl_ros`` (``ros2 run robot_rl_ros <it>``).
    ``hardware``: it owns a device; when it dies the supervisor stops the robot. ``required``: its death
    (or clean exit) ends the run; an optional node (the learner) may die and the rest keeps going."""

    name: str = ""
    executable: str = ""
    hardware: bool = False
    required: bool = True


def _default_nodes() -> list[RosNodeConfig]:
    return [RosNodeConfig("robot", "robot_node", hardware=True),
            RosNodeConfig("camera", "camera_node", hardware=True),
            RosNodeConfig("teleop", "teleop_node", hardware=True),
            RosNodeConfig("learner", "learner_node", required=False),
            RosNodeConfig("actor", "actor_node")]


@dataclass
class RosConfig:
    """The node graph (docs/architecture.md §1). ``episodes``: the actor ends the run after this many (0: run until
    stopped). ``teleop``: ``sim`` (the simulated human watching the sim), ``devices`` (SpaceMouse + keyboard),
    ``none``. ``lockstep``: act only on observations taken after the previous command (right
    for the MuJoCo twin, which steps once per command; false on hardware, where cameras stream at their own
    rate). ``torch_threads``: torch threads in each node, the learner's too (0: torch's default; 1 keeps a 2-core
machine responsive). ``learner_nice``: the learner node's niceness (0-19): training is background work, so on a
shared CPU the robot, camera and actor nodes always win it; 0 leaves the learner at normal priority.
    ``state_hz``: joint state / pose publishing rate of the robot node. ``teleop_hz``: the teleop
    node's publishing rate. ``discovery_range``: ROS_AUTOMATIC_DISCOVERY_RANGE set for the nodes when the
    environment does not set it (LOCALHOST keeps the graph on this machine; SUBNET to put the learner on
    another host). ``stop_grace_s``: how long a node gets to exit after SIGINT before SIGTERM / SIGKILL.
    ``executor``: ``events`` (the default: rclpy's C++ EventsExecutor, rclpy.experimental in Jazzy: callbacks
    dispatched without rebuilding a wait set in Python each time, so less of the GIL taken from the actor's
    control thread; ``robot-rl bench ros`` measured it ahead of the other at both rates) or ``single`` (the classic
    SingleThreadedExecutor).
    ``timing_path``: where the actor node writes every command's timing (capture stamp, tick, published) as
    JSON when it stops; empty: only the percentiles in its log. ``robot-rl bench ros`` reads it.
    ``record_bag``: a folder that ``robot-rl up`` records the graph's topics to, as a ROS 2 bag with MCAP storage
    (an extra node, ``bag_recorder_node``; needs the ``interop`` extra; empty: no bag). It must not exist yet.
    ``bag_chunk_s``: how often the recorder writes what it holds to disk (one MCAP chunk): what a killed recorder
    loses at most (``robot-rl buffer repair`` recovers the rest)."""

    nodes: list[RosNodeConfig] = field(default_factory=_default_nodes)
    episodes: int = 0
    seed: int | None = None  # the actor's first episode seed; None: the root seed
    explore: bool = True
    record: bool = True
    lockstep: bool = True
    torch_threads: int = 1
    learner_nice: int = 10
    executor: str = "events"
    teleop: str = "sim"
    state_hz: float = 50.0
    teleop_hz: float = 50.0
    discovery_range: str = "LOCALHOST"
    stop_grace_s: float = 5.0
    startup_timeout_s: float = 60.0
    timing_path: str = ""
    record_bag: str = ""
    bag_chunk_s: float = 1.0
    package_path: str = ""  # where robot_rl_ros is imported from when not installed (default: ros_ws/src/robot_rl_ros)

    def validate(self, key: str) -> None:
        names = [n.name for n in self.nodes]
        check(len(set(names)) == len(names), f"{key}.nodes", f"duplicate node names in {names}")
        for i, n in enumerate(self.nodes):
            check(bool(n.name), f"{key}.nodes[{i}].name", "must not be empty")
            check(n.executable in NODE_EXECUTABLES, f"{key}.nodes[{i}].executable",
                   f"must be one of {list(NODE_EXECUTABLES)}, got {n.executable!r}")
        check(self.episodes >= 0, f"{key}.episodes", "must be >= 0")
        check(self.torch_threads >= 0, f"{key}.torch_threads", "must be >= 0")
        check(0 <= self.learner_nice <= 19, f"{key}.learner_nice", f"must be 0-19, got {self.learner_nice}")
        check(self.executor in ("events", "single"), f"{key}.executor",
               f"must be events or single, got {self.executor!r}")
        check(self.teleop in TELEOP_BACKENDS, f"{key}.teleop", f"must be one of {list(TELEOP_BACKENDS)}")
        check(self.state_hz > 0 and self.teleop_hz > 0, f"{key}.state_hz/teleop_hz", "must be > 0")
        check(self.discovery_range in ("LOCALHOST", "SUBNET", "SYSTEM_DEFAULT", "OFF"), f"{key}.discovery_range",
               "must be LOCALHOST, SUBNET, SYSTEM_DEFAULT or OFF")
        check(self.bag_chunk_s > 0, f"{key}.bag_chunk_s", f"must be > 0, got {self.bag_chunk_s}")
        check(self.stop_grace_s > 0 and self.startup_timeout_s > 0, f"{key}.stop_grace_s/startup_timeout_s",
               "must be > 0")
