"""The learner over a real store: ingest, train, publish, checkpoint; resume after SIGKILL; NaN stops it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from robot_rl.data.replay_store import ReplayStore
from robot_rl.learner.loop import CHECKPOINT, METRICS, Learner
from robot_rl.learner.pacing import LearnerProgress, read_progress
from robot_rl.learner.td3 import NonFiniteLossError
from robot_rl.learner.weights import DirectoryWeightsChannel
from robot_rl.policies import bundle as bundles
from tests.support import wandb_runs


def _fresh(tiny_run, name: str):
    cfg = dataclasses.replace(tiny_run.cfg, learner=dataclasses.replace(tiny_run.cfg.learner,
                                                                        dir=str(tiny_run.root / name)))
    shutil.rmtree(cfg.learner.dir, ignore_errors=True)
    return cfg


def test_learner_ingests_trains_publishes_and_checkpoints(tiny_run):
    cfg = _fresh(tiny_run, "learner-a")
    cfg = dataclasses.replace(cfg, learner=dataclasses.replace(cfg.learner, wandb="offline"))
    channel = DirectoryWeightsChannel(os.path.join(cfg.learner.dir, "weights"))
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
    status = learner.run(max_updates=30)
    with ReplayStore.open(cfg.buffer.path) as store:
        assert status.episodes == store.n_episodes == 4
        assert learner.cache.size == store.n_rows  # every committed row is in the cache
    assert status.updates == 30 and status.version == 6  # published every 5 updates
    assert channel.poll()[0] == 6
    assert (learner.dir / CHECKPOINT).is_file()
    metrics = [json.loads(line) for line in (learner.dir / METRICS).read_text().splitlines()]
    assert [m["version"] for m in metrics] == [1, 2, 3, 4, 5, 6] and metrics[-1]["updates"] == 30
    assert all(np.isfinite(m["critic_loss"]) and np.isfinite(m["q_mean"]) for m in metrics)
    events = EventAccumulator(str(learner.dir / "tensorboard"))  # TensorBoard's own reader: the same numbers
    events.Reload()
    losses = events.Scalars("learner/critic_loss")
    assert [e.step for e in losses] == [m["updates"] for m in metrics]
    np.testing.assert_allclose([e.value for e in losses], [m["critic_loss"] for m in metrics], rtol=1e-6)
    [run] = wandb_runs.run_files(learner.dir)  # and the W&B offline run, read back with W&B's record schema
    rows = wandb_runs.history(run)
    assert [r["_step"] for r in rows] == [m["updates"] for m in metrics]
    np.testing.assert_allclose([r["learner/critic_loss"] for r in rows], [m["critic_loss"] for m in metrics])
    assert wandb_runs.config(run)["learner"]["utd"] == cfg.learner.utd and wandb_runs.finished(run)
    # demonstrations get the base's actions computed on ingestion (no base ran when they were recorded)
    demo = learner.cache.episodes[0]
    assert np.abs(learner.cache.arrays["base_action"][demo.start:demo.start + demo.length]).sum() > 0


def test_learner_reports_when_it_caught_up_with_its_budget(tiny_run):
    """progress.json (what a paced twin waits on): not caught up while training, then caught up at exactly utd
    updates per online transition, with every store episode ingested."""
    cfg = _fresh(tiny_run, "learner-progress")
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, DirectoryWeightsChannel(cfg.learner.dir + "/w"))
    seen: list[LearnerProgress] = []

    def caught_up() -> bool:
        p = read_progress(cfg.learner.dir)
        if p is not None and (not seen or p != seen[-1]):
            seen.append(p)
        return p is not None and p.caught_up

    status = learner.run(stop=caught_up)
    online = learner.pools()[1]
    assert online >= cfg.learner.min_online_transitions and status.updates == cfg.learner.utd * online
    assert seen[0] == LearnerProgress(0, online, 4, caught_up=False), seen
    assert seen[-1] == LearnerProgress(cfg.learner.utd * online, online, 4, caught_up=True), seen


def test_learner_resumes_after_sigkill_without_losing_transitions(tiny_run):
    cfg = _fresh(tiny_run, "learner-kill")
    overrides = [o for o in tiny_run.overrides if not o.startswith("learner.dir=")] + [f"learner.dir={cfg.learner.dir}"]
    proc = subprocess.Popen([sys.executable, "-m", "robot_rl.cli.main", "learn", *overrides],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ckpt = os.path.join(cfg.learner.dir, CHECKPOINT)
    deadline = time.monotonic() + 120
    while True:  # wait for a checkpoint written after some training
        if os.path.exists(ckpt) and torch.load(ckpt, weights_only=True)["td3"]["updates"] >= 20:
            break
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "learner wrote no checkpoint within 120 s"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    saved = torch.load(ckpt, weights_only=True)
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, DirectoryWeightsChannel(cfg.learner.dir))
    assert learner.td3.updates == saved["td3"]["updates"] >= 20
    assert learner.version == saved["version"]
    learner.ingest()
    with ReplayStore.open(cfg.buffer.path) as store:
        assert learner.cache.size == store.n_rows
    learner.run(max_updates=learner.td3.updates + 5)
    assert learner.td3.updates == saved["td3"]["updates"] + 5


def test_nan_loss_stops_the_learner_and_keeps_the_last_good_checkpoint(tiny_run):
    cfg = _fresh(tiny_run, "learner-nan")
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, DirectoryWeightsChannel(cfg.learner.dir))
    learner.run(max_updates=10)
    good = torch.load(learner.dir / CHECKPOINT, weights_only=True)
    sample = learner.sampler.sample

    def poisoned(*a, **kw):
        batch = sample(*a, **kw)
        batch["reward"][0] = float("nan")
        return batch

    learner.sampler.sample = poisoned
    with pytest.raises(NonFiniteLossError, match="critic loss is nan"):
        learner.run(max_updates=20)
    after = torch.load(learner.dir / CHECKPOINT, weights_only=True)
    assert after["td3"]["updates"] == good["td3"]["updates"] == 10


def test_a_damaged_episode_is_skipped_and_training_goes_on(tiny_run, tmp_path):
    cfg = _fresh(tiny_run, "learner-damaged")
    store_path = tmp_path / "damaged.zarr"
    shutil.copytree(cfg.buffer.path, store_path)
    with ReplayStore.open(store_path) as store:
        n_episodes = store.n_episodes
    action_chunks = sorted((store_path / "data" / "action" / "c").iterdir(), key=lambda p: int(p.name))
    next(action_chunks[-1].rglob("*")).write_bytes(b"not a chunk")  # its episode(s) become unreadable
    learner = Learner(cfg, str(store_path), cfg.policy.path, DirectoryWeightsChannel(cfg.learner.dir))
    assert learner.ingest() == n_episodes
    assert learner.skipped_episodes and learner.skipped_episodes[-1] == n_episodes - 1
    assert len(learner.cache.episodes) == n_episodes - len(learner.skipped_episodes) > 0
    status = learner.run(max_updates=5)  # trains on the rest
    assert status.updates == 5


def test_weights_leave_only_after_the_checkpoint_that_covers_them(tiny_run):
    """A learner killed between a checkpoint and the publish it goes with must not resume behind what the actor
    has (it would send different weights under a version the actor already holds)."""
    cfg = _fresh(tiny_run, "learner-order")
    seen: list[tuple[int, int]] = []  # (published version, the checkpoint's version at that moment)

    class Watching(DirectoryWeightsChannel):
        def publish(self, version: int, data: bytes) -> None:
            path = learner.dir / CHECKPOINT
            seen.append((version, int(torch.load(path, weights_only=False)["version"]) if path.is_file() else 0))
            super().publish(version, data)

    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, Watching(os.path.join(cfg.learner.dir, "w")))
    learner.run(max_updates=20)  # publish every 5, checkpoint every 10
    assert [v for v, _ in seen] == [1, 2, 3, 4]
    assert dict(seen)[2] == 2 and dict(seen)[4] == 4  # on a checkpoint update, the checkpoint already says so


def test_with_a_help_gate_the_weights_carry_calibrated_critics_the_actor_uses(tiny_run):
    """help.gate=score: each bundle carries the critics (the learner's own, as they are), a bank of training
    features and a calibration on the policy's recent steps; the actor's policy takes them in with the residual,
    and an actor-only learner (help.gate=off) sends none."""
    from robot_rl.actor.help import ScoreGate
    from robot_rl.actor.wiring import load_policy
    from robot_rl.policies.help_model import split_bundle

    cfg = _fresh(tiny_run, "learner-help")
    cfg = dataclasses.replace(cfg, help=dataclasses.replace(cfg.help, gate="score", bank_size=64,
                                                            calibration_rows=32))
    channel = DirectoryWeightsChannel(os.path.join(cfg.learner.dir, "weights"))
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
    learner.run(max_updates=10)
    version, data = channel.poll()
    _, model = split_bundle(bundles.from_bytes(data, kind="residual"))
    assert model is not None and model.bank.shape == (64, learner.obs_dim)
    for p, q in zip(model.critic.parameters(), learner.td3.critic.parameters(), strict=True):
        torch.testing.assert_close(p, q.detach().cpu())
    assert float(model.calibration.ask_at[0]) > 0 and 0 < float(model.calibration.caution_at[0]) <= 1
    policy = load_policy(cfg)
    policy.load_bundle(data)
    assert policy.version == version and policy.help_model is not None
    with ReplayStore.open(cfg.buffer.path) as store:
        cols = store.read_episode(store.n_episodes - 1)
    obs = {k[len("obs/"):]: v[0] for k, v in cols.items() if k.startswith("obs/")}
    assert np.isfinite(ScoreGate(policy).score(obs, policy.act(obs)).score)
    off = dataclasses.replace(_fresh(tiny_run, "learner-help-off"), help=dataclasses.replace(cfg.help, gate="off"))
    plain = DirectoryWeightsChannel(os.path.join(off.learner.dir, "weights"))
    Learner(off, off.buffer.path, off.policy.path, plain).run(max_updates=5)
    assert split_bundle(bundles.from_bytes(plain.poll()[1], kind="residual"))[1] is None
