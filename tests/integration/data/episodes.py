"""The deterministic episodes the writer and reader processes agree on: everything follows from the
episode's seed (stored in ``meta/episode_seed``), so any process can check any episode bit by bit."""

from __future__ import annotations

import numpy as np

from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode

SCHEMA = RowSchema(cameras=("wrist", "front"), image_hw=(32, 32), state_dim=6, action_dim=7)
CHUNK_LEN = 8


def length_of(seed: int) -> int:
    return 5 + (seed * 7) % 40


def episode_of(seed: int) -> dict[str, np.ndarray]:
    n = length_of(seed)
    return episode(SCHEMA, n, seed, takeover=(n // 3, n // 2) if seed % 2 else None)


def matches(got: dict[str, np.ndarray], seed: int, rows: int | None = None) -> bool:
    """``got`` equals episode ``seed`` bit for bit (its first ``rows`` rows when given)."""
    want = episode_of(seed)
    return set(got) == set(want) and all(
        got[k].dtype == v.dtype and np.array_equal(got[k], v if rows is None else v[:rows]) for k, v in want.items())
