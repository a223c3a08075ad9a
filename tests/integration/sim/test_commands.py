"""The sim-facing commands run end to end: the main job and the sim benchmark."""

from __future__ import annotations

import json

from robot_rl.cli.main import main


def test_demo_runs_and_writes_outputs(tmp_path, capsys):
    assert main(["demo", "demo.episodes=2", f"output_dir={tmp_path}"]) == 0
    (run_dir,) = tmp_path.glob("demo-*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["episodes"] == 2 and summary["success_rate"] == 1.0
    assert (run_dir / "episode_000.mp4").stat().st_size > 10_000
    assert (run_dir / "episode_000_strip.png").stat().st_size > 1_000
    assert "success rate 100%" in capsys.readouterr().out


def test_bench_sim_writes_table_and_json(tmp_path, capsys):
    assert main(["bench", "sim", "bench.steps=5", "bench.warmup=1", f"bench.out_dir={tmp_path}"]) == 0
    report = json.loads((tmp_path / "sim.json").read_text())
    measures = {row["measure"]: row for row in report["rows"]}
    assert measures["env step, both cameras"]["per_s"] > 0
    assert any(m.startswith("render wrist") for m in measures)
    assert any("visual meshes" in m for m in measures)
    assert report["machine"]["cpus"] >= 1
    assert "env step, both cameras" in capsys.readouterr().out
