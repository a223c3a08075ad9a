"""Action checking and clipping, the one gate in front of every arm."""

from __future__ import annotations

import numpy as np
import pytest

from robot_rl.control.safety import ActionError, SafetyLimits, check_action


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros(6), r"shape \(7,\)"),
        (np.zeros((1, 7)), r"shape \(7,\)"),
        ([0, 0, np.nan, 0, 0, 0, 0], "dz=nan"),
        ([0, 0, 0, 0, 0, 0, np.inf], "gripper=inf"),
        (["a"] * 7, "numeric"),
    ],
)
def test_malformed_actions_are_refused(action, message):
    with pytest.raises(ActionError, match=message):
        check_action(action)


def test_out_of_range_actions_are_clipped_and_reported(cfg):
    limits = SafetyLimits.for_robot(cfg.robot)
    clipped, dims = limits.clip_action([2.0, 0, -5.0, 0, 0, 0.3, 1.0])
    assert clipped.dtype == np.float32
    np.testing.assert_allclose(clipped, [1, 0, -1, 0, 0, 0.3, 1])
    assert dims == ("dx", "dz")
    _, none = limits.clip_action(np.zeros(7))
    assert none == ()


def test_workspace_box_clips_positions(cfg):
    limits = SafetyLimits.for_robot(cfg.robot)
    pos, axes = limits.clip_position(np.array([5.0, 0.0, -1.0]))
    assert axes == ("x", "z")
    np.testing.assert_allclose(pos, [cfg.robot.workspace_high[0], 0.0, cfg.robot.workspace_low[2]])


def test_scale_maps_unit_action_to_per_step_limits(cfg):
    limits = SafetyLimits.for_robot(cfg.robot)
    dpos, drot, grip = limits.scale(np.array([1, -1, 0.5, 1, 0, 0, -1], dtype=np.float32))
    np.testing.assert_allclose(dpos, np.array([1, -1, 0.5]) * cfg.robot.max_translation_per_step)
    np.testing.assert_allclose(drot, np.array([1, 0, 0]) * cfg.robot.max_rotation_per_step)
    assert grip == -1.0
