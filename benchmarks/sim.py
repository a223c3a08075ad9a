"""Simulator throughput: env steps/s with both cameras, physics steps/s, render fps per camera.

Baselines measured side by side in the same process: the control step without rendering (what
the cameras cost on top), and one frame drawn with the full visual meshes instead of the coarse
collision meshes (what the simplified geometry buys). Target: >= 50 env steps/s with both cameras,
i.e. 5x the 10 Hz real-time rate.
"""

from __future__ import annotations

import dataclasses

import mujoco

from benchmarks.report import BenchResult
from benchmarks.timing import ms, rate
from robot_rl.config.schema import Config, RenderGeoms
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert

TARGET_ENV_STEPS_PER_S = 50.0


def _episode_driver(env: PickPlaceEnv, expert: ScriptedExpert, render: bool):
    """A step function that runs expert episodes back to back (resets included, as in real use)."""
    state = {"seed": 0}

    def step() -> None:
        if render:
            _, _, terminated, truncated, _ = env.step(expert.act(env.task_state()))
        else:
            env.robot.send_action(expert.act(env.task_state()))
            env.steps += 1
            terminated, truncated = env.evaluate()[0], env.steps >= env.cfg.task.max_steps
        if terminated or truncated:
            state["seed"] += 1
            env.reset(state["seed"])

    return step


def run(cfg: Config) -> BenchResult:
    n, warm = cfg.bench.steps, cfg.bench.warmup
    rows = []
    with PickPlaceEnv(cfg) as env:
        expert = ScriptedExpert(cfg.expert, env.limits)
        env.reset(0)
        hz, t = rate(_episode_driver(env, expert, render=True), n, warm)
        rows.append({"measure": "env step, both cameras", "per_s": hz, "p50_ms": ms(t, 50), "p99_ms": ms(t, 99),
                     "ratio": hz / TARGET_ENV_STEPS_PER_S, "vs": f"target {TARGET_ENV_STEPS_PER_S:g}/s"})
        env.reset(0)
        hz_nr, t = rate(_episode_driver(env, expert, render=False), n, warm)
        rows.append({"measure": "env step, no rendering", "per_s": hz_nr, "p50_ms": ms(t, 50), "p99_ms": ms(t, 99),
                     "ratio": hz / hz_nr, "vs": "with cameras / without"})
        m, d = env.world.model, env.world.data
        hz_phys, t = rate(lambda: mujoco.mj_step(m, d), n * 20, warm)
        rows.append({"measure": "physics step", "per_s": hz_phys, "p50_ms": ms(t, 50), "p99_ms": ms(t, 99)})
        for name in cfg.camera.names:
            env.reset(0)
            hz_cam, t = rate(lambda name=name: env.world.render(name), n, warm)
            rows.append({"measure": f"render {name} {cfg.camera.width}x{cfg.camera.height}", "per_s": hz_cam,
                         "p50_ms": ms(t, 50), "p99_ms": ms(t, 99)})
    visual = dataclasses.replace(cfg, camera=dataclasses.replace(cfg.camera, render_geoms=RenderGeoms.visual))
    with PickPlaceEnv(visual) as env:
        env.reset(0)
        name = cfg.camera.names[-1]
        hz_vis, t = rate(lambda: env.world.render(name), max(10, n // 10), 3)
        rows.append({"measure": f"render {name}, full visual meshes", "per_s": hz_vis, "p50_ms": ms(t, 50),
                     "p99_ms": ms(t, 99), "ratio": hz_cam / hz_vis, "vs": "collision meshes / visual"})
    notes = [f"control {cfg.task.control_hz:g} Hz with {env.world.n_substeps} physics substeps of "
             f"{cfg.robot.physics_dt * 1e3:g} ms; cameras {', '.join(cfg.camera.names)}; "
             f"target >= {TARGET_ENV_STEPS_PER_S:g} env steps/s: {'met' if hz >= TARGET_ENV_STEPS_PER_S else 'MISSED'}"]
    return BenchResult(suite="sim", rows=rows, notes=notes)


if __name__ == "__main__":  # pragma: no cover
    from robot_rl.config import load_config

    c = load_config()
