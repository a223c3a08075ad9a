"""learner.frozen_features=false over a real store: raw observations cached, the residual's own encoder
trained by the critic loss, published with the bundle, loaded by the actor, and restored on resume."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import torch

from robot_rl.actor.wiring import load_policy
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import stored_image_key
from robot_rl.learner.loop import CHECKPOINT, METRICS, Learner
from robot_rl.learner.weights import DirectoryWeightsChannel
from robot_rl.policies import bundle as bundles
from robot_rl.spec import image_key


def _cfg(tiny_run, name: str, frozen: bool = False):
    cfg = tiny_run.cfg
    cfg = dataclasses.replace(cfg, learner=dataclasses.replace(cfg.learner, dir=str(tiny_run.root / name),
                                                               frozen_features=frozen))
    return cfg


def _encoder_state(learner: Learner) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in learner.td3.encoder.state_dict().items()}


def _raw_obs(cfg, store: ReplayStore) -> dict[str, np.ndarray]:
    cols = store.read_episode(2, [*(stored_image_key(c) for c in cfg.camera.names), "obs/state"])
    return {image_key(c): cols[stored_image_key(c)][3] for c in cfg.camera.names} | {"state": cols["obs/state"][3]}


def test_trainable_encoder_learner_trains_publishes_and_the_actor_loads_it(tiny_run):
    cfg = _cfg(tiny_run, "learner-enc")
    shutil.rmtree(cfg.learner.dir, ignore_errors=True)
    channel = DirectoryWeightsChannel(os.path.join(cfg.learner.dir, "weights"))
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
    base_encoder = learner.base.net.observation.encoders.state_dict()
    start = _encoder_state(learner)
    for k, v in learner.td3.encoder.encoders.state_dict().items():
        assert torch.equal(v, base_encoder[k])  # starts at the base's weights
    status = learner.run(max_updates=30)
    with ReplayStore.open(cfg.buffer.path) as store:
        assert status.episodes == store.n_episodes and learner.cache.size == store.n_rows
        obs = _raw_obs(cfg, store)
    assert learner.cache.schema.cameras == tuple(cfg.camera.names)  # raw images cached, not features
    assert learner.cache.arrays[stored_image_key(cfg.camera.names[0])].dtype == np.uint8
    demo = learner.cache.episodes[0]
    assert np.abs(learner.cache.arrays["base_action"][demo.start:demo.start + demo.length]).sum() > 0
    assert status.updates == 30 and status.version == 6
    changed = [k for k, v in _encoder_state(learner).items() if not torch.equal(v, start[k])]
    assert any(k.startswith("encoders.") for k in changed), "the critic loss did not train the encoder"
    for k, v in learner.base.net.observation.encoders.state_dict().items():
        assert torch.equal(v, base_encoder[k])  # the base stays frozen
    metrics = [json.loads(line) for line in (learner.dir / METRICS).read_text().splitlines()]
    assert all(np.isfinite(m["critic_loss"]) and np.isfinite(m["q_mean"]) for m in metrics)

    version, data = channel.poll()
    assert version == 6 and bundles.from_bytes(data).config["encoder"] is not None
    policy = load_policy(cfg)  # the actor with the same setting
    assert policy.load_bundle(data) == 6
    for k, v in policy.actor.encoder.state_dict().items():
        assert torch.equal(v.cpu(), learner.td3.encoder.state_dict()[k].cpu())
    out = policy.act(obs)
    assert out.action.shape == (7,) and np.isfinite(out.action).all() and np.isfinite(out.residual_action).all()

    frozen_policy = load_policy(_cfg(tiny_run, "learner-enc", frozen=True))
    with pytest.raises(bundles.BundleError, match="frozen_features"):
        frozen_policy.load_bundle(data)


def test_trainable_encoder_learner_resumes_with_its_encoder(tiny_run):
    cfg = _cfg(tiny_run, "learner-enc-resume")
    shutil.rmtree(cfg.learner.dir, ignore_errors=True)
    channel = DirectoryWeightsChannel(cfg.learner.dir)
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
    learner.run(max_updates=10)  # checkpoint_every=10
    saved = torch.load(learner.dir / CHECKPOINT, weights_only=True)
    assert saved["frozen_features"] is False and "encoder_opt" in saved["td3"]
    trained = _encoder_state(learner)

    again = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
    assert again.td3.updates == 10 and again.version == learner.version
    for k, v in _encoder_state(again).items():
        assert torch.equal(v, trained[k])
    opt_a, opt_b = learner.td3.encoder_opt.state_dict()["state"], again.td3.encoder_opt.state_dict()["state"]
    assert opt_a.keys() == opt_b.keys() and opt_a
    for i in opt_a:
        assert torch.equal(opt_a[i]["exp_avg"], opt_b[i]["exp_avg"])
    again.run(max_updates=15)
    assert again.td3.updates == 15

    with pytest.raises(ValueError, match="frozen_features"):
        Learner(_cfg(tiny_run, "learner-enc-resume", frozen=True), cfg.buffer.path, cfg.policy.path, channel)
