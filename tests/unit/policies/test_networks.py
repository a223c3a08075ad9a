"""The networks' contracts: zero-initialised residual, batched critic ensemble, BC shapes."""

from __future__ import annotations

import numpy as np
import torch

from robot_rl.policies.bc import BCNetwork, ChunkedBase
from robot_rl.policies.residual import CriticEnsemble, ResidualActor, combine


def test_untrained_residual_executes_the_base_exactly():
    actor = ResidualActor(obs_dim=30, hidden_dim=32)
    obs, base = torch.randn(64, 30), torch.rand(64, 7) * 2 - 1
    assert torch.equal(combine(base, actor(obs, base), 0.1), base)


def test_critic_ensemble_members_are_independent():
    critic = CriticEnsemble(obs_dim=30, members=5, hidden_dim=32)
    q = critic(torch.randn(8, 30), torch.randn(8, 7))
    assert q.shape == (5, 8)
    assert not torch.allclose(q[0], q[1])


def test_bc_network_shapes_and_chunked_execution():
    torch.manual_seed(0)
    net = BCNetwork(["wrist", "front"], (32, 32), state_dim=10, chunk=6, feature_dim=8, hidden_dim=16)
    images = {c: torch.randint(0, 255, (3, 32, 32, 3), dtype=torch.uint8) for c in ("wrist", "front")}
    out = net(images, torch.randn(3, 10))
    assert out.shape == (3, 6, 7) and out.abs().max() <= 1.0
    base = ChunkedBase(net, execute_steps=3, device=torch.device("cpu"))
    obs = {"images/wrist": images["wrist"][0].numpy(), "images/front": images["front"][0].numpy(),
           "state": np.zeros(10, np.float32)}
    actions = [base.act(obs)[0] for _ in range(4)]
    chunk = net(images, torch.zeros(3, 10))[0].detach().numpy()
    np.testing.assert_allclose(actions[:3], chunk[:3], atol=1e-6)  # first three from one chunk
    _, feats = base.act(obs)
    assert feats.shape == (net.features_dim,)


def test_critic_ensemble_subset_equals_the_same_members_of_the_full_pass():
    critic = CriticEnsemble(obs_dim=5, members=6, hidden_dim=16)
    with torch.no_grad():  # distinct affine per member, so a wrong member index would show
        for p in critic.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    obs, action = torch.randn(9, 5), torch.rand(9, 7)
    members = torch.tensor([4, 1])
    full = critic(obs, action)
    assert torch.allclose(critic(obs, action, members), full[members], atol=1e-6)
