"""The behaviour-cloning base policy: per-camera conv encoders + normalised proprio -> action chunk.

Trained from scratch on demonstrations, then frozen and used as a black box through
:class:`ChunkedBase` (observation -> action), which also exposes the frozen encoder's features so the
residual learns on cheap vectors instead of images. Another BC model (Diffusion Policy, ACT) plugs in
by implementing :class:`BasePolicy`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from robot_rl.policies import bundle as bundles
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.spec import ACTION_DIM, image_key


class BCNetwork(bundles.BundledModule):
    """images/<cam> (B, H, W, 3) uint8 + state (B, D) -> chunk of actions (B, K, 7) in [-1, 1]."""

    bundle_kind = "bc"

    def __init__(self, cameras: Sequence[str], image_hw: Sequence[int], state_dim: int, chunk: int,
                 feature_dim: int = 64, hidden_dim: int = 256) -> None:
        super().__init__()
        self.cameras = list(cameras)
        self.image_hw = (int(image_hw[0]), int(image_hw[1]))
        self.state_dim, self.chunk, self.feature_dim, self.hidden_dim = state_dim, chunk, feature_dim, hidden_dim
        self.observation = ObservationEncoder(self.features_dim, {
            "cameras": self.cameras, "image_hw": list(self.image_hw), "state_dim": state_dim,
            "feature_dim": feature_dim})  # the same module a trainable-encoder residual copies
        self.head = nn.Sequential(
            nn.Linear(self.features_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, chunk * ACTION_DIM),
        )

    @property
    def features_dim(self) -> int:
        return len(self.cameras) * self.feature_dim + self.state_dim

    def config(self) -> dict[str, Any]:
        return {"cameras": self.cameras, "image_hw": list(self.image_hw), "state_dim": self.state_dim,
                "chunk": self.chunk, "feature_dim": self.feature_dim, "hidden_dim": self.hidden_dim}

    def set_state_stats(self, states: np.ndarray) -> None:
        self.observation.state_mean.copy_(torch.as_tensor(states.mean(0), dtype=torch.float32))
        self.observation.state_std.copy_(torch.as_tensor(states.std(0) + 1e-3, dtype=torch.float32))

    def encode(self, images: Mapping[str, torch.Tensor], state: torch.Tensor, augment_pad: int = 0) -> torch.Tensor:
        """Features: per-camera embeddings + normalised state. (B, features_dim) float."""
        return self.observation({**{image_key(c): images[c] for c in self.cameras}, "state": state}, augment_pad)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.head(features)).view(-1, self.chunk, ACTION_DIM)

    def forward(self, images: Mapping[str, torch.Tensor], state: torch.Tensor, augment_pad: int = 0) -> torch.Tensor:
        return self.decode(self.encode(images, state, augment_pad))



class BasePolicy(Protocol):
    """What the actor needs from a frozen base policy."""

    features_dim: int

    def reset(self) -> None: ...

    def act(self, obs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(base action (7,) float32, features (features_dim,) float32) for one observation."""
        ...

    def features(self, images: Mapping[str, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        """Batched features for the learner: (B, features_dim)."""
        ...


class ChunkedBase:
    """Runs a frozen :class:`BCNetwork` as a per-step policy: predicts a chunk, executes its first
    ``execute_steps`` actions open loop, then re-plans. Features are computed every step."""

    def __init__(self, net: BCNetwork, execute_steps: int, device: torch.device) -> None:
        self.net = net.to(device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.device = device
        self.execute_steps = execute_steps
        self.features_dim = net.features_dim
        self._queue: deque[np.ndarray] = deque()

    @classmethod
    def load(cls, path: str, execute_steps: int, device: torch.device) -> ChunkedBase:
        return cls(BCNetwork.from_bundle(bundles.load(path, kind="bc")), execute_steps, device)

    def reset(self) -> None:
        self._queue.clear()

    @torch.no_grad()
    def act(self, obs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        images = {c: torch.from_numpy(np.ascontiguousarray(obs[image_key(c)]))[None].to(self.device)
                  for c in self.net.cameras}
        state = torch.from_numpy(np.asarray(obs["state"], dtype=np.float32))[None].to(self.device)
        feats = self.net.encode(images, state)
        if not self._queue:
            chunk = self.net.decode(feats)[0, : self.execute_steps].cpu().numpy()
            self._queue.extend(chunk.astype(np.float32))
        return self._queue.popleft(), feats[0].cpu().numpy()

    @torch.no_grad()
    def features(self, images: Mapping[str, torch.Tensor], state: torch.Tensor) -> torch.Tensor:
        return self.net.encode({c: images[c].to(self.device) for c in self.net.cameras}, state.to(self.device))
