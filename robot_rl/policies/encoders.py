"""Image encoders trained from scratch (no pretrained weights can be downloaded here).

Images stay ``uint8`` until they reach the model's device; conversion to float happens there, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.spec import image_key


def to_float_nchw(images: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-0.5, 0.5]."""
    return images.permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)


def random_shift(images: torch.Tensor, pad: int) -> torch.Tensor:
    """DrQ-style augmentation: replicate-pad by ``pad`` pixels and crop back at a random offset per image.
    (B, 3, H, W) float -> same shape."""
    if pad <= 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    dx = torch.randint(0, 2 * pad + 1, (b,), device=images.device)
    dy = torch.randint(0, 2 * pad + 1, (b,), device=images.device)
    rows = (torch.arange(h, device=images.device)[None, :] + dy[:, None])  # (B, H)
    cols = (torch.arange(w, device=images.device)[None, :] + dx[:, None])  # (B, W)
    idx_b = torch.arange(b, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


class SpatialSoftmax(nn.Module):
    """Each channel's softmax over the image, reduced to its expected (x, y) in [-1, 1]: a learned keypoint
    (Levine et al. 2016, "End-to-end training of deep visuomotor policies"). Keeps *where* things are, which a
    flatten + linear layer must learn from few demonstrations position by position. (B, C, H, W) -> (B, 2C)."""

    def __init__(self, hw: tuple[int, int]) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, hw[0]), torch.linspace(-1, 1, hw[1]), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], dim=-1), persistent=False)  # (HW, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attention = torch.softmax(x.flatten(2), dim=-1)  # (B, C, HW)
        return (attention @ self.grid).flatten(1)


class ConvEncoder(nn.Module):
    """Three stride-2 3x3 convolutions and one stride-1 (a 1/8-resolution map), a spatial softmax (64
    keypoints), then a linear projection with LayerNorm. (B, 3, H, W) float -> (B, out_dim)."""

    def __init__(self, out_dim: int, image_hw: tuple[int, int]) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1, padding=1),
        )
        with torch.no_grad():
            hw = self.convs(torch.zeros(1, 3, *image_hw)).shape[-2:]
        self.keypoints = SpatialSoftmax((int(hw[0]), int(hw[1])))
        self.proj = nn.Sequential(nn.Linear(2 * 64, out_dim), nn.LayerNorm(out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.keypoints(self.convs(x)))


class ObservationEncoder(nn.Module):
    """What the residual actor and the critics see of an observation: one module for both learner modes.

    * ``spec=None`` (``learner.frozen_features=true``): observations already are the frozen base's feature
      vectors ``(B, obs_dim)``; the identity, without parameters.
    * ``spec`` given (``learner.frozen_features=false``): raw observations ``{"images/<cam>": (B, H, W, 3)
      uint8, "state": (B, D)}`` go through per-camera :class:`ConvEncoder` s plus the normalised state. The
      BC base encodes with this same module (``BCNetwork.observation``); :meth:`copy_from` starts a copy at
      the base's weights, after which the critic loss trains it. ``augment_pad > 0`` applies DrQ random shifts.

    ``spec`` (JSON: cameras, image_hw, state_dim, feature_dim) travels in residual bundles and says the mode.
    (B, obs_dim) either way."""

    def __init__(self, obs_dim: int, spec: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.out_dim = int(obs_dim)
        self.spec: dict[str, Any] | None = None
        self.cameras: list[str] = []
        if spec is None:
            return
        self.spec = {"cameras": list(spec["cameras"]), "image_hw": [int(v) for v in spec["image_hw"]],
                     "state_dim": int(spec["state_dim"]), "feature_dim": int(spec["feature_dim"])}
        self.cameras = self.spec["cameras"]
        hw = (self.spec["image_hw"][0], self.spec["image_hw"][1])
        self.encoders = nn.ModuleDict({c: ConvEncoder(self.spec["feature_dim"], hw) for c in self.cameras})
        self.register_buffer("state_mean", torch.zeros(self.spec["state_dim"]))
        self.register_buffer("state_std", torch.ones(self.spec["state_dim"]))
        got = len(self.cameras) * self.spec["feature_dim"] + self.spec["state_dim"]
        if got != self.out_dim:
            raise ValueError(f"encoder spec {self.spec} gives {got} features, expected obs_dim={self.out_dim}")

    @property
    def trainable(self) -> bool:
        return self.spec is not None

    @staticmethod
    def spec_of(base: Any) -> dict[str, Any]:
        """The spec of a trainable copy of a BC network's encoder (``BCNetwork.observation``)."""
        return dict(base.observation.spec)

    @torch.no_grad()
    def copy_from(self, base: Any) -> ObservationEncoder:
        """Start from a BC network's encoder weights and state normalisation (trainable mode only)."""
        if not self.trainable:
            raise ValueError("a frozen-feature ObservationEncoder has no weights to copy")
        if self.spec_of(base) != self.spec:
            raise ValueError(f"the base's encoder {self.spec_of(base)} differs from this one {self.spec}")
        self.load_state_dict(base.observation.state_dict())
        return self

    def forward(self, obs: torch.Tensor | Mapping[str, torch.Tensor], augment_pad: int = 0) -> torch.Tensor:
        if self.spec is None:
            if not isinstance(obs, torch.Tensor):
                raise TypeError("a frozen-feature residual takes feature vectors (B, obs_dim), not raw observations")
            return obs
        if not isinstance(obs, Mapping):
            raise TypeError("a trainable-encoder residual takes raw observations {'images/<cam>': ..., 'state': ...}")
        parts = [self.encoders[c](random_shift(to_float_nchw(obs[image_key(c)]), augment_pad)) for c in self.cameras]
        parts.append((obs["state"].float() - self.state_mean) / self.state_std)
        return torch.cat(parts, dim=-1)
