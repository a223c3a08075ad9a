"""The reward classifier against the twin's ground truth (``robot-rl bench reward``).

1. Data: ``bench.reward.train_minutes`` of labelled robot time from the twin (``robot-rl reward collect``'s
   episodes: the noisy expert, near misses, the arm wandering over the placed cube), and ``test_minutes`` from
   held-out seeds. Collecting is timed in robot time, not wall-clock: what a person would spend on a real arm.
2. Training, timed: from scratch, on this machine, ``reward.train.*``.
3. Held-out figures, per frame at the calibrated threshold (false-positive rate, recall, accuracy) and per episode
   as the actor uses it (success once ``reward.consecutive`` frames in a row score at or above it): the share of
   episodes whose first detection falls on a frame that is not a success (they would end on a false success),
   the share of successful episodes never detected, and the delay from the first true success frame to the
   detection, in steps.
4. Unless ``bench.reward.learning`` is false: the learning experiment's residual with the simulated human, on the
   same seeds, demos and BC base, once with the twin's success and once with the classifier's deciding success
   in training; both evaluated on the twin's ground truth. The classifier run's own training episodes are also
   counted from its store (each row records the classifier's judgement and the truth of its frame).

Writes ``<out>/reward.json`` (everything), ``<out>/reward.pt`` (the classifier) and the curves like the learning
experiment (``<out>/seed<k>/<variant>.json``, resumed when the settings match).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.learning import Curve, _kept, _plain, _save, _with, prepare_seed, run_variant
from benchmarks.report import BenchResult
from robot_rl.actor.success import SuccessDetector
from robot_rl.actor.wiring import row_schema
from robot_rl.config.schema import Config
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.modes import RewardMode
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore
from robot_rl.policies import bundle as bundles
from robot_rl.policies.reward_classifier import RewardClassifier
from robot_rl.policies.train_reward import LabelledFrames, load_frames, predict, train_classifier
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.reward_frames import collect_labelled

TARGETS = {"fpr": 0.01, "recall": 0.95, "accuracy": 0.97, "train_s": 300.0, "learning_gap": 0.05}


def episode_outcomes(prob: np.ndarray, label: np.ndarray, threshold: float, consecutive: int) -> dict:
    """One episode's frames in order, judged as the actor judges them: the first frame where ``consecutive`` in
    a row score >= ``threshold`` is the detection. Returns whether it is false (that frame is no success),
    whether a success was there and missed, and the delay in frames from the first success frame."""
    above = np.asarray(prob) >= threshold
    streak, detected_at = 0, None
    for i, a in enumerate(above):
        streak = streak + 1 if a else 0
        if streak >= consecutive:
            detected_at = i
            break
    pos = np.flatnonzero(np.asarray(label) == 1)
    first_pos = int(pos[0]) if len(pos) else None
    false = detected_at is not None and label[detected_at] != 1
    delay = detected_at - first_pos if (detected_at is not None and not false and first_pos is not None) else None
    return {"detected": detected_at is not None, "false": bool(false), "positive": first_pos is not None,
            "missed": first_pos is not None and (detected_at is None or false), "delay": delay}


def score(prob: np.ndarray, frames: LabelledFrames, threshold: float, consecutive: int) -> dict:
    """Per-frame and per-episode figures of ``prob`` (one per frame of ``frames``) against their labels."""
    hit, y = prob >= threshold, frames.label
    eps = [episode_outcomes(prob[frames.episode == e], y[frames.episode == e], threshold, consecutive)
           for e in np.unique(frames.episode)]
    positive = [e for e in eps if e["positive"]]
    delays = [e["delay"] for e in eps if e["delay"] is not None]
    return {"frames": len(y), "positives": int(y.sum()), "episodes": len(eps),
            "fpr": float(hit[~y].mean()) if (~y).any() else 0.0,
            "recall": float(hit[y].mean()) if y.any() else float("nan"),
            "accuracy": float(np.mean(hit == y)),
            "episode_fpr": float(np.mean([e["false"] for e in eps])) if eps else 0.0,
            "episode_recall": float(np.mean([not e["missed"] for e in positive])) if positive else float("nan"),
            "delay_mean": float(np.mean(delays)) if delays else None,
            "delay_max": int(max(delays)) if delays else None}


def _collect(cfg: Config, path: Path, minutes: float, seed: int) -> dict:
    """Labelled frames into ``path`` (kept when a run with the same settings made them)."""
    settings = json.loads(json.dumps({"collect": dataclasses.replace(cfg.reward.collect, path=""), "task": cfg.task,
                                      "camera": cfg.camera, "expert": cfg.expert, "minutes": minutes,
                                      "seed": seed}, default=_plain))
    stamp = path.with_suffix(".json")
    kept = _kept(stamp, settings, cfg.bench.reward.resume)
    if kept is not None and path.exists():
        print(f"  kept {path}", flush=True)
        return kept["stats"]
    shutil.rmtree(path, ignore_errors=True)
    frames = round(minutes * 60 * cfg.task.control_hz)
    start = time.perf_counter()
    with PickPlaceEnv(cfg) as env, EpisodeWriter.from_config(cfg.buffer, row_schema(cfg, reward=True),
                                                             str(path)).start() as writer:
        eps = collect_labelled(cfg, env, writer, frames, seed)
    stats = {"episodes": len(eps), "frames": sum(e.steps for e in eps), "positives": sum(e.positives for e in eps),
             "near_miss_episodes": sum(e.near_miss for e in eps), "robot_minutes": minutes,
             "wall_s": time.perf_counter() - start}
    stamp.write_text(json.dumps({"settings": settings, "stats": stats}, indent=1))
    return stats


def training_episodes(path: str) -> dict:
    """The classifier run's own training episodes, from its store: how its decisions fell against the truth."""
    eps = []
    with ReplayStore.open(path, "r") as store:
        for ep in range(store.n_episodes):
            if store.episode_meta(ep).source != EpisodeSource.policy:
                continue
            c = store.read_episode(ep, ["success_detected", "success_label"])
            det, lab = np.asarray(c["success_detected"], bool), np.asarray(c["success_label"])
            first = int(np.argmax(det)) if det.any() else None
            eps.append({"detected": first is not None, "false": first is not None and bool(lab[first] != 1),
                        "missed": bool((lab == 1).any()) and first is None})
    n = max(1, len(eps))
    return {"episodes": len(eps), "detected": sum(int(e["detected"]) for e in eps),
            "false_successes": sum(int(e["false"]) for e in eps),
            "missed_successes": sum(int(e["missed"]) for e in eps),
            "false_rate": sum(int(e["false"]) for e in eps) / n}


