"""The residual actor and the critic ensemble (ResFiT: residual = scale * actor(obs, base_action)).

Both take the frozen base's features (or any observation vector) plus actions. The actor's last
layer starts at zero, so before any training ``base + scale * residual == base`` exactly. The
critics are an ensemble with LayerNorm (REDQ / RLPD style), evaluated in one batched pass.

The actor owns an :class:`~robot_rl.policies.encoders.ObservationEncoder` from observations to those
features: the identity with frozen features (the default), or, with ``learner.frozen_features=false``, its
own trainable copy of the base's image encoder, so its bundle carries the encoder too (config ``encoder``:
null for frozen features, else the encoder's spec). The critics take the encoder's features from the
learner (the encoder is shared and trained by the critic loss, DrQ-v2 style).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.policies import bundle as bundles
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.spec import ACTION_DIM


class ResidualActor(bundles.BundledModule):
    """(observation, base_action (B, 7)) -> residual (B, 7) in [-1, 1]. The observation is a feature vector
    (B, obs_dim) when ``encoder`` is None, else raw images + state (see :class:`ObservationEncoder`)."""

    bundle_kind = "residual"

    def __init__(self, obs_dim: int, hidden_dim: int = 256, action_dim: int = ACTION_DIM,
                 encoder: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.obs_dim, self.hidden_dim, self.action_dim = obs_dim, hidden_dim, action_dim
        self.encoder = ObservationEncoder(obs_dim, encoder)
        self.net = nn.Sequential(
            nn.Linear(obs_dim + action_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, action_dim),
        )
        last = self.net[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    @property
    def frozen_features(self) -> bool:
        """True when the actor acts on the frozen base's features, False when it has its own encoder."""
        return not self.encoder.trainable

    def forward(self, obs: torch.Tensor | Mapping[str, torch.Tensor], base_action: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(obs), base_action)

    def head(self, features: torch.Tensor, base_action: torch.Tensor) -> torch.Tensor:
        """The residual from already encoded features (B, obs_dim)."""
        return torch.tanh(self.net(torch.cat([features, base_action], dim=-1)))

    def config(self) -> dict[str, Any]:
        return {"obs_dim": self.obs_dim, "hidden_dim": self.hidden_dim, "action_dim": self.action_dim,
                "encoder": self.encoder.spec}


def combine(base: torch.Tensor, residual: torch.Tensor, scale: float) -> torch.Tensor:
    """The executed policy action: base + scale * residual, kept in [-1, 1]."""
    return (base + scale * residual).clamp(-1.0, 1.0)


class EnsembleLinear(nn.Module):
    """``members`` independent linear layers applied in one batched matmul. (E, B, in) -> (E, B, out)."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim))
        bound = 1.0 / math.sqrt(in_dim)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        if members is None:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.baddbmm(self.bias[members], x, self.weight[members])


class EnsembleLayerNorm(nn.Module):
    """LayerNorm with a separate affine per member. (E, B, D) -> (E, B, D)."""

    def __init__(self, members: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(members, 1, dim))
        self.bias = nn.Parameter(torch.zeros(members, 1, dim))

    def forward(self, x: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        w, b = (self.weight, self.bias) if members is None else (self.weight[members], self.bias[members])
        return F.layer_norm(x, x.shape[-1:]) * w + b


class CriticEnsemble(nn.Module):
    """(obs (B, F), action (B, 7)) -> Q values (E, B); with ``members`` (M,) only those: (M, B)."""

    def __init__(self, obs_dim: int, members: int = 10, hidden_dim: int = 256, action_dim: int = ACTION_DIM) -> None:
        super().__init__()
        self.members = members
        self.net = nn.Sequential(
            EnsembleLinear(members, obs_dim + action_dim, hidden_dim), EnsembleLayerNorm(members, hidden_dim),
            nn.ReLU(),
            EnsembleLinear(members, hidden_dim, hidden_dim), EnsembleLayerNorm(members, hidden_dim), nn.ReLU(),
            EnsembleLinear(members, hidden_dim, 1),
        )

    def forward(self, obs: torch.Tensor, action: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
        n = self.members if members is None else len(members)
        x = torch.cat([obs, action], dim=-1).unsqueeze(0).expand(n, -1, -1)
        for layer in self.net:
            # Only the members asked for are computed (the REDQ target needs 2 of 10: a fifth of the cost).
            x = layer(x, members) if isinstance(layer, EnsembleLinear | EnsembleLayerNorm) else layer(x)
        return x.squeeze(-1)
