"""Residual TD3 (ResFiT recipe): one update, readable top to bottom in :meth:`ResidualTD3.update`.

The batch holds n-step transitions over observation vectors (frozen base features + state):
``obs`` (B, F), ``base_action`` (B, 7), ``action`` (B, 7) executed (the human's during take-overs),
``reward`` (B,) discounted n-step sum, ``discount`` (B,) gamma^n or 0 after a termination,
``next_obs`` (B, F), ``next_base_action`` (B, 7).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robot_rl.config.schema import LearnerConfig
from robot_rl.policies.residual import CriticEnsemble, ResidualActor, combine


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN/inf: training stops rather than publishing garbage weights."""


@dataclass
class UpdateInfo:
    critic_loss: float
    actor_loss: float | None
    q_mean: float


class ResidualTD3:
    def __init__(self, obs_dim: int, cfg: LearnerConfig, device: torch.device, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.cfg, self.device = cfg, device
        self.actor = ResidualActor(obs_dim, cfg.hidden_dim).to(device)
        self.critic = CriticEnsemble(obs_dim, cfg.num_critics, cfg.hidden_dim).to(device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.updates = 0
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def update(self, b: dict[str, torch.Tensor]) -> UpdateInfo:
        cfg, scale = self.cfg, self.cfg.residual_scale
        # 1. Critic target: target actor's residual on the next base action, smoothed with clipped
        #    noise; the minimum over a random subset of target critics (REDQ) curbs overestimation.
        with torch.no_grad():
            noise = (torch.randn_like(b["next_base_action"]) * cfg.target_noise).clamp(
                -cfg.target_noise_clip, cfg.target_noise_clip)
            next_residual = (self.actor_target(b["next_obs"], b["next_base_action"]) + noise).clamp(-1.0, 1.0)
            next_action = combine(b["next_base_action"], next_residual, scale)
            subset = torch.randperm(cfg.num_critics, generator=self.generator)[: cfg.critic_subsample]
            next_q = self.critic_target(b["next_obs"], next_action, subset.to(self.device)).min(dim=0).values
            target_q = b["reward"] + b["discount"] * next_q
        # 2. Critic regression for every ensemble member on the executed action.
        q = self.critic(b["obs"], b["action"])
        critic_loss = F.mse_loss(q, target_q.unsqueeze(0).expand_as(q)) * cfg.num_critics
        self._check_finite(critic_loss, "critic")
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        # 3. Delayed actor update after the critic warm-up: maximise the ensemble-mean Q of
        #    base + scale * residual.
        actor_loss = None
        self.updates += 1
        if self.updates > cfg.critic_warmup_updates and self.updates % cfg.policy_delay == 0:
            residual = self.actor(b["obs"], b["base_action"])
            q_pi = self.critic(b["obs"], combine(b["base_action"], residual, scale))
            loss = -q_pi.mean()
            if cfg.residual_penalty > 0 or cfg.demo_bc_weight > 0:
                # TD3+BC-style: Q normalised by its magnitude, so the regularisers below mean the same at
                # any reward scale.
                loss = loss / q_pi.abs().mean().detach().clamp_min(1e-3)
            if cfg.residual_penalty > 0:
                # Pull towards the base (residual 0): keeps an unsure critic from saturating the residual.
                loss = loss + cfg.residual_penalty * residual.pow(2).mean()
            if cfg.demo_bc_weight > 0 and "offline" in b:
                loss = loss + cfg.demo_bc_weight * self._demo_bc(b, residual, q.detach(), q_pi.detach())
            self._check_finite(loss, "actor")
            self.actor_opt.zero_grad(set_to_none=True)
            loss.backward()
            self.actor_opt.step()
            actor_loss = float(loss.detach())
            self._soft_update(self.actor, self.actor_target)
        # 4. Polyak-average the critic targets.
        self._soft_update(self.critic, self.critic_target)
        return UpdateInfo(critic_loss=float(critic_loss.detach()), actor_loss=actor_loss,
                          q_mean=float(q.mean().detach()))

    def _demo_bc(self, b: dict[str, torch.Tensor], residual: torch.Tensor, q_executed: torch.Tensor,
                 q_pi: torch.Tensor) -> torch.Tensor:
        """Imitate the human where the critic agrees (a Q-filter, Nair et al. 2018): on offline rows
        (demonstrations and take-over steps) whose executed action the ensemble values above the
        policy's, regress the residual onto the one that reproduces it, ``(action - base) / scale``
        (saturated at +-1 when the correction is out of the residual's reach). ``q_executed`` is the
        critic step's own Q of the executed actions (E, B), reused rather than recomputed."""
        with torch.no_grad():
            wanted = ((b["action"] - b["base_action"]) / self.cfg.residual_scale).clamp(-1.0, 1.0)
            better = q_executed.mean(0) > q_pi.mean(0)
            mask = (b["offline"].bool() & better).float()
        per_row = (residual - wanted).pow(2).sum(-1)
        return (per_row * mask).sum() / mask.sum().clamp_min(1.0)

    def _soft_update(self, net: torch.nn.Module, target: torch.nn.Module) -> None:
        with torch.no_grad():
            for p, tp in zip(net.parameters(), target.parameters(), strict=True):
                tp.lerp_(p, self.cfg.tau)

    def _check_finite(self, loss: torch.Tensor, name: str) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(f"{name} loss is {loss.item()} at update {self.updates}: stopping the learner; "
                                     "the last good checkpoint is kept")

    def state(self) -> dict[str, Any]:
        """Everything needed to resume exactly: networks, targets, optimisers, counters."""
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "actor_target": self.actor_target.state_dict(), "critic_target": self.critic_target.state_dict(),
                "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
                "updates": self.updates, "generator": self.generator.get_state()}

    def load_state(self, state: dict[str, Any]) -> None:
        for name in ("actor", "critic", "actor_target", "critic_target", "actor_opt", "critic_opt"):
            getattr(self, name).load_state_dict(state[name])
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator"])
