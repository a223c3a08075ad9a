"""Run the main job in simulation: the whole human-in-the-loop loop, no hardware.

1. demo.demos demonstrations by a weak scripted expert (demo.demo_noise: action noise),
2. a BC base trained on them (policy.*),
3. BC alone evaluated on demo.eval_episodes held-out seeds,
4. demo.episodes actor episodes with the simulated human while `robot-rl learn` trains the residual
   in its own process and pushes weights that the actor swaps in between control steps; between episodes
   the twin waits for the learner's budget (demo.pace_learner: learner.utd updates per online transition),
5. BC + residual evaluated on the same held-out seeds; a summary table, the paired difference with its 95%
   interval, the UTD the learner reached, learning_curve.png, a video of the first evaluation episode and
   summary.json under output_dir/demo-<time>/.

It runs with the recipe in configs/profile/demo.yaml (profile=demo: the task, image size, networks and learner
settings chosen so that learning shows within the demo's minutes on a CPU); give profile=<other> or override
single keys to change it.

With demo.ros=true, step 4 runs as the ROS 2 node graph of `robot-rl up sim` (robot, camera, simulated
human, learner and actor nodes, each its own process; needs the `ros` extra) on the same store, BC base
and learner folder; its output goes to graph.log.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from robot_rl.actor.help import make_response
from robot_rl.actor.policy import ResidualPolicy
from robot_rl.actor.success import detector_for
from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.cli.train_bc import train_and_save
from robot_rl.cli.up import ros_missing, run_graph
from robot_rl.config import Config
from robot_rl.data.integrity import summarize
from robot_rl.learner.pacing import LearnerPace, LearnerProgress, read_progress
from robot_rl.learner.weights import weights_channel
from robot_rl.report.table import format_table
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.collect import collect_demos
from robot_rl.sim.harness.episodes import EpisodeResult, ResidualDecider, run_episode
from robot_rl.sim.harness.evaluate import eval_seeds, evaluate, evaluate_human, success_difference
from robot_rl.sim.harness.human import SimulatedHuman
from robot_rl.viz.video import write_strip, write_video

PROFILE = "demo"  # robot-rl demo composes configs/profile/demo.yaml unless another profile= is given
HUMAN_SEEDS = 10  # held-out seeds the simulated human drives alone on, for its own success rate

def _run_paths(cfg: Config, out: Path) -> tuple[Config, list[str]]:
    """Point the store, the BC bundle and the learner at this run's folder (also for the learner process)."""
    paths = {"buffer.path": str(out / "replay.zarr"), "policy.path": str(out / "bc_base.pt"),
             "learner.dir": str(out / "learner")}
    cfg = dataclasses.replace(
        cfg, buffer=dataclasses.replace(cfg.buffer, path=paths["buffer.path"]),
        policy=dataclasses.replace(cfg.policy, path=paths["policy.path"]),
        learner=dataclasses.replace(cfg.learner, dir=paths["learner.dir"]))
    return cfg, [f"{k}={v}" for k, v in paths.items()]


