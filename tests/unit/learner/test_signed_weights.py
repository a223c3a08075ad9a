"""Signed weights without ROS: a keyed channel signs what it publishes; the actor's policy refuses a bundle that
is unsigned or signed with another key (before anything is unpickled), says so, and keeps its weights; a
forged "newer" bundle never blocks the learner's genuine one."""

from __future__ import annotations

import logging

import numpy as np
import torch

from robot_rl.learner.weights import DirectoryWeightsChannel, weights_channel
from robot_rl.policies import bundle as bundles
from robot_rl.security import DeploymentKey, is_signed_bundle, load_key
from tests.unit.learner.test_weights import _obs, _policy, _trained_bundle


def _state(policy) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in policy.actor.state_dict().items()}


def _assert_same(policy, state) -> None:
    for k, v in policy.actor.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_signed_bundles_travel_and_forged_ones_are_refused(cfg, tmp_path, caplog, monkeypatch):
    key, other = DeploymentKey.generate(), DeploymentKey.generate()
    policy = _policy(cfg)
    actor_side = DirectoryWeightsChannel(tmp_path, key=key)
    DirectoryWeightsChannel(tmp_path, key=key).publish(1, _trained_bundle(policy, 1))
    assert is_signed_bundle((tmp_path / "residual-v00000001.pt").read_bytes()), "the file carries the signature"
    assert policy.poll_weights(actor_side) and policy.version == 1
    policy.reset()
    before, action = _state(policy), policy.act(_obs()).action

    loads = []
    real_load = bundles.torch.load
    monkeypatch.setattr(bundles.torch, "load", lambda *a, **k: loads.append(1) or real_load(*a, **k))
    caplog.set_level(logging.WARNING, logger="robot_rl.learner.weights")
    DirectoryWeightsChannel(tmp_path).publish(50, _trained_bundle(policy, 50))  # a peer without the key
    assert not policy.poll_weights(actor_side)
    assert "refused residual weights v50 on " + str(tmp_path) + ": unsigned" in caplog.text
    DirectoryWeightsChannel(tmp_path, key=other).publish(60, _trained_bundle(policy, 60))  # another deployment
    assert not policy.poll_weights(actor_side)
    assert "refused residual weights v60 on " + str(tmp_path) + ": bad signature" in caplog.text
    assert loads == [], "a refused bundle is never unpickled"
    assert policy.version == 1 and actor_side.guard.refused == 2
    _assert_same(policy, before)
    policy.reset()
    np.testing.assert_array_equal(policy.act(_obs()).action, action)

    # the same refused file is not re-read every tick; the learner's next genuine bundle (a lower number than
    # the forged v60) still gets through
    assert not policy.poll_weights(actor_side) and actor_side.guard.refused == 2
    DirectoryWeightsChannel(tmp_path, key=key).publish(2, _trained_bundle(policy, 2))
    assert policy.poll_weights(actor_side) and policy.version == 2 and loads


def test_a_genuine_old_bundle_cannot_be_replayed_as_a_newer_one(cfg, tmp_path):
    key = DeploymentKey.generate()
    policy = _policy(cfg)
    channel = DirectoryWeightsChannel(tmp_path, key=key)
    channel.publish(1, _trained_bundle(policy, 1))
    assert policy.poll_weights(channel)
    signed_v1 = (tmp_path / "residual-v00000001.pt").read_bytes()
    (tmp_path / "residual-v00000009.pt").write_bytes(signed_v1)  # replayed under a higher number
    (tmp_path / "LATEST").write_text("residual-v00000009.pt")
    assert not policy.poll_weights(channel)
    assert channel.guard.refusals.last_reason == "bad signature"


def test_the_configured_channel_uses_the_configured_key(cfg, tmp_path):
    import dataclasses

    cfg = dataclasses.replace(cfg, learner=dataclasses.replace(cfg.learner, dir=str(tmp_path / "learner")),
                              security=dataclasses.replace(cfg.security, key_path=str(tmp_path / "k" / "d.key")))
    policy = _policy(cfg)
    weights_channel(cfg).publish(4, _trained_bundle(policy, 4))
    assert (tmp_path / "k" / "d.key").is_file()
    data = (tmp_path / "learner" / "weights" / "residual-v00000004.pt").read_bytes()
    assert load_key(tmp_path / "k" / "d.key").open_weights(4, data)
    assert policy.poll_weights(weights_channel(cfg)) and policy.version == 4


def test_an_unkeyed_reader_gets_a_clear_error_for_a_signed_bundle(cfg, tmp_path):
    policy = _policy(cfg)
    DirectoryWeightsChannel(tmp_path, key=DeploymentKey.generate()).publish(1, _trained_bundle(policy, 1))
    assert not policy.poll_weights(DirectoryWeightsChannel(tmp_path))
    assert policy.refused == 1 and policy.version == 0
