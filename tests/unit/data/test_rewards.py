from __future__ import annotations

import numpy as np
import pytest

from robot_rl.data.rewards import relabel_rewards, rlif_rewards, sparse_rewards

B = bool


def test_rlif_penalises_the_policy_step_before_each_takeover():
    #                     0  1  2  3  4  5  6  7
    intervened = np.array([0, 0, 1, 1, 0, 0, 1, 0], B)
    np.testing.assert_array_equal(rlif_rewards(intervened), [0, -1, 0, 0, 0, -1, 0, 0])


def test_rlif_no_penalty_without_a_policy_step_before():
    np.testing.assert_array_equal(rlif_rewards(np.array([1, 1, 0, 0], B)), [0, 0, 0, 0])
    np.testing.assert_array_equal(rlif_rewards(np.array([0, 0, 0], B)), [0, 0, 0])
    np.testing.assert_array_equal(rlif_rewards(np.array([], B)), [])


def test_sparse_rewards_success_steps():
    np.testing.assert_array_equal(sparse_rewards(np.array([0, 0, 1, 0], B)), [0, 0, 1, 0])


@pytest.mark.parametrize(("mode", "want"), [
    ("rlif", [-1, 0, 0, 0]),
    ("sparse", [0, 0, 1, 0]),
    ("both", [-1, 0, 1, 0]),
])
def test_modes(mode, want):
    intervened = np.array([0, 1, 0, 0], B)
    success = np.array([0, 0, 1, 0], B)
    out = relabel_rewards(mode, intervened, success)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, want)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        relabel_rewards("dense", np.zeros(2, B), np.zeros(2, B))
