"""Crash states built by hand (each stage of the commit protocol), then recovered by reopening."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.data import layout as L
from robot_rl.data.replay_store import ReplayStore

from .helpers import assert_same_episode


def crash(store: ReplayStore) -> None:
    """What kill -9 leaves: no trimming, no cleanup; the kernel drops the lock."""
    store._lock.release()
    store._lock = None


@pytest.fixture
def interrupted(tmp_path, store_with, make_episode):
    """Two committed episodes, then a third with 11 rows written and no commit."""
    store, eps = store_with([9, 12], chunk_len=8)
    store.begin_episode(L.EpisodeMeta(source=L.EpisodeSource.policy, seed=77, policy_version=5))
    partial = make_episode(11, seed=2)
    store.append_rows({k: v[:8] for k, v in partial.items()})
    store.append_rows({k: v[8:] for k, v in partial.items()})
    crash(store)
    return tmp_path / "store.zarr", eps, partial


def check_committed(path, eps):
    reader = ReplayStore.open(path, "r")
    for i, want in enumerate(eps):
        assert_same_episode(reader.read_episode(i), want)
    return reader


def test_discard_drops_the_interrupted_episode(interrupted):
    path, eps, _ = interrupted
    store = ReplayStore.open(path, "a", on_crash="discard")
    rep = store.recovery
    assert rep.action == "discarded" and rep.discarded_rows == 11 and rep.salvaged_rows == 0
    assert rep.committed_episodes == 2 and rep.committed_rows == 21
    assert "discarded 11 rows" in str(rep)
    assert set(store.data_lengths().values()) == {21}
    store.close()
    assert check_committed(path, eps).n_episodes == 2


def test_keep_truncated_commits_the_written_rows(interrupted):
    path, eps, partial = interrupted
    store = ReplayStore.open(path, "a", on_crash="keep_truncated")
    assert store.recovery.action == "kept_truncated" and store.recovery.salvaged_rows == 11
    store.close()
    reader = check_committed(path, eps)
    assert reader.n_episodes == 3
    assert_same_episode(reader.read_episode(2), partial)
    meta = reader.episode_meta(2)
    assert meta.status == L.EpisodeStatus.crash_recovered and not meta.success
    assert (meta.seed, meta.policy_version) == (77, 5)  # from the marker written at begin_episode


def test_keep_truncated_needs_one_transition(tmp_path, store_with, make_episode):
    store, _ = store_with([5])
    store.begin_episode(L.EpisodeMeta())
    store.append_rows({k: v[:1] for k, v in make_episode(3).items()})
    crash(store)
    store = ReplayStore.open(tmp_path / "store.zarr", "a", on_crash="keep_truncated")
    assert store.recovery.action == "discarded" and store.n_episodes == 1


def test_commit_cut_after_the_metadata(tmp_path, store_with, make_episode):
    store, eps = store_with([5, 6])
    store.begin_episode(L.EpisodeMeta(seed=42))
    store.append_rows(make_episode(4))
    for name in L.META_FIELDS:  # step 2 of the commit done, step 3 (episode_ends) not
        store.meta_array(L.meta_array_name(name))[2] = 1
    crash(store)
    store = ReplayStore.open(tmp_path / "store.zarr", "a")
    assert store.n_episodes == 2 and store.recovery.discarded_rows == 4
    store.add_episode(make_episode(3, seed=5), L.EpisodeMeta(seed=5))  # the store keeps working
    store.close()
    reader = check_committed(tmp_path / "store.zarr", eps)
    assert reader.n_episodes == 3 and reader.episode_meta(2).seed == 5


def test_commit_cut_between_resize_and_write_of_episode_ends(tmp_path, store_with, make_episode):
    store, eps = store_with([5, 6])
    store.begin_episode(L.EpisodeMeta())
    store.append_rows(make_episode(4))
    store.meta_array(L.EPISODE_ENDS).resize((3,))  # the entry reads as 0: not committed
    crash(store)
    store = ReplayStore.open(tmp_path / "store.zarr", "a")
    assert store.recovery.dropped_end_entries == 1 and store.n_episodes == 2
    assert store.meta_array(L.EPISODE_ENDS).shape == (2,)
    want = make_episode(7, seed=8)
    store.add_episode(want, L.EpisodeMeta())
    store.close()
    assert_same_episode(check_committed(tmp_path / "store.zarr", eps).read_episode(2), want)


def test_arrays_of_different_lengths_are_trimmed(tmp_path, store_with):
    store, eps = store_with([5, 6], chunk_len=8)
    store.data_array("action").resize((40, 7))  # a crash in the middle of growing the arrays
    crash(store)
    store = ReplayStore.open(tmp_path / "store.zarr", "a")
    assert set(store.data_lengths().values()) == {11}
    assert store.recovery.action == "none"  # no written rows were lost
    store.close()
    check_committed(tmp_path / "store.zarr", eps)


def test_clean_store_needs_nothing(tmp_path, store_with):
    store_with([4, 4])[0].close()
    store = ReplayStore.open(tmp_path / "store.zarr", "a")
    assert store.recovery.action == "none" and "nothing to recover" in str(store.recovery)


def test_unknown_policy_is_refused(tmp_path, store_with):
    store_with([4])[0].close()
    with pytest.raises(ValueError, match="on_crash"):
        ReplayStore.open(tmp_path / "store.zarr", "a", on_crash="ignore")
    assert np.array_equal(ReplayStore.open(tmp_path / "store.zarr").episode_ends, [4])
