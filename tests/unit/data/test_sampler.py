from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_rl.data.cache import ReplayCache
from robot_rl.data.sampler import Sampler


def tagged(make_episode, length, seed, first_row, **kw):
    """An episode whose ``obs/state[:, 0]`` is the cache row, to follow rows through a batch."""
    cols = make_episode(length, seed=seed, **kw)
    cols["obs/state"][:, 0] = first_row + np.arange(length)
    return cols


@pytest.fixture
def hand_cache(schema, make_episode):
    """Episode A (rows 0-5): success + termination at row 4; episode B (rows 6-9): time limit."""
    cache = ReplayCache(schema, 100, n_step=3, gamma=0.5, reward_mode="sparse", offline_sources=["demo"])
    a = tagged(make_episode, 6, 0, 0)
    a["success"][:] = a["terminated"][:] = [0, 0, 0, 0, 1, 0]
    b = tagged(make_episode, 4, 1, 6, success=False)
    cache.add_episode(a, "policy")
    cache.add_episode(b, "policy")
    return cache


# row -> (n-step return, next row, discount), computed by hand (gamma 0.5, reward 1 on row 4)
EXPECTED = {
    0: (0.0, 3, 0.125), 1: (0.0, 4, 0.125), 2: (0.25, 5, 0.0), 3: (0.5, 5, 0.0), 4: (1.0, 5, 0.0),
    6: (0.0, 9, 0.125), 7: (0.0, 9, 0.25), 8: (0.0, 9, 0.5),  # B ends: bootstrap from its last row
}


def test_nstep_targets_in_batches(hand_cache):
    sampler = Sampler(hand_cache, 64, offline_fraction=0.0, seed=0)
    seen = set()
    for _ in range(5):
        batch = sampler.sample()
        for i, row in enumerate(batch["index"].tolist()):
            ret, nxt, disc = EXPECTED[row]
            seen.add(row)
            assert batch["reward"][i].item() == pytest.approx(ret)
            assert batch["discount"][i].item() == pytest.approx(disc)
            assert batch["next_obs/state"][i, 0].item() == nxt  # never crosses into the next episode
            assert batch["obs/state"][i, 0].item() == row
            assert batch["terminated"][i].item() == (disc == 0.0)
            np.testing.assert_array_equal(batch["next_base_action"][i].numpy(),
                                          hand_cache.arrays["base_action"][nxt])
    assert seen == set(EXPECTED)  # rows 5 and 9 (final observations) never start a transition


def test_batch_layout(hand_cache, schema):
    b = Sampler(hand_cache, 32, seed=0).sample()
    assert b["obs/images/wrist"].shape == (32, 16, 16, 3) and b["obs/images/wrist"].dtype == torch.uint8
    assert b["next_obs/images/front"].dtype == torch.uint8
    assert b["obs/state"].shape == (32, 5) and b["obs/state"].dtype == torch.float32
    for key in ("action", "base_action", "residual_action", "next_base_action"):
        assert b[key].shape == (32, 7) and b[key].dtype == torch.float32
    for key in ("reward", "discount"):
        assert b[key].shape == (32,) and b[key].dtype == torch.float32
    for key in ("terminated", "intervened", "offline"):
        assert b[key].dtype == torch.bool
    assert all(isinstance(v, torch.Tensor) for v in b.values())


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 1.0])
def test_offline_online_mix(schema, make_episode, fraction):
    cache = ReplayCache(schema, 1000, offline_sources=["demo", "teleop"])
    cache.add_episode(make_episode(20, seed=0), "demo")
    cache.add_episode(make_episode(30, seed=1, takeover=(10, 15)), "policy")
    cache.add_episode(make_episode(30, seed=2), "policy")
    offline_rows = set(range(0, 19)) | set(range(30, 35))  # demo rows + the human's rows
    sampler = Sampler(cache, 256, offline_fraction=fraction, seed=1)
    drawn_offline = set()
    for _ in range(10):
        b = sampler.sample()
        off = b["offline"].numpy()
        assert off.sum() == round(256 * fraction)
        rows = b["index"].numpy()
        assert set(rows[off]) <= offline_rows and not set(rows[~off]) & offline_rows
        assert b["intervened"].numpy()[~off].sum() == 0
        drawn_offline |= set(rows[off])
    if fraction > 0:
        assert set(range(30, 35)) <= drawn_offline  # intervention steps are sampled as demonstrations


def test_a_missing_pool_gives_the_whole_batch_to_the_other(schema, make_episode):
    cache = ReplayCache(schema, 100)
    cache.add_episode(make_episode(10), "demo")
    assert Sampler(cache, 16, offline_fraction=0.5).sample()["offline"].all()
    cache = ReplayCache(schema, 100)
    cache.add_episode(make_episode(10), "policy")
    assert not Sampler(cache, 16, offline_fraction=0.5).sample()["offline"].any()
    with pytest.raises(RuntimeError, match="no transitions"):
        Sampler(ReplayCache(schema, 100)).sample()


def test_frame_stacking_repeats_the_first_frame_at_episode_start(schema, make_episode):
    cache = ReplayCache(schema, 100, n_step=2)
    cache.add_episode(tagged(make_episode, 5, 0, 0), "policy")
    cache.add_episode(tagged(make_episode, 7, 1, 5), "policy")
    b = Sampler(cache, 64, frame_stack=3, seed=0).sample()
    assert b["obs/images/wrist"].shape == (64, 3, 16, 16, 3) and b["obs/state"].shape == (64, 3, 5)
    for i, t in enumerate(b["index"].tolist()):
        start = 0 if t < 5 else 5
        want = [max(t - 2, start), max(t - 1, start), t]
        assert b["obs/state"][i, :, 0].tolist() == want
        np.testing.assert_array_equal(b["obs/images/front"][i].numpy(), cache.arrays["obs/images/front"][want])
        nxt = int(b["next_obs/state"][i, -1, 0])
        assert b["next_obs/state"][i, :, 0].tolist() == [max(nxt - 2, start), max(nxt - 1, start), nxt]


def test_batch_memory_is_reused_only_once_released(hand_cache):
    s = Sampler(hand_cache, 8, seed=0, pooled_batches=2)
    b1 = s.sample()
    ptr = b1["obs/images/wrist"].data_ptr()
    kept = {k: v.clone() for k, v in b1.items()}
    b2, b3 = s.sample(), s.sample()  # b1 is held: neither may use its memory
    assert ptr not in (b2["obs/images/wrist"].data_ptr(), b3["obs/images/wrist"].data_ptr())
    assert all(torch.equal(b1[k], kept[k]) for k in kept)
    view = b1["reward"][2:]  # a view of one tensor keeps the whole batch in use
    wrist = b1["obs/images/wrist"].numpy()
    del b1, b2, b3
    b4 = s.sample()
    assert b4["obs/images/wrist"].data_ptr() != ptr
    assert torch.equal(view, kept["reward"][2:]) and np.array_equal(wrist, kept["obs/images/wrist"].numpy())
    del view, wrist, b4
    assert s.sample()["obs/images/wrist"].data_ptr() == ptr  # released: reused
    fresh = Sampler(hand_cache, 8, seed=0, pooled_batches=0)
    fresh.sample()
    assert not fresh._memory[8]._slots  # nothing pooled: fresh memory every call


def test_pinned_memory_only_with_a_gpu(hand_cache):
    sampler = Sampler(hand_cache, 8)
    assert sampler.pin_memory == torch.cuda.is_available()
    if torch.cuda.is_available():
        assert sampler.sample()["obs/images/wrist"].is_pinned()
    else:
        assert not sampler.sample()["obs/images/wrist"].is_pinned()
