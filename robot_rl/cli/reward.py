"""The reward classifier: the robot sees from its cameras when it has succeeded.

  robot-rl reward collect   labelled frames into reward.collect.path. In the twin the noisy expert does the task
                            (and near misses) and the twin's own check labels every frame: reward.collect.minutes
                            of robot time. On hardware the person labels while driving or watching: --graph
                            EXPERIMENT runs that ROS 2 graph with reward.labels=keys, recording into
                            reward.collect.path; the success key (s) marks the frames from then on as successes
                            (the episode goes on), not_yet (n) as not yet, failure (f) marks and ends, reset (r)
                            ends.
  robot-rl reward train     train the classifier (from scratch) on the labelled frames of --data STORE
                            [--data ...] (default: reward.collect.path), calibrate its threshold to
                            reward.train.target_fpr on a validation split by episode, save it to reward.path.
  robot-rl reward check     load reward.path against this config (cameras, image size, task) and, with --data,
                            score it on those frames.

Use it: reward.source=classifier (robot-rl act, demo, up): success once P >= the threshold for
reward.consecutive new frames in a row; the person's success / failure keys still win.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from robot_rl.config import Config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["collect", "train", "check"], help="what to do")
    parser.add_argument("--data", action="append", metavar="STORE", default=None,
                        help="a store of labelled frames (repeat for several; default: reward.collect.path)")
    parser.add_argument("--graph", metavar="EXPERIMENT", default=None,
                        help="collect: label with the person's keys in this ROS 2 graph (hardware)")


def _collect_with_keys(experiment: str, overrides: list[str], cfg: Config) -> int:
    from robot_rl.cli.up import run_graph

    print(f"labelling with the keys into {cfg.reward.collect.path}: {cfg.teleop.keys.get('success')} success, "
          f"{cfg.teleop.keys.get('not_yet')} not yet, {cfg.teleop.keys.get('failure')} failure (ends), "
          f"{cfg.teleop.keys.get('reset')} ends the episode", flush=True)
    return run_graph(experiment, [*overrides, "reward.labels=keys", f"buffer.path={cfg.reward.collect.path}"],
                     command="reward collect")


def _collect(cfg: Config) -> int:
    from robot_rl.actor.wiring import row_schema
    from robot_rl.data.recorder import EpisodeWriter
    from robot_rl.sim.env import PickPlaceEnv
    from robot_rl.sim.harness.reward_frames import collect_labelled

    if cfg.robot.backend.value != "mujoco":
        print("robot-rl reward collect: on hardware the person labels the frames with the keys: "
              "robot-rl reward collect --graph <experiment>", file=sys.stderr)
        return 2
    frames = round(cfg.reward.collect.minutes * 60 * cfg.task.control_hz)
    with PickPlaceEnv(cfg) as env, EpisodeWriter.from_config(cfg.buffer, row_schema(cfg, reward=True),
                                                             cfg.reward.collect.path).start() as writer:
        eps = collect_labelled(cfg, env, writer, frames, cfg.reward.collect.seed)
    pos = sum(e.positives for e in eps)
    steps = sum(e.steps for e in eps)
    print(f"recorded {len(eps)} episodes, {steps} labelled frames ({pos} successes, {steps - pos} not; "
          f"{sum(e.near_miss for e in eps)} near-miss episodes) into {cfg.reward.collect.path}")
    return 0


def _train(cfg: Config, data: list[str]) -> int:
    from robot_rl.policies import bundle as bundles
    from robot_rl.policies.train_reward import load_frames, train_classifier

    try:
        frames = load_frames(data, cfg.camera.names)
        start = time.perf_counter()
        net, h = train_classifier(cfg, frames)
    except ValueError as exc:
        print(f"robot-rl reward train: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    bundles.save(net.to_bundle(extra={"frames": len(frames), "positives": h.positives, "val_fpr": h.val_fpr,
                                      "val_recall": h.val_recall, "train_s": seconds, "data": list(data)}),
                 cfg.reward.path)
    print(f"saved the reward classifier to {cfg.reward.path}: {len(frames)} frames ({h.positives} successes), "
          f"{seconds:.0f} s; validation ({h.val_frames} frames, by episode) at threshold {h.threshold:.3f}: "
          f"false positives {h.val_fpr:.2%}, recall {h.val_recall:.1%}, accuracy {h.val_accuracy_final:.1%}")
    return 0


def _check(cfg: Config, data: list[str] | None) -> int:
    from robot_rl.actor.success import SuccessDetector
    from robot_rl.policies.bundle import BundleError
    from robot_rl.policies.train_reward import load_frames, predict

    try:
        det = SuccessDetector.from_config(cfg)
    except BundleError as exc:
        print(f"robot-rl reward check: {exc}", file=sys.stderr)
        return 2
    print(f"{cfg.reward.path} fits this config: cameras {det.net.cameras}, {det.net.image_hw[0]}x"
          f"{det.net.image_hw[1]}, task {det.net.task}; threshold {det.threshold:.3f}, "
          f"{det.consecutive} frames in a row")
    if data:
        try:
            frames = load_frames(data, cfg.camera.names)
        except ValueError as exc:
            print(f"robot-rl reward check: {exc}", file=sys.stderr)
            return 2
        hit = predict(det.net, frames) >= det.threshold
        neg, pos = ~frames.label, frames.label
        print(f"{len(frames)} frames: false positives {hit[neg].mean() if neg.any() else 0:.2%}, recall "
              f"{hit[pos].mean() if pos.any() else float('nan'):.1%}, accuracy {np.mean(hit == frames.label):.1%}")
    return 0


def run(args: argparse.Namespace, cfg: Config) -> int:
    if args.action == "collect":
        return _collect_with_keys(args.graph, args.overrides, cfg) if args.graph else _collect(cfg)
    data = args.data or [cfg.reward.collect.path]
    if args.action == "train":
        return _train(cfg, data)
    return _check(cfg, args.data)
