"""Run the main job in simulation, with no hardware.

Today: the MuJoCo pick-and-place task driven by the scripted expert for demo.episodes episodes
(seeds demo.seed, demo.seed+1, ...); prints progress and the success rate, and writes a video and an
image strip of the first demo.video_episodes episodes plus summary.json under output_dir/demo-<time>/.
It grows into the whole human-in-the-loop loop (BC base, residual learner, simulated human).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from robot_rl.config import Config
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.viz.video import tile, write_strip, write_video


def run(args: argparse.Namespace, cfg: Config) -> int:
    out = Path(cfg.output_dir) / time.strftime("demo-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    episodes, results = cfg.demo.episodes, []
    print(f"robot-rl demo: {episodes} episodes of {cfg.task.name} with the scripted expert "
          f"(noise {cfg.expert.noise_std:g}) -> {out}")
    start = time.perf_counter()
    with PickPlaceEnv(cfg) as env:
        expert = ScriptedExpert(cfg.expert, env.limits)
        for ep in range(episodes):
            seed = cfg.demo.seed + ep
            t0 = time.perf_counter()
            obs, _ = env.reset(seed)
            expert.reset(seed)
            record = ep < cfg.demo.video_episodes
            frames = [tile([obs[f"images/{c}"] for c in cfg.camera.names])] if record else []
            done, info = False, {}
            while not done:
                obs, _, terminated, truncated, info = env.step(expert.act(env.task_state()))
                done = terminated or truncated
                if record:
                    frames.append(tile([obs[f"images/{c}"] for c in cfg.camera.names]))
            results.append({"episode": ep, "seed": seed, "success": bool(info["success"]), "steps": env.steps,
                            "seconds": time.perf_counter() - t0})
            if record:
                write_video(frames, out / f"episode_{ep:03d}.mp4", fps=cfg.task.control_hz)
                write_strip(frames, out / f"episode_{ep:03d}_strip.png")
            rate = np.mean([r["success"] for r in results])
            print(f"  episode {ep + 1:>3}/{episodes}  seed {seed:<5} "
                  f"{'success' if info['success'] else 'failure'} in {env.steps:>3} steps  "
                  f"success rate so far {rate:.0%}", flush=True)
    elapsed = time.perf_counter() - start
    steps = sum(r["steps"] for r in results)
    summary = {"episodes": episodes, "success_rate": float(np.mean([r["success"] for r in results])),
               "mean_steps": float(np.mean([r["steps"] for r in results])), "env_steps": steps,
               "env_steps_per_s": steps / elapsed, "wall_s": elapsed, "episodes_detail": results}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nsuccess rate {summary['success_rate']:.0%} over {episodes} episodes, "
          f"{summary['mean_steps']:.1f} steps per episode, {summary['env_steps_per_s']:.0f} env steps/s "
          f"(both cameras rendered)\nwrote {out}")
    return 0
