"""Trace one camera frame's path through robot_rl's packages, in one process (the ROS nodes only convert
messages, so they are left out): capture -> observation buffer -> actor tick -> recorder -> store, then
learner ingest -> one update -> weights published -> the actor swaps them in.

Prints, per leg, the packages in the order control passes through them (calls and returns), the number of
package-boundary crossings (a call whose caller is in another robot_rl package; calls into ``robot_rl/spec.py``,
the contract, are not counted) and the files touched; ``--json OUT`` writes the same.
Runs against whichever layout is checked out (it also knows the layout before robot_rl/actor and
robot_rl/learner existed), so the same script measures a change of layout:

    .venv/bin/python tools/frame_path.py
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import torch

import robot_rl
from robot_rl.config import load_config
from robot_rl.control.safety import SafetyLimits
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.sim.env import PickPlaceEnv

try:  # the layout with robot_rl/actor and robot_rl/learner
    from robot_rl.actor.observation import ObservationBuffer
    from robot_rl.actor.tick import GraphActor
    from robot_rl.actor.wiring import load_policy, open_writer
    from robot_rl.learner.loop import Learner
    from robot_rl.learner.weights import DirectoryWeightsChannel
    from robot_rl.sim.harness.collect import collect_demos
except ImportError:  # the layout before it (robot_rl/graph and robot_rl/rl)
    from robot_rl.graph.actor import GraphActor
    from robot_rl.graph.observation import ObservationBuffer
    from robot_rl.rl.collect import collect_demos
    from robot_rl.rl.learner import Learner
    from robot_rl.rl.sim_session import load_policy, open_writer
    from robot_rl.rl.weights import DirectoryWeightsChannel

ROOT = Path(robot_rl.__file__).resolve().parent


CONTRACT = "spec"  # robot_rl/spec.py: the keys and sizes every package uses; a call into it is not a hop


def _package(filename: str) -> str | None:
    """``robot_rl/<package>/...`` -> ``<package>``; a top-level module -> its name; outside robot_rl -> None."""
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.suffix == ".py" else None


class Trace:
    """Every call into robot_rl code, on every thread (the recorder writes in its own)."""

    def __init__(self) -> None:
        self.entered: list[str] = []  # the package control is in, each time it changes (calls and returns)
        self.crossings = 0
        self.files: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, frame, event, arg):
        if event not in ("call", "return"):
            return
        pkg = _package(frame.f_code.co_filename)
        caller = frame.f_back
        from_pkg = _package(caller.f_code.co_filename) if caller is not None else None
        now_in = pkg if event == "call" else from_pkg  # where control is after the event
        if CONTRACT in (pkg, now_in):
            return
        with self._lock:
            if event == "call" and pkg is not None:
                self.files.add(str(Path(frame.f_code.co_filename).resolve().relative_to(ROOT.parent)))
                if from_pkg is not None and from_pkg != pkg:
                    self.crossings += 1
            if now_in is not None and (not self.entered or self.entered[-1] != now_in):
                self.entered.append(now_in)

    def __enter__(self) -> Trace:
        threading.setprofile(self)
        sys.setprofile(self)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)
        threading.setprofile(None)

    def summary(self) -> dict:
        return {"packages_in_order": self.entered, "crossings": self.crossings,
                "packages": sorted(set(self.entered)), "files": sorted(self.files)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the traces here")
    args = parser.parse_args()
    torch.manual_seed(0)
    legs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cfg = load_config(["task=pick_place_easy", "task.max_steps=4", "camera.width=32", "camera.height=32",
                           f"buffer.path={root / 'replay.zarr'}", f"policy.path={root / 'bc.pt'}",
                           f"learner.dir={root / 'learner'}", "learner.num_critics=2", "learner.hidden_dim=16",
                           "learner.batch_size=8", "learner.min_online_transitions=1", "learner.publish_every=1",
                           "learner.critic_warmup_updates=0", "policy.feature_dim=8", "policy.hidden_dim=16",
                           f"security.key_path={root / 'deployment.key'}"])
        net = BCNetwork(cfg.camera.names, (32, 32), 10, cfg.policy.chunk, cfg.policy.feature_dim,
                        cfg.policy.hidden_dim)
        bundles.save(net.to_bundle(), cfg.policy.path)
        channel = DirectoryWeightsChannel(root / "weights")
        with PickPlaceEnv(cfg) as env:
            with open_writer(cfg) as writer:
                collect_demos(cfg, env, writer, episodes=2, seed=0, progress=False)
            policy = load_policy(cfg)
            cams = list(cfg.camera.names)
            buffer = ObservationBuffer([*(f"images/{c}" for c in cams), "state", "joints"], cfg.camera.max_age_s)
            with Trace():  # the writer's thread starts profiled
                writer = open_writer(cfg)
            actor = GraphActor(policy, SafetyLimits.for_robot(cfg.robot), max_steps=cfg.task.max_steps, writer=writer,
                               weights=channel, seed=5, lockstep=False)
            env.reset(5)
            actor.on_reset_done(5, 0.0)
            now = 0.0

            def capture_and_tick() -> None:
                nonlocal now
                now += 0.1
                for c in cams:  # the camera driver hands out its newest frame
                    buffer.put(f"images/{c}", env.cameras[c].read_latest(cfg.camera.max_age_s).image, now - 0.01)
                s = env.robot.read_state()
                buffer.put("state", s.proprio(), now - 0.01)
                buffer.put("joints", s.joint_pos.astype(np.float32), now - 0.01)
                out = actor.tick(buffer, now)
                if out.command is not None:
                    profiler = sys.getprofile()
                    sys.setprofile(None)  # the command's path (the robot node executing it) is not the frame's
                    env.robot.send_action(out.command)
                    sys.setprofile(profiler)

            capture_and_tick()  # the episode starts
            with Trace() as t:
                capture_and_tick()  # a tick in the middle of the episode: capture -> command -> the row queued
            legs["tick"] = t.summary()
            with Trace() as t:
                while actor.stats.episodes == 0:  # the last ticks, the episode committed to the store
                    capture_and_tick()
                writer.flush()
            legs["episode_end_to_store"] = t.summary()
            writer.close()
        learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel, work_dir=str(root / "learner"))
        with Trace() as t:
            learner.ingest()
            learner.update_once()
            learner.publish()
        legs["learner_ingest_update_publish"] = t.summary()
        with Trace() as t:
            swapped = actor.swap_weights()
        legs["actor_swaps_weights"] = t.summary()
        assert swapped, "the actor did not take the learner's weights"
    for name, leg in legs.items():
        print(f"{name}: {len(leg['files'])} files, {len(leg['packages'])} packages, {leg['crossings']} crossings")
        print("   " + " -> ".join(leg["packages_in_order"]))
    files = sorted({f for leg in legs.values() for f in leg["files"]})
    packages = sorted({p for leg in legs.values() for p in leg["packages"]})
    print(f"whole path: {len(files)} files in {len(packages)} packages ({', '.join(packages)}), "
          f"{sum(leg['crossings'] for leg in legs.values())} crossings")
    if args.json:
        args.json.write_text(json.dumps({"legs": legs, "files": files, "packages": packages}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
