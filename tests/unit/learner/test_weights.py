"""Weights reach the actor without blocking it; bad weights are refused and the old ones kept."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from robot_rl.actor.policy import ResidualPolicy
from robot_rl.learner.weights import DirectoryWeightsChannel
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork, ChunkedBase
from robot_rl.policies.residual import ResidualActor


def _policy(cfg) -> ResidualPolicy:
    torch.manual_seed(0)
    net = BCNetwork(["wrist"], (32, 32), state_dim=10, chunk=4, feature_dim=8, hidden_dim=16)
    lc = dataclasses.replace(cfg.learner, hidden_dim=16)
    return ResidualPolicy(ChunkedBase(net, 2, torch.device("cpu")), lc, torch.device("cpu"))


def _trained_bundle(policy: ResidualPolicy, version: int) -> bytes:
    actor = ResidualActor(policy.actor.obs_dim, policy.actor.hidden_dim)
    torch.nn.init.normal_(actor.net[-1].weight, std=0.5)
    return bundles.to_bytes(actor.to_bundle(version))


def _obs() -> dict[str, np.ndarray]:
    return {"images/wrist": np.full((32, 32, 3), 120, np.uint8), "state": np.zeros(10, np.float32)}


def test_channel_delivers_only_newer_versions(tmp_path):
    pub, sub = DirectoryWeightsChannel(tmp_path), DirectoryWeightsChannel(tmp_path)
    assert sub.poll() is None  # nothing published: returns at once
    pub.publish(1, b"one")
    pub.publish(2, b"two")
    assert sub.poll() == (2, b"two")
    assert sub.poll() is None
    pub.publish(3, b"three")
    assert sub.poll() == (3, b"three")


def test_channel_prunes_old_bundles(tmp_path):
    pub = DirectoryWeightsChannel(tmp_path, keep=2)
    for v in range(1, 6):
        pub.publish(v, b"x")
    assert sorted(p.name for p in tmp_path.glob("residual-v*.pt")) == ["residual-v00000004.pt",
                                                                         "residual-v00000005.pt"]


def test_policy_swaps_valid_weights(cfg, tmp_path):
    policy = _policy(cfg)
    first = policy.act(_obs())
    np.testing.assert_array_equal(first.action, first.base_action)  # zero residual = base
    DirectoryWeightsChannel(tmp_path).publish(7, _trained_bundle(policy, 7))
    assert policy.poll_weights(DirectoryWeightsChannel(tmp_path))
    assert policy.version == 7
    out = policy.act(_obs())
    assert not np.allclose(out.action, out.base_action)


def test_policy_refuses_corrupt_or_misshapen_weights_and_keeps_its_own(cfg, tmp_path):
    policy = _policy(cfg)
    channel = DirectoryWeightsChannel(tmp_path)
    good = _trained_bundle(policy, 1)
    channel.publish(1, good)
    policy.poll_weights(channel)
    state = {k: v.clone() for k, v in policy.actor.state_dict().items()}
    corrupt = bytearray(_trained_bundle(policy, 2))
    corrupt[-100] ^= 0xFF
    channel.publish(2, bytes(corrupt))
    assert not policy.poll_weights(channel)
    wrong_shape = bundles.to_bytes(ResidualActor(obs_dim=5, hidden_dim=16).to_bundle(3))
    channel.publish(3, wrong_shape)
    assert not policy.poll_weights(channel)
    assert policy.version == 1 and policy.refused == 2
    for k, v in policy.actor.state_dict().items():
        assert torch.equal(v, state[k])


def test_no_learner_means_no_wait(cfg, tmp_path):
    policy = _policy(cfg)
    assert policy.poll_weights(DirectoryWeightsChannel(tmp_path / "never-created")) is False
    assert policy.poll_weights(None) is False


def test_a_full_policy_ignores_the_base_action(cfg):
    """learner.use_base=false (the HIL-SERL-style comparison): the learned policy is the whole action."""
    with_base = _policy(cfg)
    bundle = _trained_bundle(with_base, 1)
    with_base.load_bundle(bundle)
    full = _policy(dataclasses.replace(cfg, learner=dataclasses.replace(cfg.learner, use_base=False,
                                                                        residual_scale=1.0)))
    full.load_bundle(bundle)
    a, b = with_base.act(_obs()), full.act(_obs())
    assert np.any(a.base_action != 0) and np.all(b.base_action == 0)
    np.testing.assert_allclose(b.action, np.clip(b.residual_action, -1, 1), atol=1e-6)
    assert not np.allclose(a.action, b.action)
