"""Trainable-encoder residuals (learner.frozen_features=false) on the actor side: the encoder starts at the
base's, bundles carry it, and an actor refuses bundles of the other mode, keeping its weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robot_rl.actor.policy import ResidualPolicy
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork, ChunkedBase
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.policies.residual import ResidualActor


def _net(cameras=("wrist",)) -> BCNetwork:
    torch.manual_seed(0)
    return BCNetwork(list(cameras), (32, 32), state_dim=10, chunk=4, feature_dim=8, hidden_dim=16)


def _policy(cfg, frozen: bool, net: BCNetwork | None = None) -> ResidualPolicy:
    lc = dataclasses.replace(cfg.learner, hidden_dim=16, frozen_features=frozen)
    return ResidualPolicy(ChunkedBase(net or _net(), 2, torch.device("cpu")), lc, torch.device("cpu"))


def _trained_bundle(policy: ResidualPolicy, version: int, frozen: bool) -> bytes:
    net = policy.base.net
    actor = ResidualActor(net.features_dim, 16, encoder=None if frozen else ObservationEncoder.spec_of(net))
    torch.nn.init.normal_(actor.net[-1].weight, std=0.5)
    if not frozen:
        torch.nn.init.normal_(actor.encoder.encoders["wrist"].proj[0].weight, std=0.5)
    return bundles.to_bytes(actor.to_bundle(version))


def _obs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"images/wrist": rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
            "state": rng.standard_normal(10).astype(np.float32)}


def test_trainable_encoder_starts_at_the_base_encoder():
    net = _net()
    enc = ObservationEncoder(net.features_dim, ObservationEncoder.spec_of(net)).copy_from(net)
    obs = _obs()
    images = {"wrist": torch.from_numpy(obs["images/wrist"])[None]}
    state = torch.from_numpy(obs["state"])[None]
    with torch.no_grad():
        torch.testing.assert_close(enc({"images/wrist": images["wrist"], "state": state}), net.encode(images, state))
    assert any(p.requires_grad for p in enc.parameters())  # a copy: the base stays frozen
    assert ObservationEncoder(5)(torch.ones(2, 5)).shape == (2, 5) and not list(ObservationEncoder(5).parameters())


def test_trainable_policy_acts_on_raw_observations_and_swaps_encoder_bundles(cfg):
    policy = _policy(cfg, frozen=False)
    first = policy.act(_obs())
    np.testing.assert_array_equal(first.action, first.base_action)  # zero residual = base
    data = _trained_bundle(policy, 3, frozen=False)
    assert bundles.from_bytes(data).config["encoder"]["cameras"] == ["wrist"]  # the mode travels in the config
    assert policy.load_bundle(data) == 3
    out = policy.act(_obs())
    assert not np.allclose(out.action, out.base_action)
    theirs = ResidualActor.from_bundle(bundles.from_bytes(data)).encoder.state_dict()
    for k, v in policy.actor.encoder.state_dict().items():
        assert torch.equal(v, theirs[k])  # the bundle's encoder, not the base's


@pytest.mark.parametrize("frozen", [True, False])
def test_policy_refuses_a_bundle_of_the_other_mode_and_keeps_its_weights(cfg, frozen):
    policy = _policy(cfg, frozen=frozen)
    policy.load_bundle(_trained_bundle(policy, 1, frozen=frozen))
    state = {k: v.clone() for k, v in policy.actor.state_dict().items()}
    with pytest.raises(bundles.BundleError, match=f"frozen_features={str(not frozen).lower()}"):
        policy.load_bundle(_trained_bundle(policy, 2, frozen=not frozen))
    assert policy.version == 1
    for k, v in policy.actor.state_dict().items():
        assert torch.equal(v, state[k])


def test_trainable_policy_refuses_an_encoder_for_other_cameras(cfg):
    policy = _policy(cfg, frozen=False, net=_net(("front",)))
    # same feature count (one camera, 8 features + 10 state), but another camera
    other = _policy(cfg, frozen=False, net=_net(("wrist",)))
    with pytest.raises(bundles.BundleError, match="encoder"):
        policy.load_bundle(_trained_bundle(other, 1, frozen=False))
    assert policy.version == 0
