"""A recorder process and a learner-like reader process on one store, for many episodes: the reader
sees each committed episode exactly once, complete, and never a partial one."""

from __future__ import annotations

import json

from robot_rl.data.replay_store import ReplayStore

from .conftest import Child
from .episodes import length_of

N_EPISODES = 30


def test_reader_sees_each_committed_episode_once_and_whole(tmp_path):
    path = tmp_path / "store.zarr"
    reader = Child("reader_child", f"file://{path}", N_EPISODES, 120)  # starts before the store exists
    writer = Child("writer_child", path, "discard", 0, N_EPISODES)
    assert writer.finish(120) == 0, writer.stderr()
    assert reader.finish(120) == 0, reader.stderr()
    result = json.loads(reader.lines[-1])
    assert result["seen"] == list(range(N_EPISODES))  # each once, in commit order
    assert all(result["ok"]), [i for i, ok in enumerate(result["ok"]) if not ok]
    assert result["cache_episodes"] == list(range(N_EPISODES))
    assert result["cache_rows"] == sum(length_of(s) for s in range(N_EPISODES))
    assert result["batches"] > 1  # it discovered episodes while the writer was still writing
    store = ReplayStore.open(path, "r")
    assert [store.episode_meta(i).seed for i in range(store.n_episodes)] == list(range(N_EPISODES))
