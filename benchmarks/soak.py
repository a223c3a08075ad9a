"""The fault-injection soak: the whole sim graph of ``robot-rl up sim`` runs under a
:class:`~robot_rl.cli.supervisor.Supervisor` while a seeded schedule injects one fault at a time, each at a
random moment once the graph is healthy (commands reaching the robot), and measures what it cost.

Faults (``bench.soak.faults``):
- ``kill_<node>`` for camera, robot, teleop, actor, learner: SIGKILL, then a fresh process (restarted at once,
  as a process supervisor would; for the actor once the robot reported the arm halted, so the stop is measured
  before a new actor could command);
- ``pause``: SIGSTOP of the camera, robot or actor process for ``fault_s``, then SIGCONT (a stalled process:
  its peers see its messages stop, then a burst of late ones);
- ``delay_frames`` / ``drop_frames``: camera frames pass through a relay process (the camera node's topics are
  remapped to ``/soak/...``); for ``fault_s`` it republishes every frame ``delay_s`` late, or drops
  ``drop_fraction`` of them;
- ``disk_full``: the store lives on a small file system of its own (root: a ``store_mb`` ext4 image file in
  the work dir, loop-mounted; a tmpfs where loop devices are missing); the soak fills it with a file, holds it
  full until the actor fails or ``3 * fault_s`` passed, then deletes the file. Without root an
  ENOSPC stand-in (:mod:`robot_rl.testing.faults`, loaded into the graph's processes by
  ``benchmarks/soak_inject/sitecustomize.py``) makes the store's writes fail the same way.

The schedule: a kill waits until the incarnation it ends has been sampled ``warmup_s + min_track_s`` (other faults
go first meanwhile), so every process kind gets a life long enough to judge its growth; the robot is killed
mid-episode with steps to go, the teleop node during a take-over (``/teleop/intervening``).

Measured and checked (violations listed in the report; tolerances in ``bench.soak``): the arm halted within
``robot.watchdog_s + stop_slack_s`` of the actor's death, and did not move while halted; commands back within
``recover_timeout_s`` of every fault; every executed command acting on an observation at most
``robot.max_command_age_s + age_slack_s`` old (the robot refuses older ones; the slack covers its echo); no
committed episode lost, and per actor life at most the episode in progress plus two per full disk; no command
executed twice (the echo's signed send time); the episode a robot restart interrupted run again; the arm halted
after the teleop node died during a take-over; no node exiting by itself (a full disk makes the actor hold and
retry); the learner resuming from its checkpoint (its update counter continues); ``verify`` clean at the end; RSS
and open FDs of each process incarnation not growing, every process kind judged at least once. The soak runs
a small profile (:data:`SOAK_PROFILE`: 32x32 cameras, short episodes, small networks, quick checkpoints) under
the caller's overrides: it tests fault handling, not learning.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict
from pathlib import Path

from benchmarks.report import BenchResult
from benchmarks.soak_report import SoakReport, report_notes, summary_rows
from benchmarks.soak_run import SoakRun
from benchmarks.soak_watch import mount_small_fs, unmount
from robot_rl.config import Config, load_config

SOAK_PROFILE = ["task=pick_place_easy", "task.max_steps=25", "camera.width=32", "camera.height=32",
                "buffer.poll_interval_s=0.2", "learner.num_critics=3", "learner.hidden_dim=32",
                "learner.batch_size=32", "learner.min_online_transitions=20", "learner.publish_every=5",
                "learner.checkpoint_every=10", "learner.critic_warmup_updates=5", "policy.feature_dim=8",
                "policy.hidden_dim=32", "policy.epochs=1", "policy.device=cpu", "learner.device=cpu"]
DEMOS = 2
__all__ = ["SOAK_PROFILE", "SoakReport", "run", "run_soak", "summary_rows"]


def run_soak(overrides: list[str], work: Path, log=print) -> SoakReport:
    """Prepare ``work`` (BC base, demos, the store's file system), run the soak, return its report. ``overrides``:
    the caller's config overrides (``bench.soak.*`` among them), applied over :data:`SOAK_PROFILE`."""
    work.mkdir(parents=True, exist_ok=True)
    store_dir = work / "store"
    forced = [f"buffer.path={store_dir / 'replay.zarr'}", f"policy.path={work / 'bc.pt'}",
              f"learner.dir={work / 'learner'}", "ros.episodes=0", "ros.record=true",
              f"security.key_path={work / 'deployment.key'}"]  # signed weights / commands: this run's own key
    node_overrides = ["experiment=sim", *SOAK_PROFILE, *overrides, *forced]
    cfg = load_config(node_overrides)
    sc = cfg.bench.soak
    if importlib.util.find_spec("rclpy") is None:
        raise RuntimeError("robot-rl bench soak needs rclpy: pip install -e '.[ros]' (or source ROS 2 Jazzy)")
    mounted = mount_small_fs(store_dir, sc.store_mb, work / "store.img") if "disk_full" in sc.faults else ""
    store_dir.mkdir(parents=True, exist_ok=True)
    try:
        _prepare(cfg)
        return SoakRun(cfg, node_overrides, work, mounted, log).run()
    finally:
        if mounted:
            unmount(store_dir)


def _prepare(cfg: Config) -> None:
    """An untrained BC base at policy.path and a few expert demos in the store (the learner's offline half)."""
    import torch

    from robot_rl.actor.wiring import open_writer
    from robot_rl.policies import bundle as bundles
    from robot_rl.policies.bc import BCNetwork
    from robot_rl.sim.env import PickPlaceEnv
    from robot_rl.sim.harness.collect import collect_demos

    torch.manual_seed(cfg.bench.soak.seed)
    net = BCNetwork(cfg.camera.names, (cfg.camera.height, cfg.camera.width), 10, cfg.policy.chunk,
                    cfg.policy.feature_dim, cfg.policy.hidden_dim)
    bundles.save(net.to_bundle(), cfg.policy.path)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        collect_demos(cfg, env, writer, episodes=DEMOS, seed=10_000, progress=False)

# ---------------------------------------------------------------------------------------------- the table


def run(cfg: Config, overrides: list[str] | None = None, work: Path | None = None) -> BenchResult:
    """``robot-rl bench soak [overrides]``: the soak in ``work`` (default: a temporary dir); the table, plus the
    whole report (every fault, process incarnation and actor life) in ``<bench.out_dir>/soak_faults.json``."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="robot-rl-soak-") as tmp:
        r = run_soak(list(overrides or []), work or Path(tmp))
    out = Path(cfg.bench.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak_faults.json").write_text(json.dumps(asdict(r) | {"ok": r.ok}, indent=2, default=str))
    return BenchResult(suite="soak", rows=summary_rows(r), notes=report_notes(r, cfg), ok=r.ok)
