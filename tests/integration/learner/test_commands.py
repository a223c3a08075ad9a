"""The learning commands end to end on a tiny setting: collect -> train-bc -> act, and the main job."""

from __future__ import annotations

import json

import pytest

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies import bundle as bundles

from .conftest import policy_episodes_in_store, tiny_overrides


def test_collect_train_act(tmp_path, capsys):
    o = tiny_overrides(tmp_path)
    assert main(["collect", *o, "collect.episodes=2"]) == 0
    assert main(["train-bc", *o]) == 0
    assert bundles.load(tmp_path / "bc.pt", kind="bc").extra["samples"] > 0
    assert main(["act", *o, "act.episodes=2"]) == 0
    with ReplayStore.open(tmp_path / "replay.zarr") as store:
        sources = store.meta()["source"]
        assert [EpisodeSource(int(s)).name for s in sources] == ["demo", "demo", "policy", "policy"]
        ep = store.read_episode(2, ["intervened", "policy_action", "action"])
        # where the simulated human did not intervene, the executed action is the policy's
        free = ~ep["intervened"][:-1]
        assert (ep["policy_action"][:-1][free] == ep["action"][:-1][free]).all()
    out = capsys.readouterr().out
    assert "episode    2/2" in out and "saved BC base" in out


def test_demo_runs_the_whole_loop(tmp_path, capsys):
    o = [x for x in tiny_overrides(tmp_path) if x.split("=")[0] not in ("buffer.path", "policy.path", "learner.dir")]
    # short take-overs, so the policy's own steps pass the learner's min_online_transitions within 3 episodes
    assert main(["demo", *o, f"output_dir={tmp_path}", "demo.demos=2", "demo.episodes=3", "demo.eval_episodes=2",
                 "human.max_takeover_steps=5"]) == 0
    (run_dir,) = tmp_path.glob("demo-*")
    summary = json.loads((run_dir / "summary.json").read_text())
    phases = [r["phase"] for r in summary["rows"]]
    assert phases == ["demonstrations", "eval: BC alone", "eval: simulated human alone", "training (with human)",
                      "eval: BC + residual"]
    training = summary["rows"][3]
    with ReplayStore.open(run_dir / "replay.zarr") as store:
        assert store.n_episodes == 5
    recorded = policy_episodes_in_store(run_dir / "replay.zarr")  # the row must be what the store holds
    assert recorded["seeds"] == [0, 1, 2] and min(recorded["lengths"]) >= 2, "three episodes ran (demo.seed + i)"
    assert training["episodes"] == recorded["episodes"] == 3
    assert training["success"] == pytest.approx(recorded["success"])
    assert training["interventions"] == pytest.approx(recorded["interventions"])
    assert training["weights"] == recorded["weights"]
    assert (run_dir / "eval_episode.mp4").stat().st_size > 1000
    assert "learner:" in (run_dir / "learner.log").read_text()
    out = capsys.readouterr().out
    assert "eval: BC + residual" in out and "BC + residual - BC alone:" in out
    # paced: the twin waited for the learner after each episode, so it trained its 4 updates per online transition
    # (the human's steps go to the offline pool, with the demos; an episode's last row only ends it)
    transitions = sum(recorded["lengths"]) - len(recorded["lengths"])
    assert 20 <= summary["online_transitions"] <= transitions, (summary, transitions)
    assert summary["learner_updates"] == 4 * summary["online_transitions"]
    assert summary["utd_reached"] == 4.0 and summary["utd_configured"] == 4
    lo, hi = summary["difference_ci95"]
    assert lo <= summary["difference"] == summary["residual_success"] - summary["bc_success"] <= hi
    assert (run_dir / "learning_curve.png").stat().st_size > 5000


def test_act_logs_every_step_to_rerun(tmp_path, capsys):
    """``act --rerun FILE.rrd``: each step's frames and actions as Rerun's own reader reads them back, matching
    what the store recorded; a target that is none of a file, an address or spawn is refused before the run."""
    import numpy as np
    from rerun.chunk import RrdReader

    o = tiny_overrides(tmp_path)
    assert main(["collect", *o, "collect.episodes=1"]) == 0
    assert main(["train-bc", *o]) == 0
    assert main(["act", *o, "act.episodes=1", "--rerun", "nowhere"]) == 2
    assert "--rerun 'nowhere'" in capsys.readouterr().err
    out = tmp_path / "act.rrd"
    assert main(["act", *o, "act.episodes=1", "--rerun", str(out)]) == 0
    series: dict[str, list] = {}
    for chunk in RrdReader(str(out)).stream().to_chunks():
        batch = chunk.to_record_batch()
        value = next((n for n in batch.schema.names if n.endswith((":scalars", ":buffer"))), None)
        if value is not None and "tick" in batch.schema.names:
            series.setdefault(chunk.entity_path, []).extend(
                zip(batch.column("tick").to_pylist(), batch.column(value).to_pylist(), strict=True))
    with ReplayStore.open(tmp_path / "replay.zarr") as store:
        ep = store.read_episode(store.n_episodes - 1, ["action", "intervened"])
    steps = len(ep["action"]) - 1  # the last row is the final observation: nothing was decided from it
    cameras = [p for p in series if p.startswith("/cameras/")]
    assert cameras and all(len(series[p]) == steps for p in cameras)
    dx = [v[0] for _, v in sorted(series["/action/action/dx"])]
    np.testing.assert_allclose(dx, ep["action"][:-1, 0], rtol=1e-6, atol=1e-7)
    assert [v[0] for _, v in sorted(series["/intervened"])] == [float(x) for x in ep["intervened"][:-1]]
