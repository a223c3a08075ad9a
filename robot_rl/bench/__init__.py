"""Benchmarks: each suite module has ``run(cfg) -> BenchResult``; ``robot-rl bench <suite>`` runs it."""

SUITES: dict[str, str] = {
    "sim": "robot_rl.bench.sim",
    "buffer": "robot_rl.bench.buffer",
    "hardware": "robot_rl.bench.hardware",
}
