"""Image encoders trained from scratch (no pretrained weights can be downloaded here).

Images stay ``uint8`` until they reach the model's device; conversion to float happens there, once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
