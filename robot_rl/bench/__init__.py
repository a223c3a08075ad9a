"""Benchmarks: each suite module has ``run(cfg) -> BenchResult``; ``robot-rl bench <suite>`` runs it."""

SUITES: dict[str, str] = {
    "sim": "robot_rl.bench.sim",
    "buffer": "robot_rl.bench.buffer",
    "hardware": "robot_rl.bench.hardware",
    "policy": "robot_rl.bench.policy",
    "learning": "robot_rl.bench.learning",
    "ros": "robot_rl.bench.ros",
    "soak": "robot_rl.bench.soak",
}
# Hours on a CPU (learning) or minutes by design (the fault-injection soak): run on their own
# (`robot-rl bench learning`, `robot-rl bench soak bench.soak.minutes=30`), never as part of `all`.
LONG_SUITES = frozenset({"learning", "soak"})