def _start_learner(overrides: list[str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    return subprocess.Popen([sys.executable, "-m", "robot_rl.cli.main", "learn", *overrides],
                            stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(proc: subprocess.Popen, log_path: Path, timeout: float = 120.0) -> None:
    """Wait until the learner process has loaded and says so (its first log line), so the demo's
    episodes really run beside it. The actor itself never waits on the learner."""
    deadline = time.monotonic() + timeout
    while "learner: store" not in log_path.read_text():
        if proc.poll() is not None:
            raise RuntimeError(f"the learner exited with code {proc.returncode} at start; see {log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the learner did not start within {timeout:.0f} s; see {log_path}")
        time.sleep(0.2)


def _stop_learner(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _online_in_process(args: argparse.Namespace, cfg: Config, out: Path, path_overrides: list[str],
                       env: PickPlaceEnv, policy: ResidualPolicy) -> dict | None:
    """Phase 4 in this process: the actor + simulated human here, ``robot-rl learn`` beside it."""
    d = cfg.demo
    print(f"[4/5] {d.episodes} episodes: actor + simulated human, learner in its own process "
          f"(log: {out / 'learner.log'})")
    learner = _start_learner([*args.overrides, *path_overrides], out / "learner.log")
    channel = weights_channel(cfg)
    pace = LearnerPace(Path(cfg.learner.dir), d.pace_timeout_s) if d.pace_learner else None
    human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits), seed=cfg.seed)
    decide = ResidualDecider(env, policy, human, explore=True, help=make_response(cfg.help, policy, cfg.seed))
    success = detector_for(cfg)
    online: list[EpisodeResult] = []
    before = summarize(cfg.buffer.path).n_episodes
    try:
        _wait_ready(learner, out / "learner.log")
        with open_writer(cfg) as writer:
            for i in range(d.episodes):
                r = run_episode(env, d.seed + i, decide, writer=writer, source="policy",
                                policy_version=lambda: policy.version,
                                between_ticks=lambda: policy.poll_weights(channel), success=success)
                online.append(r)
                progress = None
                if pace is not None:  # the episode committed, then the learner's budget for it trained
                    writer.flush()
                    progress = pace.wait(summarize(cfg.buffer.path).n_episodes, alive=lambda: learner.poll() is None)
                recent = online[-10:]
                learned = f"  learner {progress.updates} updates (UTD {progress.utd:.1f})" if progress else ""
                print(f"      episode {i + 1:>3}/{d.episodes}  {'success' if r.success else 'failure'} in "
                      f"{r.steps:>3} steps  interventions {r.intervention_rate:4.0%} ({r.takeovers} take-overs)  "
                      f"weights v{r.policy_version:<4}  last-10 success {np.mean([x.success for x in recent]):.0%}"
                      f"{learned}", flush=True)
                if learner.poll() is not None:
                    print(f"      learner exited with code {learner.returncode}; see {out / 'learner.log'}")
                    break
    finally:
        _stop_learner(learner)
    finished = sum(r.human_finished for r in online)
    print(f"      {sum(r.success for r in online)} successes, {finished} of them finished by a take-over")
    if pace is not None:
        print(f"      the twin waited {pace.waited_s:.0f} s for the learner ({pace.timeouts} waits timed out after "
              f"{d.pace_timeout_s:g} s)")
    return _training_row(cfg, before)


def _learning_summary(cfg: Config, out: Path, before: int, bc: list, final: list) -> dict:
    """The figures the demo is about: the paired difference with its 95% interval, the UTD the learner reached,
    and the learning-curve PNG (training episodes from the store, the learner's own log)."""
    from robot_rl.learner.loop import METRICS
    from robot_rl.report.stats import load_learner_log
    from robot_rl.viz.learning_curve import plot_learning_curve

    bc_ok, final_ok = [r.success for r in bc], [r.success for r in final]
    diff, lo, hi = success_difference(bc_ok, final_ok) if bc_ok else (float("nan"),) * 3
    metrics = Path(cfg.learner.dir) / METRICS
    records = load_learner_log(metrics) if metrics.is_file() else []
    progress = read_progress(cfg.learner.dir) or LearnerProgress(0, 0, 0, False)
    episodes = [e for e in summarize(cfg.buffer.path).episodes[before:] if e["source"] == "policy"]

    def half(ok: list[bool]) -> float:
        return 1.96 * float(np.std(ok, ddof=1)) / np.sqrt(len(ok)) if len(ok) > 1 else float("nan")

    curve = plot_learning_curve(episodes, records, {"BC alone": (float(np.mean(bc_ok)), half(bc_ok)),
                                                    "BC + residual": (float(np.mean(final_ok)), half(final_ok))},
                                cfg.learner.utd, out / "learning_curve.png") if bc_ok else None
    return {"difference": diff, "difference_ci95": [lo, hi], "utd_configured": cfg.learner.utd,
            "utd_reached": progress.utd, "learner_updates": progress.updates, "online_transitions": progress.online,
            "learning_curve": str(curve) if curve else None}


class _GraphLog:
    """Where the graph's output goes: all of it to ``graph.log``; the actor's episode lines and errors also to
    the terminal. The supervisor writes one prefixed line per call (``[actor] ...``)."""

    def __init__(self, f) -> None:
        self.f = f
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            self.f.write(text)
            if text.startswith("[actor] ") and "episode" in text:
                print(f"      {text.rstrip().split(']: ', 1)[-1]}", flush=True)  # the message, not ROS's prefix
            elif "ERROR" in text:
                print(f"      {text.rstrip()}", flush=True)
        return len(text)

    def flush(self) -> None:
        with self.lock:
            self.f.flush()


def _online_over_ros(args: argparse.Namespace, cfg: Config, out: Path, path_overrides: list[str]) -> dict | None:
    """Phase 4 as the ROS 2 node graph of ``robot-rl up sim`` on this run's store, BC base and learner folder;
    returns once the actor node has run ``demo.episodes`` episodes and the graph is down. The row comes from the
    store: the policy episodes the graph appended."""
    d = cfg.demo
    log_path = out / "graph.log"
    print(f"[4/5] {d.episodes} episodes over ROS 2 (robot-rl up sim): robot, camera, simulated human, learner "
          f"and actor nodes (log: {log_path})")
    before = summarize(cfg.buffer.path).n_episodes
    overrides = [*args.overrides, *path_overrides, f"ros.episodes={d.episodes}", f"ros.seed={d.seed}"]
    with log_path.open("w") as f:
        graph_log = _GraphLog(f)
        code = run_graph("sim", overrides, command="demo", output=graph_log,
                         report=lambda msg: graph_log.write(f"[up] {msg}\n"), raise_on_interrupt=True)
    if code != 0:
        raise RuntimeError(f"the ROS 2 graph ended with exit code {code}; see {log_path}")
    return _training_row(cfg, before)


def _training_row(cfg: Config, before: int) -> dict | None:
    """Phase 4's row, from what reached the store (both ways of running it): the policy episodes after the
    first ``before``."""
    eps = [e for e in summarize(cfg.buffer.path).episodes[before:] if e["source"] == "policy"]
    if not eps:
        return None
    return {"phase": "training (with human)", "episodes": len(eps), "success": np.mean([e["success"] for e in eps]),
            "interventions": np.mean([e["intervened_rows"] / max(1, e["length"]) for e in eps]),
            "weights": f"v{eps[-1]['policy_version']}"}


def run(args: argparse.Namespace, cfg: Config) -> int:
    d = cfg.demo
    if d.ros and (missing := ros_missing("demo")) is not None:
        print(f"{missing}\n(demo.ros=true runs the actor episodes as the ROS 2 node graph; without it they run "
              f"in-process)", file=sys.stderr)
        return 2
    out = Path(cfg.output_dir) / time.strftime("demo-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    cfg, path_overrides = _run_paths(cfg, out)
    print(f"robot-rl demo -> {out}\n[1/5] collecting {d.demos} demonstrations (demonstrator noise {d.demo_noise:g})")
    rows: list[dict] = []
    weak = dataclasses.replace(cfg, expert=dataclasses.replace(cfg.expert, noise_std=d.demo_noise))
    with PickPlaceEnv(cfg) as env:
        with open_writer(cfg) as writer:
            demos = collect_demos(weak, env, writer, d.demos, seed=d.seed + 1000)
        rows.append({"phase": "demonstrations", "episodes": len(demos),
                     "success": np.mean([r.success for r in demos]), "interventions": 0.0, "weights": "-"})

        print(f"[2/5] training the BC base ({cfg.policy.epochs} epochs)")
        train_and_save(cfg)
        policy = load_policy(cfg)
        seeds = eval_seeds(d.eval_episodes)
        print(f"[3/5] evaluating BC alone on {len(seeds)} held-out seeds")
        bc_rate, bc_results = evaluate(env, policy, seeds)
        rows.append({"phase": "eval: BC alone", "episodes": len(seeds), "success": bc_rate, "interventions": 0.0,
                     "weights": "v0"})
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits))
        human_rate = evaluate_human(env, human, seeds[:HUMAN_SEEDS])
        print(f"      BC alone: {bc_rate:.0%}; the simulated human alone (human.skill={cfg.human.skill:g}): "
              f"{human_rate:.0%} on {min(HUMAN_SEEDS, len(seeds))} of these seeds")
        rows.append({"phase": "eval: simulated human alone",
                     "episodes": min(HUMAN_SEEDS, len(seeds)), "success": human_rate, "interventions": 1.0,
                     "weights": "-"})

        channel = weights_channel(cfg)
        before = summarize(cfg.buffer.path).n_episodes
        if not d.episodes:
            print("[4/5] demo.episodes=0: no actor episodes")
            training = None
        elif d.ros:
            training = _online_over_ros(args, cfg, out, path_overrides)
        else:
            training = _online_in_process(args, cfg, out, path_overrides, env, policy)
        if training is not None:
            rows.append(training)

        policy.poll_weights(channel)
        print(f"[5/5] evaluating BC + residual (weights v{policy.version}) on the same seeds")
        frames: list[np.ndarray] = []
        final_rate, final_results = evaluate(env, policy, seeds, frames=frames if d.video_episodes else None)
        rows.append({"phase": "eval: BC + residual", "episodes": len(seeds), "success": final_rate,
                     "interventions": 0.0, "weights": f"v{policy.version}"})
    if frames:
        write_video(frames, out / "eval_episode.mp4", fps=cfg.task.control_hz)
        write_strip(frames, out / "eval_episode_strip.png")
    learning = _learning_summary(cfg, out, before, bc_results, final_results)
    print("\n" + format_table([{**r, "success": f"{r['success']:.0%}", "interventions": f"{r['interventions']:.0%}"}
                               for r in rows]))
    lo, hi = learning["difference_ci95"]
    print(f"\nBC + residual - BC alone: {learning['difference']:+.0%} (95% interval {lo:+.0%} .. {hi:+.0%}, paired "
          f"on {len(seeds)} held-out seeds); learner: {learning['learner_updates']} updates for "
          f"{learning['online_transitions']} online transitions, UTD {learning['utd_reached']:.2f} reached of "
          f"{learning['utd_configured']} configured; curve: {learning['learning_curve']}")
    (out / "summary.json").write_text(json.dumps({"rows": rows, "bc_success": bc_rate, "residual_success": final_rate,
                                                  "human_alone_success": human_rate,
                                                  **learning}, indent=2, default=float))
    print(f"\nwrote {out}")
    return 0
