"""Benchmarks: each suite module has ``run(cfg) -> BenchResult``; ``robot-rl bench <suite>`` runs it."""

SUITES: dict[str, str] = {
    "sim": "benchmarks.sim",
    "buffer": "benchmarks.buffer",
    "hardware": "benchmarks.hardware",
    "policy": "benchmarks.policy",
    "learning": "benchmarks.learning",
    "help": "benchmarks.help",
    "reward": "benchmarks.reward",
    "interop": "benchmarks.interop",
    "ros": "benchmarks.ros",
    "soak": "benchmarks.soak",
}
# Hours on a CPU (learning) or minutes by design (the fault-injection soak): run on their own
# (`robot-rl bench learning`, `robot-rl bench soak bench.soak.minutes=30`), never as part of `all`.
LONG_SUITES = frozenset({"learning", "help", "reward", "soak"})
