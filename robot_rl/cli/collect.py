"""Record demonstrations into the replay store (buffer.path).

In simulation the scripted expert demonstrates (expert.noise_std > 0 for a weaker demonstrator);
collect.episodes episodes from seed collect.seed, stored with source collect.source.
"""

from __future__ import annotations

import argparse

from robot_rl.actor.wiring import open_writer
from robot_rl.config import Config
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.collect import collect_demos


def run(args: argparse.Namespace, cfg: Config) -> int:
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        results = collect_demos(cfg, env, writer, cfg.collect.episodes, cfg.collect.seed, cfg.collect.source)
        total = writer.store.n_episodes
    ok = sum(r.success for r in results)
    print(f"recorded {len(results)} {cfg.collect.source} episodes ({ok} successful, "
          f"{sum(r.steps for r in results)} steps) into {cfg.buffer.path}; the store now holds {total} episodes")
    return 0
