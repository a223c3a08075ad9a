"""What the actor needs to judge its own uncertainty, built by the learner and carried in the residual bundle.

Three parts, each cheap for one observation (the actor computes them every tick):

- **disagreement**: the spread (std) of the critic ensemble's Q on the action about to be sent. The critics
  are trained on what the robot did; where they disagree they have seen little like it (the ensemble reading
  of uncertainty in REDQ / RLPD, and MoDem-V2's hand-over signal).
- **novelty**: the distance from the observation's features to the nearest of a bank of features the residual
  was trained on (standardised per feature, divided by sqrt(features)): a covered camera or a cube where no
  demonstration put it lands far from all of them.
- **risk**: minus the ensemble's mean Q (a low value: the critics expect the episode to go badly).

:class:`Calibration` turns parts into one score: each part becomes a robust z (its median over the calibration
steps subtracted, divided by its 90th percentile's distance from the median), the score is the largest z
divided by the threshold that ``budget`` of the calibration steps exceed. So a score >= 1 asks, a score >=
``caution_at`` slows down, and ``budget`` of ordinary policy steps ask.

In a bundle: state-dict keys ``help.*`` and ``config["help"]``; :func:`split_bundle` separates them from the
residual actor's own, so an actor-only bundle (older, or from a learner with ``help.gate=off``) still loads.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from robot_rl.policies import bundle as bundles
from robot_rl.policies.residual import CriticEnsemble

PARTS = ("disagreement", "novelty", "risk")
PREFIX = "help."


class Calibration(nn.Module):
    """Parts (B, P) -> score (B,): the largest robust z over the parts, over the ask threshold."""

    def __init__(self, parts: int = len(PARTS)) -> None:
        super().__init__()
        self.register_buffer("center", torch.zeros(parts))
        self.register_buffer("spread", torch.ones(parts))
        self.register_buffer("ask_at", torch.ones(1))
        self.register_buffer("caution_at", torch.ones(1))

    def fit(self, parts: torch.Tensor, budget: float, caution_budget: float) -> Calibration:
        """Calibrate on ordinary policy steps (N, P) so that ``budget`` of them ask."""
        parts = parts.float()
        self.center.copy_(parts.median(0).values)
        self.spread.copy_((torch.quantile(parts, 0.9, dim=0) - self.center).clamp_min(1e-6))
        raw = self._raw(parts)
        self.ask_at.copy_(torch.quantile(raw, 1.0 - budget).clamp_min(1e-6))
        self.caution_at.copy_((torch.quantile(raw, 1.0 - caution_budget) / self.ask_at).clamp(max=1.0))
        return self

    def _raw(self, parts: torch.Tensor) -> torch.Tensor:
        return ((parts - self.center) / self.spread).max(dim=-1).values

    def forward(self, parts: torch.Tensor) -> torch.Tensor:
        return self._raw(parts) / self.ask_at


class HelpModel(bundles.BundledModule):
    """The critic ensemble, the novelty bank and the calibration of the ``score`` gate."""

    bundle_kind = "help"

    def __init__(self, obs_dim: int, members: int, hidden_dim: int, bank_size: int) -> None:
        super().__init__()
        self.obs_dim, self.members, self.hidden_dim, self.bank_size = obs_dim, members, hidden_dim, bank_size
        self.critic = CriticEnsemble(obs_dim, members, hidden_dim)
        self.register_buffer("bank", torch.zeros(bank_size, obs_dim))
        self.register_buffer("feature_mean", torch.zeros(obs_dim))
        self.register_buffer("feature_std", torch.ones(obs_dim))
        self.calibration = Calibration()

    def config(self) -> dict[str, Any]:
        return {"obs_dim": self.obs_dim, "members": self.members, "hidden_dim": self.hidden_dim,
                "bank_size": self.bank_size}

    @torch.no_grad()
    def q(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(E, B) every critic's Q."""
        return self.critic(features, action)

    @torch.no_grad()
    def novelty(self, features: torch.Tensor) -> torch.Tensor:
        """(B,) distance to the nearest bank feature, standardised, over sqrt(features)."""
        z = (features - self.feature_mean) / self.feature_std
        return torch.cdist(z, self.bank).min(dim=-1).values / math.sqrt(self.obs_dim)

    @torch.no_grad()
    def parts(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(B, 3): disagreement, novelty, risk (see :data:`PARTS`)."""
        q = self.q(features, action)
        return torch.stack([q.std(dim=0), self.novelty(features), -q.mean(dim=0)], dim=-1)

    @torch.no_grad()
    def score(self, features: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(score (B,), parts (B, 3)); a score >= 1 asks."""
        parts = self.parts(features, action)
        return self.calibration(parts), parts

    @classmethod
    @torch.no_grad()
    def build(cls, critic: CriticEnsemble, bank: torch.Tensor, calibration_features: torch.Tensor,
              calibration_actions: torch.Tensor, *, budget: float, caution_budget: float) -> HelpModel:
        """From the learner: a copy of its critics, the bank of training features (K, F), and the policy's
        recent steps (features (N, F) with the action the current actor takes there (N, 7)) to calibrate on."""
        model = cls(bank.shape[1], critic.members, critic.net[0].weight.shape[2], len(bank))
        model.critic.load_state_dict(critic.state_dict())
        model.feature_mean.copy_(bank.mean(0))
        model.feature_std.copy_(bank.std(0).clamp_min(1e-3))
        model.bank.copy_((bank - model.feature_mean) / model.feature_std)
        model.calibration.fit(model.parts(calibration_features, calibration_actions), budget, caution_budget)
        return model.eval()


def attach(bundle: bundles.Bundle, model: HelpModel) -> bundles.Bundle:
    """The residual bundle with the help model's weights and config added."""
    state = dict(bundle.state_dict)
    state.update({PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()})
    return replace(bundle, config={**bundle.config, "help": model.config()}, state_dict=state)


def split_bundle(bundle: bundles.Bundle) -> tuple[bundles.Bundle, HelpModel | None]:
    """(the residual actor's own bundle, its help model or None); a help part that does not fit raises
    :class:`~robot_rl.policies.bundle.BundleError`."""
    config = dict(bundle.config)
    help_config = config.pop("help", None)
    own = {k: v for k, v in bundle.state_dict.items() if not k.startswith(PREFIX)}
    actor = replace(bundle, config=config, state_dict=own)
    if help_config is None:
        return actor, None
    part = bundles.Bundle(kind=HelpModel.bundle_kind, version=bundle.version, config=help_config,
                          state_dict={k[len(PREFIX):]: v for k, v in bundle.state_dict.items() if k.startswith(PREFIX)},
                          extra={})
    return actor, HelpModel.from_bundle(part).eval()

