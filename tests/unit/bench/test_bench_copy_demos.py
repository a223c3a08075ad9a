"""A learning run with a reward classifier records the detector's decisions: its store, made from the seed's
demonstrations, has the reward fields (an existing store keeps its schema, and a plain copy would drop them)."""

from __future__ import annotations

import numpy as np

from benchmarks.learning import copy_demos
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode

SCHEMA = RowSchema(cameras=("front",), image_hw=(8, 8), state_dim=4, action_dim=7)


def test_copy_with_reward_fields_keeps_the_demos_and_takes_decisions(tmp_path):
    with ReplayStore.create(tmp_path / "demos.zarr", SCHEMA, chunk_len=4) as demos:
        demos.add_episode(episode(SCHEMA, 6, 0), EpisodeMeta(source=EpisodeSource.demo, seed=3, success=True))
    copy_demos(tmp_path / "demos.zarr", tmp_path / "plain.zarr", reward=False)
    copy_demos(tmp_path / "demos.zarr", tmp_path / "run.zarr", reward=True)
    with ReplayStore.open(tmp_path / "plain.zarr") as plain:
        assert not plain.schema.reward
    with ReplayStore.open(tmp_path / "run.zarr", "a") as run:
        assert run.schema.reward and run.episode_meta(0).seed == 3
        got, want = run.read_episode(0), episode(SCHEMA, 6, 0)
        assert all(np.array_equal(got[k], v) for k, v in want.items())
        assert np.isnan(got["success_prob"]).all() and not got["success_detected"].any()
        cols = episode(SCHEMA, 5, 1) | {"success_detected": np.arange(5) == 3, "success_prob": np.ones(5, np.float32),
                                        "success_label": np.ones(5, np.int8)}
        run.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy))
        assert run.read_episode(1)["success_detected"].tolist() == [False, False, False, True, False]
