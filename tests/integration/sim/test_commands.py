"""The sim benchmark runs end to end (the main job, `robot-rl demo`, is tested in tests/integration/learner)."""

from __future__ import annotations

import json

from robot_rl.cli.main import main


def test_bench_sim_writes_table_and_json(tmp_path, capsys):
    assert main(["bench", "sim", "bench.steps=5", "bench.warmup=1", f"bench.out_dir={tmp_path}"]) == 0
    report = json.loads((tmp_path / "sim.json").read_text())
    measures = {row["measure"]: row for row in report["rows"]}
    assert measures["env step, both cameras"]["per_s"] > 0
    assert any(m.startswith("render wrist") for m in measures)
    assert any("visual meshes" in m for m in measures)
    assert report["machine"]["cpus"] >= 1
    assert "env step, both cameras" in capsys.readouterr().out
