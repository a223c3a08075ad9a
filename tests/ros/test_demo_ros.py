"""``robot-rl demo demo.ros=true``: the main job with its online phase run as the ROS 2 node graph of
``robot-rl up sim`` (robot, camera, simulated human, learner and actor nodes as processes), on a tiny setting."""

from __future__ import annotations

import json
import re

import pytest

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from tests.integration.learner.conftest import policy_episodes_in_store, tiny_overrides

RUN_PATHS = ("buffer.path", "policy.path", "learner.dir")  # the demo puts these in its run folder


@pytest.mark.slow
def test_demo_runs_its_online_episodes_over_ros(tmp_path, capsys):
    tiny = [o for o in tiny_overrides(tmp_path) if o.split("=")[0] not in RUN_PATHS]
    assert main(["demo", *tiny, f"output_dir={tmp_path}", "demo.ros=true", "demo.demos=2", "demo.episodes=2",
                 "demo.eval_episodes=1"]) == 0
    (run_dir,) = tmp_path.glob("demo-*")
    out = capsys.readouterr().out
    assert "over ROS 2" in out and "eval: BC + residual" in out
    assert "node actor exited cleanly" in (run_dir / "graph.log").read_text()

    with ReplayStore.open(run_dir / "replay.zarr") as store:
        metas = [store.episode_meta(i) for i in range(store.n_episodes)]
    assert [m.source for m in metas] == [EpisodeSource.demo] * 2 + [EpisodeSource.policy] * 2
    assert [m.seed for m in metas[2:]] == [0, 1]  # ros.seed = demo.seed: the in-process demo's seeds

    rows = {r["phase"]: r for r in json.loads((run_dir / "summary.json").read_text())["rows"]}
    assert list(rows) == ["demonstrations", "eval: BC alone", "eval: simulated human alone", "training (with human)",
                      "eval: BC + residual"]
    training = rows["training (with human)"]
    recorded = policy_episodes_in_store(run_dir / "replay.zarr")  # the row must be what the graph recorded
    assert min(recorded["lengths"]) >= 2, "each policy episode has at least one transition"
    assert training["episodes"] == recorded["episodes"] == 2
    assert training["success"] == pytest.approx(recorded["success"])
    assert training["interventions"] == pytest.approx(recorded["interventions"])
    assert training["weights"] == recorded["weights"]
    # the learner node publishes to learner.dir/weights as well as over DDS: phase 5 evaluates its last version
    last = re.search(r"learner stopped at \d+ updates, weights v(\d+)", (run_dir / "graph.log").read_text())
    assert last is not None
    assert rows["eval: BC + residual"]["weights"] == f"v{last.group(1)}"
