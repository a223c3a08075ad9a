"""Fixtures for the replay store tests: a small row schema (two 16x16 cameras) and episode makers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode


@pytest.fixture
def schema() -> RowSchema:
    return RowSchema(cameras=("wrist", "front"), image_hw=(16, 16), state_dim=5, action_dim=7)


@pytest.fixture
def make_episode(schema: RowSchema) -> Callable[..., dict[str, np.ndarray]]:
    def make(length: int, seed: int = 0, **kw) -> dict[str, np.ndarray]:
        return episode(schema, length, seed, **kw)

    return make


@pytest.fixture
def store_with(tmp_path, schema, make_episode) -> Callable[..., tuple[ReplayStore, list[dict]]]:
    """``store_with([len, ...], chunk_len=..)`` -> (store open for writing, the episodes written)."""

    def make(lengths, chunk_len: int = 8, sources=None, **kw):
        store = ReplayStore.create(tmp_path / "store.zarr", schema, chunk_len=chunk_len, **kw)
        eps = []
        for i, n in enumerate(lengths):
            cols = make_episode(n, seed=i)
            src = EpisodeSource.parse(sources[i]) if sources else EpisodeSource.policy
            store.add_episode(cols, EpisodeMeta(source=src, seed=i, success=True))
            eps.append(cols)
        return store, eps

    return make