def _learning(cfg: Config, net: RewardClassifier, out: Path) -> tuple[list[Curve], list[dict]]:
    rb = cfg.bench.reward
    curves: list[Curve] = []
    runs: list[dict] = []
    lb = dataclasses.replace(cfg.bench.learning, env_steps=rb.env_steps, eval_every=rb.eval_every,
                             eval_episodes=rb.eval_episodes, resume=True)
    cfg = dataclasses.replace(cfg, bench=dataclasses.replace(cfg.bench, learning=lb))
    for seed in rb.seeds:
        print(f"seed {seed}: demonstrations and BC base (in {rb.base_from})", flush=True)
        seed_cfg = prepare_seed(_with(cfg, bench={"learning": dataclasses.replace(lb, out_dir=rb.base_from)}),
                                seed, Path(rb.base_from) / f"seed{seed}")
        root = out / f"seed{seed}"
        root.mkdir(parents=True, exist_ok=True)
        for variant in rb.variants:
            path = root / f"{variant}.json"
            settings = json.loads(json.dumps({
                "variant": variant, "seed": seed, "task": seed_cfg.task, "camera": seed_cfg.camera,
                "policy": dataclasses.replace(seed_cfg.policy, path=""), "expert": seed_cfg.expert,
                "learner": dataclasses.replace(seed_cfg.learner, dir=""), "human": seed_cfg.human,
                "reward_mode": rb.reward_mode, "run": {k: getattr(lb, k) for k in ("env_steps", "eval_every",
                                                                                  "eval_episodes")},
                "base": {"demos": lb.demos, "demo_noise": lb.demo_noise},
                "classifier": ({"collect": cfg.reward.collect, "train": cfg.reward.train,
                                "minutes": rb.train_minutes} if variant == "classifier" else None),
                "consecutive": cfg.reward.consecutive, "threshold": cfg.reward.threshold}, default=_plain))
            kept = _kept(path, settings, rb.resume)
            if kept is not None:
                print(f"  [{variant} seed {seed}] kept from {path}", flush=True)
                curves.append(Curve(**{f.name: kept[f.name] for f in dataclasses.fields(Curve)}))
                training = kept.get("training")
                store = root / variant / "replay.zarr"
                if training is None and variant == "classifier" and store.exists():  # counted after a crash there
                    training = training_episodes(str(store))
                    path.write_text(json.dumps({**kept, "training": training}, indent=1))
                runs.append({"variant": variant, "seed": seed, **(training or {})})
                continue
            detector = (SuccessDetector(net, consecutive=cfg.reward.consecutive, threshold=cfg.reward.threshold)
                        if variant == "classifier" else None)
            progress = functools.partial(_save, path, settings=settings, complete=False)
            curve = run_variant(seed_cfg, "residual_rlif_human", root, progress, name=variant, success=detector,
                                reward_mode=RewardMode(rb.reward_mode))
            training = training_episodes(str(root / variant / "replay.zarr")) if detector is not None else {}
            curves.append(curve)
            runs.append({"variant": variant, "seed": seed, **training})
            _save(path, curve, settings=settings, complete=True)
            data = json.loads(path.read_text())
            path.write_text(json.dumps({**data, "training": training}, indent=1))
    return curves, runs


