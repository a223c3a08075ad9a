"""The learning benchmarks run end to end on a tiny budget and write their table, JSON and plot."""

from __future__ import annotations

import json

from robot_rl.cli.main import main

TINY = ["task=pick_place_easy", "task.max_steps=30", "camera.width=32", "camera.height=32", "policy.epochs=1",
        "policy.feature_dim=8", "policy.hidden_dim=32", "learner.num_critics=2", "learner.hidden_dim=32",
        "learner.batch_size=32", "learner.min_online_transitions=10", "learner.critic_warmup_updates=5"]


def test_bench_learning_tiny(tmp_path, capsys):
    """Two seeds in two worker processes; every variant's curve per seed, merged into one table and plot; run
    again, it keeps what was made with the same settings."""
    out = tmp_path / "learning"
    assert main(["bench", "learning", *TINY, "bench.learning.seeds=[0,1]", "bench.learning.workers=2",
                 "bench.learning.demos=2",
                 "bench.learning.env_steps=60", "bench.learning.eval_every=30", "bench.learning.eval_episodes=1",
                 "bench.learning.dagger_every=1", "bench.learning.dagger_epochs=1", f"bench.learning.out_dir={out}",
                 f"bench.out_dir={tmp_path}"]) == 0
    report = json.loads((tmp_path / "learning.json").read_text())
    assert [r["variant"] for r in report["rows"]] == ["bc", "residual_sparse", "residual_rlif_human", "hg_dagger"]
    assert all(r["seeds"] == 2 for r in report["rows"])
    curves = json.loads((out / "curves.json").read_text())
    assert sorted({c["seed"] for c in curves}) == [0, 1]
    rlif = next(c for c in curves if c["variant"] == "residual_rlif_human")
    assert rlif["env_steps"][0] == 0 and rlif["env_steps"][-1] >= 60 and rlif["updates"] > 0
    assert (out / "learning.png").stat().st_size > 10_000

    # The same command again keeps every finished piece; a changed setting makes what depends on it again.
    again = ["bench", "learning", *TINY, "bench.learning.seeds=[0]", "bench.learning.demos=2",
             "bench.learning.eval_every=30", "bench.learning.eval_episodes=1", "bench.learning.dagger_every=1",
             "bench.learning.dagger_epochs=1", f"bench.learning.out_dir={out}", f"bench.out_dir={tmp_path}"]
    bc_mtime = (out / "seed0" / "bc.pt").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*again, "bench.learning.env_steps=60"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("kept from") == 4 and "kept BC base" in printed
    kept = json.loads((out / "curves.json").read_text())
    assert [c for c in kept if c["seed"] == 0] == [c for c in curves if c["seed"] == 0]
    assert main([*again, "bench.learning.env_steps=30", "bench.learning.variants=[bc,residual_sparse]"]) == 0
    printed = capsys.readouterr().out
    assert "kept BC base" in printed and "kept from" not in printed and "other settings" in printed
    assert (out / "seed0" / "bc.pt").stat().st_mtime_ns == bc_mtime
    sparse = json.loads((out / "seed0" / "residual_sparse.json").read_text())
    assert sparse["settings"]["run"]["env_steps"] == 30 and sparse["env_steps"][-1] < 60


def test_bench_policy_tiny(tmp_path):
    assert main(["bench", "policy", "bench.steps=10", "bench.warmup=1", "learner.num_critics=3",
                 "learner.hidden_dim=32", f"bench.out_dir={tmp_path}"]) == 0
    rows = json.loads((tmp_path / "policy.json").read_text())["rows"]
    assert any("actor step: BC base + residual" in r["measure"] and r["p99_ms"] > 0 for r in rows)
    assert any("learner update" in r["measure"] and r["per_s"] > 0 for r in rows)
