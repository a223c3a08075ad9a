"""The store's and the sampler's choices that a config names (``buffer.on_crash``, ``buffer.reward_mode``): defined
here, beside the code that acts on them, and imported by the config schema; no heavy imports, so loading a config
stays fast."""

from __future__ import annotations

import enum


class CrashPolicy(str, enum.Enum):
    """What opening a store for writing does with rows written after the last committed episode
    (``buffer.on_crash``)."""

    discard = "discard"
    keep_truncated = "keep_truncated"


class RewardMode(str, enum.Enum):
    """``buffer.reward_mode``. ``rlif``: -1 on the policy step just before a take-over; ``sparse``: 1 on success;
    ``both``: their sum."""

    rlif = "rlif"
    sparse = "sparse"
    both = "both"
