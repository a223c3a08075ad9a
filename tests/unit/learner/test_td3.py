"""The residual TD3 update learns on an easy problem and refuses to continue on NaN."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from robot_rl.learner.td3 import NonFiniteLossError, ResidualTD3


def _bandit_batch(n: int, obs_dim: int, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """One-step problem: the best executed action is ``target`` (within the residual's reach of a zero
    base); reward -|a - target|^2, no bootstrapping."""
    obs = torch.randn(n, obs_dim)
    base = torch.zeros(n, 7)
    action = (torch.rand(n, 7) * 2 - 1) * 0.12
    reward = -((action - target) ** 2).sum(-1) * 100
    return {"obs": obs, "base_action": base, "action": action, "reward": reward, "discount": torch.zeros(n),
            "next_obs": obs, "next_base_action": base}


def test_residual_moves_towards_the_better_action(cfg):
    # the critic-driven TD3 objective alone: a scale whose reach the bandit's actions fill, no imitation rows
    learner_cfg = dataclasses.replace(cfg.learner, num_critics=4, hidden_dim=64, critic_warmup_updates=200,
                                      batch_size=128, residual_penalty=1.0, residual_scale=0.1, demo_bc_weight=0.0)
    td3 = ResidualTD3(obs_dim=6, cfg=learner_cfg, device=torch.device("cpu"), seed=0)
    target = torch.tensor([0.08, -0.08, 0.05, 0.0, 0.0, 0.0, -0.05])
    data = _bandit_batch(4096, 6, target)

    def executed_error() -> float:
        with torch.no_grad():
            res = td3.actor(data["obs"][:512], data["base_action"][:512])
        return float(((learner_cfg.residual_scale * res - target) ** 2).sum(-1).mean())

    before = executed_error()
    g = torch.Generator().manual_seed(0)
    for _ in range(1000):
        idx = torch.randint(0, 4096, (128,), generator=g)
        td3.update({k: v[idx] for k, v in data.items()})
    after = executed_error()
    assert after < 0.5 * before, (before, after)


def test_demo_bc_term_imitates_the_humans_better_corrections(cfg):
    """Half the rows are human corrections that execute the best action: with the Q-filtered BC term
    the residual reaches it in far fewer updates than from the critic alone."""
    target = torch.tensor([0.08, -0.08, 0.05, 0.0, 0.0, 0.0, -0.05])

    def train(weight: float) -> float:
        lc = dataclasses.replace(cfg.learner, num_critics=4, hidden_dim=64, critic_warmup_updates=50,
                                 batch_size=128, demo_bc_weight=weight, residual_scale=0.1)
        td3 = ResidualTD3(obs_dim=6, cfg=lc, device=torch.device("cpu"), seed=0)
        torch.manual_seed(0)
        data = _bandit_batch(4096, 6, target)
        data["offline"] = torch.arange(4096) % 2 == 0
        data["action"][data["offline"]] = target
        data["reward"] = -((data["action"] - target) ** 2).sum(-1) * 100
        g = torch.Generator().manual_seed(0)
        for _ in range(250):
            idx = torch.randint(0, 4096, (128,), generator=g)
            td3.update({k: v[idx] for k, v in data.items()})
        with torch.no_grad():
            res = td3.actor(data["obs"][:512], data["base_action"][:512])
        return float(((lc.residual_scale * res - target) ** 2).sum(-1).mean())

    untrained = float((target ** 2).sum())
    with_bc, without = train(1.0), train(0.0)
    assert with_bc < 0.2 * untrained, (with_bc, untrained)
    assert with_bc < 0.5 * without, (with_bc, without)


def test_nan_loss_stops_training(cfg):
    td3 = ResidualTD3(obs_dim=6, cfg=dataclasses.replace(cfg.learner, num_critics=2, hidden_dim=16),
                      device=torch.device("cpu"))
    batch = _bandit_batch(32, 6, torch.zeros(7))
    batch["reward"][3] = float("nan")
    with pytest.raises(NonFiniteLossError, match="critic loss"):
        td3.update(batch)


def test_state_round_trip_resumes_exactly(cfg):
    lc = dataclasses.replace(cfg.learner, num_critics=2, hidden_dim=16, critic_warmup_updates=0, policy_delay=1)
    a = ResidualTD3(obs_dim=6, cfg=lc, device=torch.device("cpu"), seed=1)
    batch = _bandit_batch(64, 6, torch.zeros(7))
    for _ in range(5):
        a.update(batch)
    b = ResidualTD3(obs_dim=6, cfg=lc, device=torch.device("cpu"), seed=99)
    b.load_state(a.state())
    assert b.updates == 5
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters(), strict=True):
        assert torch.equal(pa, pb)
