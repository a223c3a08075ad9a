"""An in-process run with the help gate: every step's score and level reach the store, the report's statistics
and plots, and the episode video's overlay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.actor.help import make_response
from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config import load_config
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.report.html import write_report
from robot_rl.report.stats import episode_stats
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import ResidualDecider, run_episode
from robot_rl.sim.harness.human import SimulatedHuman
from robot_rl.sim.replay import EpisodeReplayer, load_episode
from robot_rl.viz.episode_video import compose_frame


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two policy episodes with help.gate=score and no learner yet (so the gate cannot judge: it asks) and a
    gated simulated human who comes when asked."""
    root = tmp_path_factory.mktemp("help")
    cfg = load_config(["task=pick_place_easy", "task.max_steps=30", "camera.width=32", "camera.height=32",
                       f"buffer.path={root / 'replay.zarr'}", f"policy.path={root / 'bc.pt'}", "policy.feature_dim=8",
                       "policy.hidden_dim=32", "help.gate=score", "help.cooldown_steps=5", "human.attention=gated",
                       "human.call_delay_steps=3", "human.glance_rate=0"])
    torch.manual_seed(0)
    net = BCNetwork(cfg.camera.names, (32, 32), 10, cfg.policy.chunk, cfg.policy.feature_dim, cfg.policy.hidden_dim)
    bundles.save(net.to_bundle(), cfg.policy.path)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        policy = load_policy(cfg)
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits))
        decide = ResidualDecider(env, policy, human, explore=False, help=make_response(cfg.help, policy))
        results = [run_episode(env, seed, decide, writer=writer) for seed in (3, 4)]
    return cfg, root / "replay.zarr", results


def test_the_store_holds_every_steps_score_and_level(run):
    _, path, results = run
    with ReplayStore.open(path) as store:
        assert store.schema.help
        cols = store.read_episode(0, ["help_score", "help_level", "intervened", "action"])
    level = cols["help_level"][:-1]
    assert level[0] == 2 and np.isnan(cols["help_score"][0]), "unjudged: the first step asks"
    assert results[0].held_steps == 3 and (level[:3] == 2).all(), "held while the human was on its way (3 steps)"
    np.testing.assert_array_equal(cols["action"][:3, :6], 0.0)
    assert results[0].help_requests == int(((level[1:] == 2) & (level[:-1] != 2)).sum() + (level[0] == 2))


def test_the_report_counts_and_plots_the_requests(run, tmp_path):
    _, path, results = run
    with ReplayStore.open(path) as store:
        eps = episode_stats(store)
    assert [e.help_requests for e in eps] == [r.help_requests for r in results] and eps[0].help_requests >= 1
    assert eps[0].help_unjudged == eps[0].steps - eps[0].intervened_steps, "no calibration: no step was judged"
    report = write_report(tmp_path, str(path), eps)
    assert {p.stem for p in report.pngs} >= {"help_requests", "help_score"}


def test_the_video_overlay_shows_the_request(run):
    cfg, path, _ = run
    with ReplayStore.open(path) as store:
        ep = load_episode(store, 0, cameras=list(cfg.camera.names))
    with EpisodeReplayer(cfg, list(cfg.camera.names), (32, 32)) as replayer:
        result = replayer.replay(ep, "action")
    asking = compose_frame(ep, result, 0, tile=64)
    for k in ("help_score", "help_level"):
        ep.cols.pop(k)
    plain = compose_frame(ep, result, 0, tile=64)
    assert asking.shape == plain.shape
    panel = slice(asking.shape[0] - 96 - 6, asking.shape[0] - 6)
    amber = (asking[panel, :, 0] > 200) & (asking[panel, :, 1] > 140) & (asking[panel, :, 2] < 60)
    assert amber.sum() > 20 and not ((plain[panel, :, 0] > 200) & (plain[panel, :, 2] < 60)
                                     & (plain[panel, :, 1] > 140)).any()
