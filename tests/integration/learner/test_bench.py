"""The learning benchmarks run end to end on a tiny budget and write their table, JSON and plot."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore

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
    assert [r["variant"] for r in report["rows"]] == ["bc", "residual_sparse", "residual_rlif_human", "hg_dagger",
                                                           "hil_serl"]
    assert all(r["seeds"] == 2 for r in report["rows"])
    curves = json.loads((out / "curves.json").read_text())
    assert sorted({c["seed"] for c in curves}) == [0, 1]
    rlif = next(c for c in curves if c["variant"] == "residual_rlif_human")
    assert rlif["env_steps"][0] == 0 and rlif["env_steps"][-1] >= 60 and rlif["updates"] > 0
    assert (out / "learning.png").stat().st_size > 10_000
    assert len(rlif["cycle_steps"]) == len(rlif["env_steps"]) == len(rlif["episode_success"])
    events = EventAccumulator(str(out / "seed0" / "residual_rlif_human" / "tensorboard"))  # the curve, as TB has it
    events.Reload()
    seed0 = next(c for c in curves if c["variant"] == "residual_rlif_human" and c["seed"] == 0)
    assert [(e.step, e.value) for e in events.Scalars("eval/success")] == list(zip(seed0["env_steps"][1:],
                                                                                  seed0["success"][1:], strict=True))
    assert [len(e) for e in rlif["episode_steps"]] == [1] * len(rlif["env_steps"])  # one evaluation episode a point
    points = json.loads((out / "points.json").read_text())  # one record per evaluation point, with the settings
    assert len(points["points"]) == sum(len(c["env_steps"]) for c in curves)
    assert {"variant", "seed", "env_steps", "wall_s", "success", "eval_episodes", "intervention",
            "cycle_steps", "episode_success", "episode_steps"} <= set(points["points"][0])
    assert all(len(p["episode_success"]) == len(p["episode_steps"]) == p["eval_episodes"] for p in points["points"])
    assert points["settings"]["bench"]["seeds"] == [0, 1] and points["settings"]["learner"]["num_critics"] == 2
    assert [r["variant"] for r in points["summary"]] == [r["variant"] for r in report["rows"]]
    assert {"at_half", "cycle_both_start", "cycle_both_final", "cycle_both_seeds"} <= set(report["rows"][0])
    hil = next(c for c in curves if c["variant"] == "hil_serl")
    assert hil["updates"] > 0
    with ReplayStore.open(out / "seed0" / "hil_serl" / "replay.zarr") as store:  # no base: the actor recorded none
        policy_eps = [i for i in range(store.n_episodes) if store.episode_meta(i).source == EpisodeSource.policy]
        assert policy_eps and all(not store.read_episode(i, ["base_action"])["base_action"].any() for i in policy_eps)

    # The same command again keeps every finished piece; a changed setting makes what depends on it again.
    again = ["bench", "learning", *TINY, "bench.learning.seeds=[0]", "bench.learning.demos=2",
             "bench.learning.eval_every=30", "bench.learning.eval_episodes=1", "bench.learning.dagger_every=1",
             "bench.learning.dagger_epochs=1", f"bench.learning.out_dir={out}", f"bench.out_dir={tmp_path}"]
    bc_mtime = (out / "seed0" / "bc.pt").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*again, "bench.learning.env_steps=60"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("kept from") == 5 and "kept BC base" in printed
    kept = json.loads((out / "curves.json").read_text())
    assert [c for c in kept if c["seed"] == 0] == [c for c in curves if c["seed"] == 0]
    assert main([*again, "bench.learning.env_steps=30", "bench.learning.variants=[bc,residual_sparse]"]) == 0
    printed = capsys.readouterr().out
    assert "kept BC base" in printed and "kept from" not in printed and "other settings" in printed
    assert (out / "seed0" / "bc.pt").stat().st_mtime_ns == bc_mtime
    sparse = json.loads((out / "seed0" / "residual_sparse.json").read_text())
    assert sparse["settings"]["run"]["env_steps"] == 30 and sparse["env_steps"][-1] < 60

    # report_only makes nothing: a curve stopped part way is reported as such, one made with other settings and a
    # seed without a BC base are named and left out.
    rlif_path = out / "seed0" / "residual_rlif_human.json"
    rlif_path.write_text(json.dumps({**json.loads(rlif_path.read_text()), "complete": False}))
    report = [a for a in again if not a.startswith("bench.learning.seeds")]
    assert main([*report, "bench.learning.env_steps=60", "bench.learning.seeds=[0,7]",
                 "bench.learning.report_only=true"]) == 0
    printed = capsys.readouterr().out
    assert "seed 7: no BC base" in printed and not (out / "seed7").exists()
    assert "[residual_sparse seed 0] not made yet" in printed and "(stopped at " in printed
    rows = json.loads((tmp_path / "learning.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["residual_rlif_human", "hg_dagger", "hil_serl"]  # bc: remade at 30
    assert (out / "seed0" / "bc.pt").stat().st_mtime_ns == bc_mtime


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        out |= {int(c) for c in (task / "children").read_text().split()}
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit may wait for a reaper that a container lacks)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_killed_bench_takes_its_workers_with_it(tmp_path):
    """SIGKILL the bench while its seed workers run: the workers stop too (they would hold the cores for hours)."""
    bench = subprocess.Popen([sys.executable, "-m", "robot_rl.cli.main", "bench", "learning", *TINY,
                              "bench.learning.seeds=[0,1]", "bench.learning.workers=2", "bench.learning.demos=50",
                              f"bench.learning.out_dir={tmp_path / 'l'}", f"bench.out_dir={tmp_path}"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert bench.stdout is not None
        for line in bench.stdout:  # each worker prints this once it runs its seed
            if "seed 1: demonstrations" in line or "seed 0: demonstrations" in line:
                break
        workers = {p for p in _children(bench.pid)
                   if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()}
        assert workers, "no worker processes found"
    finally:
        bench.send_signal(signal.SIGKILL)
        bench.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(map(_running, workers)):
        time.sleep(0.1)  # polling for an exit, with a deadline
    assert not [p for p in workers if _running(p)], "workers outlived the killed bench"


def test_bench_policy_tiny(tmp_path):
    assert main(["bench", "policy", "bench.steps=10", "bench.warmup=1", "learner.num_critics=3",
                 "learner.hidden_dim=32", f"bench.out_dir={tmp_path}"]) == 0
    rows = json.loads((tmp_path / "policy.json").read_text())["rows"]
    assert any("actor step: BC base + residual" in r["measure"] and r["p99_ms"] > 0 for r in rows)
    assert any("learner update" in r["measure"] and r["per_s"] > 0 for r in rows)


def test_bench_help_tiny(tmp_path):
    """Who watches: always (every training step attended) against a human called by random requests (only the
    steps it looked or drove); request quality from shadow evaluation; rerun, the curves are kept."""
    out, base = tmp_path / "help", tmp_path / "base"
    args = ["bench", "help", *TINY, "bench.learning.demos=2", "bench.help.env_steps=60", "bench.help.eval_every=30",
            "bench.help.eval_episodes=2", "bench.help.variants=[always,gated_random]", f"bench.help.base_from={base}",
            f"bench.help.out_dir={out}", f"bench.out_dir={tmp_path}", "help.budget=0.2", "help.caution_budget=0.3",
            "human.glance_rate=0"]
    assert main(args) == 0
    rows = {r["variant"]: r for r in json.loads((tmp_path / "help.json").read_text())["rows"]}
    assert rows["always"]["attention"] == 1.0 and rows["gated_random"]["attention"] < 1.0
    points = json.loads((out / "points.json").read_text())["points"]
    assert {p["variant"] for p in points} == {"always", "gated_random"}
    assert all(len(p["episode_success"]) == 2 and p["eval_requests"] >= 0 for p in points)
    assert (out / "help.png").stat().st_size > 10_000 and (base / "seed0" / "bc.pt").is_file()
    made = (out / "seed0" / "always.json").stat().st_mtime_ns
    assert main(args) == 0 and (out / "seed0" / "always.json").stat().st_mtime_ns == made


def test_a_request_is_right_when_failure_or_drift_follows_within_the_horizon():
    from benchmarks.help import right_requests

    drifting = [False] * 10 + [True] * 3 + [False] * 10 + [True] * 1 + [False] * 5
    assert right_requests([0, 8, 14], drifting, failed=False, horizon=5, patience=3) == 1  # only 8 sees 10-12
    assert right_requests([0, 8, 14], drifting, failed=False, horizon=10, patience=3) == 2  # 0 and 8 (14: a blip)
    assert right_requests([0, 8, 14], drifting, failed=True, horizon=1, patience=3) == 3
    assert right_requests([], drifting, failed=True, horizon=5, patience=3) == 0
