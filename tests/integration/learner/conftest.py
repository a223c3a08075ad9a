"""A tiny recorded run for the learning tests: 32x32 cameras, short episodes, an untrained BC base; and
:func:`policy_episodes_in_store`, what the demo's training row must agree with, read from the store itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config import Config, load_config
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.collect import collect_demos
from robot_rl.sim.harness.episodes import ResidualDecider, run_episode


@dataclass
class TinyRun:
    cfg: Config
    overrides: list[str]
    root: Path


def tiny_overrides(root: Path) -> list[str]:
    return ["task=pick_place_easy", "task.max_steps=25", "camera.width=32", "camera.height=32",
            f"buffer.path={root / 'replay.zarr'}", f"policy.path={root / 'bc.pt'}", f"learner.dir={root / 'learner'}",
            "buffer.poll_interval_s=0.05", "learner.num_critics=3", "learner.hidden_dim=32", "learner.batch_size=32",
            "learner.min_online_transitions=20", "learner.publish_every=5", "learner.checkpoint_every=10",
            "learner.critic_warmup_updates=5", "policy.feature_dim=8", "policy.hidden_dim=32", "policy.epochs=1",
            f"security.key_path={root / 'deployment.key'}"]  # never the user's own key


def policy_episodes_in_store(path: Path) -> dict:
    """The policy episodes of the store at ``path``, recomputed from its episode table and ``intervened`` column
    (not through ``robot_rl.data.integrity.summarize``, which the demo's row uses): their count, success rate,
    mean share of human-driven rows, last weights version, seeds and lengths."""
    with ReplayStore.open(path) as store:
        metas = [store.episode_meta(i) for i in range(store.n_episodes)]
        policy = [i for i, m in enumerate(metas) if m.source == EpisodeSource.policy]
        intervened = [store.read_episode(i, ["intervened"])["intervened"] for i in policy]
    return {"episodes": len(policy), "success": float(np.mean([metas[i].success for i in policy])),
            "interventions": float(np.mean([x.mean() for x in intervened])),
            "weights": f"v{metas[policy[-1]].policy_version}", "seeds": [metas[i].seed for i in policy],
            "lengths": [len(x) for x in intervened]}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> TinyRun:
    root = tmp_path_factory.mktemp("tiny")
    overrides = tiny_overrides(root)
    cfg = load_config(overrides)
    torch.manual_seed(0)
    net = BCNetwork(cfg.camera.names, (32, 32), 10, cfg.policy.chunk, cfg.policy.feature_dim, cfg.policy.hidden_dim)
    bundles.save(net.to_bundle(), cfg.policy.path)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        collect_demos(cfg, env, writer, episodes=2, seed=0, progress=False)
        policy = load_policy(cfg)
        for seed in (10, 11):
            run_episode(env, seed, ResidualDecider(env, policy, None, explore=True), writer=writer)
        writer.flush()
    return TinyRun(cfg, overrides, root)
