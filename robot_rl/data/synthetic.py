"""Synthetic episodes for tests and benchmarks: deterministic in ``(seed, episode)``, shaped by a
:class:`~robot_rl.data.row_schema.RowSchema`, with a human take-over and a success at the end.

Frames are smooth gradients plus a little noise, so they compress about as well as camera images
(not like pure noise, not like constants).
"""

from __future__ import annotations

import numpy as np

from robot_rl.data.row_schema import ACTION_KEYS, JOINTS_KEY, STATE_KEY, RowSchema


def frames(schema: RowSchema, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``{image key: (n, H, W, 3) uint8}``."""
    rng = np.random.default_rng(seed)
    h, w = schema.image_hw
    yy, xx = np.mgrid[0:h, 0:w]
    out = {}
    for c, key in enumerate(schema.image_keys):
        base = np.stack([(xx * 2 + c * 40) % 256, (yy * 2) % 256, (xx + yy) % 256], axis=-1)
        shift = rng.integers(0, 32, (n, 1, 1, 3))
        noisy = (base[None] + shift) % 256 + rng.integers(0, 8, (n, h, w, 3))
        out[key] = noisy.clip(0, 255).astype(np.uint8)
    return out


def episode(schema: RowSchema, length: int, seed: int = 0, *, frame_pool: dict[str, np.ndarray] | None = None,
            takeover: tuple[int, int] | None = None, success: bool = True) -> dict[str, np.ndarray]:
    """One episode ``{key: (T, *shape)}`` in the stored dtypes.

    ``takeover=(start, stop)`` marks rows ``start..stop-1`` as intervened; ``success`` flags the last
    transition (row T-2) as success + terminated, else as truncated. Images come from
    ``frame_pool`` (cycled, fast) or are generated from ``seed`` (unique per episode)."""
    if length < 1:
        raise ValueError("an episode needs at least one row")
    rng = np.random.default_rng(seed)
    if frame_pool is None:
        cols: dict[str, np.ndarray] = dict(frames(schema, length, seed))
    else:
        pool = len(next(iter(frame_pool.values())))
        idx = (seed * 7 + np.arange(length)) % pool
        cols = {k: v[idx] for k, v in frame_pool.items()}
    cols[STATE_KEY] = rng.standard_normal((length, schema.state_dim)).astype(np.float32)
    if schema.joints_dim:
        cols[JOINTS_KEY] = rng.uniform(-1, 1, (length, schema.joints_dim)).astype(np.float32)
    for key in ACTION_KEYS:
        cols[key] = rng.uniform(-1, 1, (length, schema.action_dim)).astype(np.float32)
    intervened = np.zeros(length, bool)
    if takeover is not None:
        intervened[takeover[0]:takeover[1]] = True
    last = np.zeros(length, bool)
    if length >= 2:
        last[length - 2] = True
    t = 100.0 * seed + np.arange(length) / 10.0
    cols |= {"intervened": intervened, "success": last & success, "terminated": last & success,
             "truncated": last & (not success), "reward": (last & success).astype(np.float32),
             "t_obs": t, "t_action": t + 0.01}
    return cols
