"""Property tests: no input, however wild, makes the safety layer emit a command outside its limits.

Every call either raises :class:`ActionError` (refused: nothing is sent) or returns a command inside
the workspace box, the orientation cone, the action range, the joint box and the force range.

Derandomized, as the fuzz suite (``tests/fuzz/conftest.py``): every run tries the same examples, so a failure
reproduces and a pass is not a lucky draw; settings in one place, :func:`properties`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from robot_rl.control.rotations import rotation_angle, rotvec_to_mat
from robot_rl.control.safety import ActionError, SafetyLimits

EPS = 1e-9
settings.register_profile("safety_properties", derandomize=True, database=None, deadline=None, print_blob=True)


def properties(max_examples: int) -> settings:
    """The derandomized profile with this test's example count."""
    return settings(settings.get_profile("safety_properties"), max_examples=max_examples)


wild = st.floats(allow_nan=True, allow_infinity=True, width=64)
big = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def _limits(cfg, **changes) -> SafetyLimits:
    return SafetyLimits.for_robot(dataclasses.replace(cfg.robot, **changes))


@pytest.fixture(scope="module")
def limits(cfg) -> SafetyLimits:
    return _limits(cfg, max_rotation_from_reference=0.6, max_ee_step=0.025, max_ee_rot_step=0.1)


def _assert_inside(limits: SafetyLimits, cmd) -> None:
    assert cmd.action.dtype == np.float32 and np.all(np.abs(cmd.action) <= 1.0)
    assert np.all(cmd.target_pos >= limits.workspace_low - EPS)
    assert np.all(cmd.target_pos <= limits.workspace_high + EPS)
    assert np.isfinite(cmd.target_mat).all()
    np.testing.assert_allclose(cmd.target_mat @ cmd.target_mat.T, np.eye(3), atol=1e-9)
    assert rotation_angle(limits.reference_mat, cmd.target_mat) <= limits.max_from_reference + 1e-7
    assert -1.0 <= cmd.gripper <= 1.0


@properties(300)
@given(action=arrays(np.float64, 7, elements=wild), pos=arrays(np.float64, 3, elements=wild),
       rotvec=arrays(np.float64, 3, elements=wild))
def test_no_input_escapes_the_limits(limits, action, pos, rotvec):
    with np.errstate(all="ignore"):
        mat = rotvec_to_mat(rotvec)  # non-finite or overflowing vectors give a NaN matrix: also an input
    try:
        cmd = limits.command(action, pos, mat)
    except ActionError:
        assert not (np.isfinite(action).all() and np.isfinite(pos).all() and np.isfinite(mat).all())
        return
    _assert_inside(limits, cmd)


@properties(300)
@given(action=arrays(np.float64, 7, elements=big), frac=arrays(np.float64, 3, elements=st.floats(0, 1)),
       tilt=arrays(np.float64, 3, elements=st.floats(-0.5, 0.5)))
def test_steps_from_inside_respect_the_speed_limits(limits, action, frac, tilt):
    pos = limits.workspace_low + frac * (limits.workspace_high - limits.workspace_low)
    mat = limits.reference_mat @ rotvec_to_mat(tilt * 0.6 / max(0.6, np.linalg.norm(tilt) + 1e-9))
    cmd = limits.command(action, pos, mat)
    _assert_inside(limits, cmd)
    assert np.linalg.norm(cmd.target_pos - pos) <= limits.max_step + EPS
    assert rotation_angle(mat, cmd.target_mat) <= limits.max_rot_step + 1e-7


@properties(100)
@given(q=arrays(np.float64, 7, elements=wild))
def test_joint_targets_stay_in_the_joint_box(limits, q):
    try:
        clipped, idx = limits.clip_joints(q)
    except ActionError:
        assert not np.isfinite(q).all()
        return
    assert np.all(clipped >= limits.joint_low) and np.all(clipped <= limits.joint_high)
    assert set(idx) == {i for i in range(7) if not limits.joint_low[i] <= q[i] <= limits.joint_high[i]}


@properties(100)
@given(force=wild)
def test_gripper_force_stays_in_range(limits, force):
    try:
        clipped, was = limits.clip_gripper_force(force)
    except ActionError:
        assert not np.isfinite(force)
        return
    assert 0.0 <= clipped <= limits.max_gripper_force
    assert was == (not 0.0 <= force <= limits.max_gripper_force)


def test_clipping_is_reported_by_name(limits):
    down = limits.reference_mat
    cmd = limits.command([1, 1, 1, 0, 0, 0, 0], np.array([0.5, 0.0, 0.2]), down)
    assert cmd.clip.limits == ("translation_speed",)
    np.testing.assert_allclose(np.linalg.norm(cmd.target_pos - [0.5, 0.0, 0.2]), limits.max_step)
    tilted = down @ rotvec_to_mat([0.59, 0, 0])
    cmd = limits.command([0, 0, 0, 1, 0, 0, 0], np.array([0.5, 0.0, 0.2]), tilted)
    assert "rotation_range" in cmd.clip.limits and cmd.clip.clipped
    cmd = limits.command([0, 0, 0, 0, 0, 0, 0], np.array([0.5, 0.0, 0.2]), down)
    assert not cmd.clip.clipped


def test_out_of_box_pose_is_pulled_back_in(limits):
    cmd = limits.command(np.zeros(7), np.array([2.0, 0.0, -1.0]), limits.reference_mat)
    assert cmd.clip.workspace_axes == ("x", "z")
    np.testing.assert_allclose(cmd.target_pos, [limits.workspace_high[0], 0.0, limits.workspace_low[2]])


def test_default_sim_limits_do_not_bind_on_unit_actions(cfg):
    """The norm and cone limits are off by default (the sim expert was tuned without them)."""
    limits = SafetyLimits.for_robot(cfg.robot)
    mat = rotvec_to_mat([0.3, -2.5, 0.4])
    cmd = limits.command(np.ones(7), np.array([0.5, 0.0, 0.2]), mat)
    assert cmd.clip.limits == ()
