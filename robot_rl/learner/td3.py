"""Residual TD3 (ResFiT recipe): one update, readable top to bottom in :meth:`ResidualTD3.update`.

The batch holds n-step transitions: ``obs`` (B, F) frozen base features + state (or, with a trainable
encoder, raw observations ``{"images/<cam>": (B, H, W, 3) uint8, "state": (B, D)}``), ``base_action``
(B, 7), ``action`` (B, 7) executed (the human's during take-overs), ``reward`` (B,) discounted n-step sum,
``discount`` (B,) gamma^n or 0 after a termination, ``next_obs`` like ``obs``, ``next_base_action`` (B, 7).

One code path for both modes: observations go through the actor's :class:`ObservationEncoder` once per
update (the identity on frozen features). A trainable encoder (``encoder`` spec given) is trained by the
critic loss only, on DrQ random shifts of ``obs`` and ``next_obs``; the actor and the targets see its
features detached, as in DrQ-v2 (no target encoder: the target actor and critics act on features).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from robot_rl.config.schema import LearnerConfig
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.policies.residual import CriticEnsemble, ResidualActor, combine


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN/inf: training stops rather than publishing garbage weights."""


@dataclass
class UpdateInfo:
    critic_loss: float
    actor_loss: float | None
    q_mean: float


class ResidualTD3:
    """``encoder``: None for frozen features, else the spec of the actor's trainable
    :class:`~robot_rl.policies.encoders.ObservationEncoder` (``ObservationEncoder.spec_of(bc_net)``; start it
    at the base's weights with ``td3.encoder.copy_from(bc_net)``)."""

    def __init__(self, obs_dim: int, cfg: LearnerConfig, device: torch.device, seed: int = 0,
                 encoder: Mapping[str, Any] | None = None) -> None:
        torch.manual_seed(seed)
        self.cfg, self.device = cfg, device
        self.actor = ResidualActor(obs_dim, cfg.hidden_dim, encoder=dict(encoder) if encoder else None).to(device)
        self.encoder = self.actor.encoder  # shared with the critics; the identity with frozen features
        self.critic = CriticEnsemble(obs_dim, cfg.num_critics, cfg.hidden_dim).to(device)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.actor_target.encoder = ObservationEncoder(obs_dim)  # the target actor acts on the encoder's features
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.net.parameters(), lr=cfg.actor_lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.critic_lr)
        self.encoder_opt = (torch.optim.Adam(self.encoder.parameters(), lr=cfg.critic_lr)
                            if self.encoder.trainable else None)
        self.updates = 0
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def update(self, b: dict[str, Any]) -> UpdateInfo:
        cfg, scale = self.cfg, self.cfg.residual_scale
        # 0. Observations -> features (the identity with frozen features; else the trainable encoder on
        #    randomly shifted images, with gradients only for the critic's own observations).
        obs = self.encoder(b["obs"], cfg.augment_pad)
        # 1. Critic target: target actor's residual on the next base action, smoothed with clipped
        #    noise; the minimum over a random subset of target critics (REDQ) curbs overestimation.
        with torch.no_grad():
            next_obs = self.encoder(b["next_obs"], cfg.augment_pad)
            noise = (torch.randn_like(b["next_base_action"]) * cfg.target_noise).clamp(
                -cfg.target_noise_clip, cfg.target_noise_clip)
            next_residual = (self.actor_target(next_obs, b["next_base_action"]) + noise).clamp(-1.0, 1.0)
            next_action = combine(b["next_base_action"], next_residual, scale)
            subset = torch.randperm(cfg.num_critics, generator=self.generator)[: cfg.critic_subsample]
            next_q = self.critic_target(next_obs, next_action, subset.to(self.device)).min(dim=0).values
            target_q = b["reward"] + b["discount"] * next_q
        # 2. Critic regression for every ensemble member on the executed action (it also trains the encoder).
        q = self.critic(obs, b["action"])
        critic_loss = F.mse_loss(q, target_q.unsqueeze(0).expand_as(q)) * cfg.num_critics
        self._check_finite(critic_loss, "critic")
        self.critic_opt.zero_grad(set_to_none=True)
        if self.encoder_opt is not None:
            self.encoder_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        if self.encoder_opt is not None:
            self.encoder_opt.step()
        obs = obs.detach()
        # 3. Delayed actor update after the critic warm-up: maximise the ensemble-mean Q of
        #    base + scale * residual.
        actor_loss = None
        self.updates += 1
        if self.updates > cfg.critic_warmup_updates and self.updates % cfg.policy_delay == 0:
            residual = self.actor.head(obs, b["base_action"])
            q_pi = self.critic(obs, combine(b["base_action"], residual, scale))
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
            self._soft_update(self.actor.net, self.actor_target.net)
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
        """Everything needed to resume exactly: networks (the actor's holds a trainable encoder), targets,
        optimisers (the encoder's too), counters."""
        out = {"actor": self.actor.state_dict(), "critic": self.critic.state_dict(),
               "actor_target": self.actor_target.state_dict(), "critic_target": self.critic_target.state_dict(),
               "actor_opt": self.actor_opt.state_dict(), "critic_opt": self.critic_opt.state_dict(),
               "updates": self.updates, "generator": self.generator.get_state()}
        if self.encoder_opt is not None:
            out["encoder_opt"] = self.encoder_opt.state_dict()
        return out

    def load_state(self, state: dict[str, Any]) -> None:
        names = ["actor", "critic", "actor_target", "critic_target", "actor_opt", "critic_opt"]
        if self.encoder_opt is not None:
            names.append("encoder_opt")
        for name in names:
            getattr(self, name).load_state_dict(state[name])
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator"])
