"""Fuzz the safety layer and the rules that decide whether a command is sent at all.

``tests/unit/control/test_safety_properties.py`` covers wild numbers in well-shaped arrays; here the inputs
are anything a buggy caller could hand over (wrong shapes, strings, ragged lists, complex numbers, singular
or huge orientation matrices), plus the watchdog, the observation-age rule and arbitration. The property:
:class:`ActionError` (nothing is sent) or a command inside every limit; never another exception."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from robot_rl.actor.arbitration import arbitrate
from robot_rl.actor.observation import ObservationBuffer, StaleObservation
from robot_rl.control.rotations import rotation_angle
from robot_rl.control.safety import ActionError, SafetyLimits, Watchdog, check_action
from robot_rl.spec import ACTION_DIM, ACTION_NAMES
from tests.fuzz.conftest import fuzz

F32_MAX = float(np.finfo(np.float32).max)
wild = st.floats(allow_nan=True, allow_infinity=True)
numbers = st.one_of(st.floats(-2, 2), wild, st.integers(-(2**70), 2**70), st.booleans())

# Anything a caller might pass where an action is expected.
junk = st.one_of(
    st.none(), st.text(max_size=8), st.dictionaries(st.text(max_size=3), numbers, max_size=3),
    st.lists(numbers, max_size=9),
    st.lists(st.lists(numbers, max_size=3), max_size=8),  # ragged
    st.lists(st.sampled_from(["1", "x", "nan", "", "1e400"]), min_size=7, max_size=7),
    st.lists(st.complex_numbers(max_magnitude=2), min_size=7, max_size=7),
    arrays(st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.uint8, np.bool_]),
           array_shapes(min_dims=0, max_dims=3, max_side=8), elements=None),
    arrays(np.float64, 7, elements=wild),
    arrays(np.float64, 7, elements=st.floats(-1e300, 1e300)),
)
matrices = st.one_of(arrays(np.float64, (3, 3), elements=st.floats(-1e300, 1e300)),
                     arrays(np.float64, (3, 3), elements=st.floats(-2, 2)),
                     arrays(np.float64, (3, 3), elements=st.sampled_from([0.0, 1.0, -1.0])),  # singular ones
                     arrays(np.float64, (3, 3), elements=wild), junk)


@pytest.fixture(scope="module")
def limits(cfg) -> SafetyLimits:
    return SafetyLimits.for_robot(cfg.robot)


def _usable(value, shape: tuple[int, ...]) -> bool:
    """``value`` reads as a finite float64 array of ``shape``: what the safety layer can act on."""
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return False
    return arr.shape == shape and bool(np.isfinite(arr).all())


def _assert_inside(limits: SafetyLimits, cmd) -> None:
    assert cmd.action.shape == (7,) and cmd.action.dtype == np.float32 and np.all(np.abs(cmd.action) <= 1.0)
    assert np.all(cmd.target_pos >= limits.workspace_low) and np.all(cmd.target_pos <= limits.workspace_high)
    assert np.isfinite(cmd.target_mat).all()
    np.testing.assert_allclose(cmd.target_mat @ cmd.target_mat.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(cmd.target_mat) > 0
    assert rotation_angle(limits.reference_mat, cmd.target_mat) <= limits.max_from_reference + 1e-7
    assert -1.0 <= cmd.gripper <= 1.0


@fuzz(400)
@given(action=junk, pos=st.one_of(arrays(np.float64, 3, elements=st.floats(-1e300, 1e300)), junk), mat=matrices)
def test_any_input_is_refused_or_commands_inside_the_limits(limits: SafetyLimits, action, pos, mat):
    with np.errstate(all="ignore"):
        try:
            cmd = limits.command(action, pos, mat)
        except ActionError as exc:  # names the first input it cannot use, in the order checked
            first = next((name for name, value, shape in (("action", action, (7,)), ("current EE position", pos, (3,)),
                                                          ("current EE orientation", mat, (3, 3)))
                          if not _usable(value, shape)), None)
            assert first is not None and str(exc).startswith(first), f"{first!r} not named: {exc}"
            return
    _assert_inside(limits, cmd)


@fuzz(200)
@given(action=junk)
def test_check_action_returns_seven_finite_float32_or_says_why(action):
    try:
        arr = check_action(action)
    except ActionError as exc:
        assert str(exc).startswith("action") and not _usable(action, (ACTION_DIM,)), str(exc)
        try:
            with np.errstate(all="ignore"):
                arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            return
        if arr.shape == (ACTION_DIM,):  # numeric and the right shape: each non-finite component is named
            for i in np.flatnonzero(~np.isfinite(arr)):
                assert f"{ACTION_NAMES[i]}=" in str(exc), f"{ACTION_NAMES[i]} not named: {exc}"
        return
    assert _usable(action, (ACTION_DIM,))
    assert arr.shape == (ACTION_DIM,) and arr.dtype == np.float32 and np.isfinite(arr).all()


@fuzz(200)
@given(force=st.one_of(wild, st.integers(-(2**70), 2**70), junk), q=junk)
def test_gripper_force_and_joint_targets_stay_in_range(limits: SafetyLimits, force, q):
    try:
        value, _ = limits.clip_gripper_force(force)
        assert 0.0 <= value <= limits.max_gripper_force
    except ActionError as exc:
        assert str(exc).startswith("gripper force") and not _usable(force, ()), str(exc)
    try:
        clipped, _ = limits.clip_joints(q)
        assert np.all(clipped >= limits.joint_low) and np.all(clipped <= limits.joint_high)
    except ActionError as exc:
        assert str(exc).startswith("joint target") and not _usable(q, (7,)), str(exc)


@fuzz(200)
@given(policy=junk, human=st.one_of(st.none(), junk))
def test_arbitration_hands_on_a_checked_action_or_names_whose_is_broken(policy, human):
    try:
        executed, intervened = arbitrate(policy, human)
    except ActionError as exc:
        assert str(exc).startswith("policy action" if human is None else "human action")
        return
    assert intervened is (human is not None)
    assert executed.shape == (7,) and executed.dtype == np.float32 and np.isfinite(executed).all()


# ---------------------------------------------------------------------------------------------- watchdog
@fuzz(200)
@given(timeout=st.floats(1e-3, 10), ops=st.lists(st.tuples(st.sampled_from(["feed", "disarm", "check", "wait"]),
                                                            st.floats(0, 20)), max_size=40))
def test_watchdog_trips_exactly_once_per_lapse(timeout: float, ops: list[tuple[str, float]]):
    """Against a model: armed by feed, tripped once when the last feed is older than the timeout."""
    clock = [0.0]
    dog = Watchdog(timeout, clock=lambda: clock[0])
    last, tripped, trips = None, False, 0
    for op, dt in ops:
        if op == "wait":
            clock[0] += dt
        elif op == "feed":
            dog.feed()
            last, tripped = clock[0], False
        elif op == "disarm":
            dog.disarm()
            last, tripped = None, False
        else:
            want = last is not None and not tripped and clock[0] - last > timeout
            assert dog.check() is want
            tripped, trips = tripped or want, trips + int(want)
        assert dog.armed is (last is not None)
        assert dog.age() == (math.inf if last is None else clock[0] - last)
    assert dog.trips == trips


@fuzz(30)
@given(timeout=st.one_of(st.floats(max_value=0.0), st.just(float("nan"))))
def test_watchdog_refuses_a_timeout_that_could_never_trip(timeout: float):
    with pytest.raises(ValueError, match="timeout"):
        Watchdog(timeout)


# ------------------------------------------------------------------------------------ observation age
stamps = st.one_of(st.floats(-5, 15), wild)


@fuzz(300)
@given(max_age=st.floats(0.01, 1.0),
       puts=st.lists(st.tuples(st.sampled_from(["state", "images/wrist", "other"]), stamps), max_size=12),
       now=st.one_of(st.floats(-5, 15), wild), newer_than=st.one_of(st.floats(-5, 15), st.just(-math.inf), wild))
def test_the_actor_never_acts_on_an_old_unknown_or_future_observation(max_age, puts, now, newer_than):
    """Whatever stamps arrive, an assembled observation holds, per key, the newest finite-stamped sample,
    and each is at most ``max_age`` old, not from the future, and newer than ``newer_than``; else
    :class:`StaleObservation` names the key."""
    keys = ("state", "images/wrist")
    buf = ObservationBuffer(keys, max_age)
    newest: dict[str, float] = {}
    for i, (key, stamp) in enumerate(puts):
        accepted = buf.put(key, np.full(2, i), stamp)
        assert accepted is (math.isfinite(stamp) and stamp >= newest.get(key, -math.inf))
        if accepted:
            newest[key] = stamp
    try:
        obs, oldest = buf.assemble(now, newer_than)
    except StaleObservation as exc:  # names the first key, in order, that is missing or not usable now
        first = next(k for k in keys if k not in newest or not (-max_age <= now - newest[k] <= max_age
                                                                   and newest[k] > newer_than))
        assert exc.key == first and str(exc).startswith(f"{first}: "), f"{first!r} not named: {exc}"
        return
    assert set(obs) == set(keys)
    for key in keys:
        stamp = newest[key]
        assert math.isfinite(now) and -max_age <= now - stamp <= max_age and stamp > newer_than
        assert obs[key][0] == max(i for i, (k, s) in enumerate(puts) if k == key and s == stamp)
    assert oldest == min(newest[k] for k in keys)


def test_a_future_stamped_sample_is_refused_and_does_not_block_the_real_ones():
    """Found by this suite: a sample stamped in the future passed every age check and, since an older sample
    never replaces a newer one, froze the observation the actor acted on."""
    buf = ObservationBuffer(["state"], max_age_s=0.1)
    buf.put("state", np.zeros(1), 1e6)  # a peer with a wrong clock
    buf.put("state", np.ones(1), 10.0)  # refused: older than what is held
    with pytest.raises(StaleObservation, match="future"):
        buf.assemble(10.05)
    assert buf.put("state", np.ones(1), 10.06)  # the future sample is gone: real ones get through again
    assert buf.assemble(10.1)[0]["state"][0] == 1.0


def test_a_nan_stamp_is_dropped_not_treated_as_fresh():
    """Found by this suite: NaN failed the ``age > max_age`` test, so a NaN-stamped sample counted as fresh."""
    buf = ObservationBuffer(["state"], max_age_s=0.1)
    assert not buf.put("state", np.zeros(1), float("nan"))
    with pytest.raises(StaleObservation, match="never received"):
        buf.assemble(1.0)
    buf.put("state", np.zeros(1), 1.0)
    with pytest.raises(StaleObservation, match=r"^state: "):
        buf.assemble(float("nan"))
