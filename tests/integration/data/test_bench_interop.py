"""``robot-rl bench interop`` on one short twin episode: every conversion is timed and the LeRobot round trip's
frame error is reported with every other field checked exact (the speed itself is the benchmark's to report)."""

from __future__ import annotations

from benchmarks.interop import run
from robot_rl.config import load_config


def test_bench_interop_times_every_conversion_and_checks_the_round_trip(tmp_path):
    cfg = load_config(["bench.interop.episodes=1", "task.max_steps=20", f"buffer.path={tmp_path}/unused.zarr"])
    result = run(cfg)
    names = [r["conversion"] for r in result.rows]
    assert names[:8] == ["export dp", "import dp", "export mcap", "import mcap", "export lerobot (libx264)",
                         "import lerobot (libx264)", "export lerobot (libsvtav1)", "import lerobot (libsvtav1)"]
    assert all(float(r["wall (s)"]) > 0 for r in result.rows[:8])
    fidelity = result.rows[8:]
    assert len(fidelity) == 2 and all(r["met"] for r in fidelity), "every field but the frames came back exact"
    assert "other fields exact: True" in fidelity[0]["size (MB)"]
    assert result.notes[1].count("frames exact True") == 2, "the DP and MCAP round trips keep the frames too"