def run(cfg: Config) -> BenchResult:
    rb = cfg.bench.reward
    out = Path(rb.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"[1/4] labelled frames: {rb.train_minutes:g} min of robot time to train on, {rb.test_minutes:g} min "
          f"held out (seeds from {rb.test_seed})", flush=True)
    train_stats = _collect(cfg, out / "train.zarr", rb.train_minutes, cfg.reward.collect.seed)
    test_stats = _collect(cfg, out / "test.zarr", rb.test_minutes, rb.test_seed)
    print(f"[2/4] training on {train_stats['frames']} frames ({train_stats['positives']} successes)", flush=True)
    frames = load_frames([str(out / "train.zarr")], cfg.camera.names)
    start = time.perf_counter()
    net, history = train_classifier(cfg, frames)
    train_s = time.perf_counter() - start
    bundles.save(net.to_bundle(), str(out / "reward.pt"))
    print(f"[3/4] held-out frames (threshold {net.threshold:.3f}, {cfg.reward.consecutive} in a row)", flush=True)
    test = load_frames([str(out / "test.zarr")], cfg.camera.names)
    threshold = cfg.reward.threshold or net.threshold
    held = score(predict(net, test), test, threshold, cfg.reward.consecutive)
    classifier = {"train_s": train_s, "threshold": threshold, "epochs": cfg.reward.train.epochs,
                  "best_epoch": history.best_epoch, "val_fpr": history.val_fpr, "val_recall": history.val_recall,
                  "train_data": train_stats, "test_data": test_stats, "held_out": held}
    rows = [{"measure": "false positives per frame", "value": f"{held['fpr']:.2%}", "target": "<= 1%",
             "met": held["fpr"] <= TARGETS["fpr"]},
            {"measure": "recall per frame", "value": f"{held['recall']:.1%}", "target": ">= 95%",
             "met": held["recall"] >= TARGETS["recall"]},
            {"measure": "accuracy per frame", "value": f"{held['accuracy']:.1%}", "target": ">= 97%",
             "met": held["accuracy"] >= TARGETS["accuracy"]},
            {"measure": "episodes ending on a false success", "value": f"{held['episode_fpr']:.1%}", "target": "-",
             "met": None},
            {"measure": "successful episodes detected", "value": f"{held['episode_recall']:.1%}", "target": "-",
             "met": None},
            {"measure": "detection delay (steps, mean / max)",
             "value": f"{held['delay_mean']:.1f} / {held['delay_max']}" if held["delay_mean"] is not None else "-",
             "target": "-", "met": None},
            {"measure": "training time (s, this machine)", "value": f"{train_s:.0f}", "target": "< 300",
             "met": train_s < TARGETS["train_s"]},
            {"measure": "labelled robot time (min)", "value": f"{rb.train_minutes:g}", "target": "<= 10",
             "met": rb.train_minutes <= 10}]
    result: dict = {"classifier": classifier, "settings": json.loads(json.dumps(
        {"reward": cfg.reward, "bench": rb, "task": cfg.task, "camera": cfg.camera}, default=_plain))}
    if rb.learning:
        print(f"[4/4] learning with each success signal: {', '.join(rb.variants)}, {rb.env_steps} steps, seeds "
              f"{rb.seeds}", flush=True)
        curves, runs = _learning(cfg, net, out)
        final = {v: [c.success[-1] for c in curves if c.variant == v] for v in rb.variants}
        result["learning"] = {"curves": [dataclasses.asdict(c) for c in curves], "training": runs,
                              "final": final}
        for v in rb.variants:
            if final[v]:
                rows.append({"measure": f"learning: final success, {v} rewards",
                             "value": " / ".join(f"{x:.0%}" for x in final[v]), "target": "-", "met": None})
        if all(final.get(v) for v in REWARD_PAIR):
            gap = float(np.mean(final["ground_truth"]) - np.mean(final["classifier"]))
            result["learning"]["gap"] = gap
            rows.append({"measure": "learning: ground truth minus classifier (points)", "value": f"{gap * 100:+.0f}",
                         "target": "<= 5", "met": gap <= TARGETS["learning_gap"]})
        false = [r for r in runs if "episodes" in r]
        if false:
            rows.append({"measure": "learning: classifier's training episodes ending on a false success",
                         "value": ", ".join(f"{r['false_successes']}/{r['episodes']}" for r in false),
                         "target": "-", "met": None})
    (out / "reward.json").write_text(json.dumps(result, indent=1, default=_plain))
    notes = [f"held out: {held['frames']} frames ({held['positives']} successes) in {held['episodes']} episodes "
             f"from seed {rb.test_seed}; trained on {train_stats['frames']} frames ({train_stats['positives']} "
             f"successes) in {train_stats['episodes']} episodes; all: {out / 'reward.json'}"]
    return BenchResult(suite="reward", rows=rows, notes=notes,
                       ok=all(r["met"] is not False for r in rows))


REWARD_PAIR = ("ground_truth", "classifier")
