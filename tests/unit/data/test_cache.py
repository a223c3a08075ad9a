from __future__ import annotations

import numpy as np
import pytest

from robot_rl.data.cache import ReplayCache
from robot_rl.data.layout import EpisodeMeta
from robot_rl.data.replay_store import ReplayStore


def new_cache(schema, capacity=1000, **kw):
    kw.setdefault("n_step", 3)
    return ReplayCache(schema, capacity, **kw)


def test_refresh_copies_only_new_episodes(tmp_path, schema, store_with, make_episode):
    store, eps = store_with([10, 6, 8], sources=["demo", "policy", "policy"])
    reader = ReplayStore.open(tmp_path / "store.zarr", "r")
    cache = new_cache(schema)
    assert cache.refresh(reader) == 3 and cache.refresh(reader) == 0
    extra = make_episode(5, seed=9)
    store.add_episode(extra, EpisodeMeta())
    assert cache.refresh(reader) == 1
    assert cache.size == 29 and [e.store_index for e in cache.episodes] == [0, 1, 2, 3]
    for ep, want in zip(cache.episodes, [*eps, extra], strict=True):
        rows = slice(ep.start, ep.start + ep.length)
        for key in ("obs/images/wrist", "obs/images/front", "obs/state", "action", "base_action"):
            np.testing.assert_array_equal(cache.arrays[key][rows], want[key])
        assert (cache.arrays["episode_start"][rows] == ep.start).all()


def test_pools_hold_transition_starts_split_offline_online(schema, make_episode):
    cache = new_cache(schema)
    cache.add_episode(make_episode(6, seed=0), "demo")
    cache.add_episode(make_episode(10, seed=1, takeover=(4, 7)), "policy")
    cache.add_episode(make_episode(5, seed=2), "teleop")
    off, on = cache.pools()
    # last rows (5, 15, 20) only carry final observations
    np.testing.assert_array_equal(off, [0, 1, 2, 3, 4, 10, 11, 12, 16, 17, 18, 19])
    np.testing.assert_array_equal(on, [6, 7, 8, 9, 13, 14])
    assert cache.n_transitions == 18


@pytest.mark.parametrize(("mode", "want"), [("sparse", [0, 0, 1, 0]), ("rlif", [-1, 0, 0, 0]),
                                            ("both", [-1, 0, 1, 0])])
def test_rewards_are_relabelled_on_the_way_in(schema, make_episode, mode, want):
    cache = new_cache(schema, n_step=1, gamma=0.9, reward_mode=mode)
    cols = make_episode(5, seed=0, takeover=(1, 2))  # success flagged on row 3 (the last transition)
    cols["success"][:] = [0, 0, 1, 0, 0]
    cache.add_episode(cols, "policy")
    np.testing.assert_allclose(cache.arrays["nstep_return"][:4], want)


def test_eviction_drops_oldest_online_episodes_first(schema, make_episode):
    cache = new_cache(schema, capacity=30)
    eps = [make_episode(10, seed=i) for i in range(5)]
    cache.add_episode(eps[0], "demo")
    cache.add_episode(eps[1], "policy", store_index=1)
    cache.add_episode(eps[2], "policy", store_index=2)
    cache.add_episode(eps[3], "policy", store_index=3)  # full: evicts 1 (and 2: a 10% margin)
    assert [e.store_index for e in cache.episodes] == [-1, 3]
    cache.add_episode(eps[4], "policy", store_index=4)
    for ep, want in zip(cache.episodes, [eps[0], eps[3], eps[4]], strict=True):
        rows = slice(ep.start, ep.start + ep.length)
        np.testing.assert_array_equal(cache.arrays["obs/images/front"][rows], want["obs/images/front"])
        assert (cache.arrays["episode_start"][rows] == ep.start).all()
    off, on = cache.pools()
    assert off.max() < cache.size and on.max() < cache.size and len(off) + len(on) == 27


def test_an_episode_larger_than_the_cache_is_refused(schema, make_episode):
    with pytest.raises(ValueError, match="exceeds the cache capacity"):
        new_cache(schema, capacity=5).add_episode(make_episode(6), "demo")
