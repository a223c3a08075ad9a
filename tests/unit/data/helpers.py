"""Small helpers shared by the data tests."""

from __future__ import annotations

import numpy as np


def row_of(cols: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    """Row ``t`` of an episode ``{key: (T, *shape)}``."""
    return {k: v[t] for k, v in cols.items()}


def assert_same_episode(got: dict[str, np.ndarray], want: dict[str, np.ndarray], rows: int | None = None) -> None:
    """Bit-identical (the first ``rows`` rows of ``want`` when given)."""
    assert set(got) == set(want)
    for key, value in want.items():
        expected = value if rows is None else value[:rows]
        assert got[key].dtype == expected.dtype, key
        assert np.array_equal(got[key], expected), f"{key} differs"
