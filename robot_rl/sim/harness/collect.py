"""Record scripted-expert demonstrations (the sim stand-in for teleoperated demos)."""

from __future__ import annotations

from tqdm import tqdm

from robot_rl.config.schema import Config
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import EpisodeResult, ExpertDecider, run_episode


def collect_demos(cfg: Config, env: PickPlaceEnv, writer: EpisodeWriter, episodes: int, seed: int,
                  source: str = "demo", progress: bool = True) -> list[EpisodeResult]:
    decide = ExpertDecider(env, ScriptedExpert(cfg.expert, env.limits))
    results = []
    bar = tqdm(range(episodes), desc="collect", unit="episode", disable=not progress)
    for i in bar:
        results.append(run_episode(env, seed + i, decide, writer=writer, source=source))
        bar.set_postfix(success=f"{sum(r.success for r in results) / len(results):.0%}")
    writer.flush()
    return results
