"""The simulated human takes over when the policy drifts or stalls, for a while, then hands back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_rl.control.safety import SafetyLimits
from robot_rl.rl.arbitration import arbitrate
from robot_rl.rl.human import SimulatedHuman
from robot_rl.sim.env import TaskState
from robot_rl.sim.expert import ScriptedExpert


@pytest.fixture()
def state() -> TaskState:
    down = np.diag([1.0, -1.0, -1.0])
    return TaskState(tcp_pos=np.array([0.45, 0.0, 0.3]), tcp_mat=down, gripper_width=0.08,
                     cube_pos=np.array([0.5, 0.05, 0.02]), cube_quat=np.array([1.0, 0, 0, 0]),
                     target_pos=np.array([0.5, 0.2, 0.0]), cube_half_size=0.02)


def _human(cfg, **kw) -> SimulatedHuman:
    hc = dataclasses.replace(cfg.human, noise_std=0.0, **kw)
    return SimulatedHuman(hc, ScriptedExpert(cfg.expert, SafetyLimits(cfg.robot)))


def test_agreeing_policy_is_left_alone(cfg, state):
    human = _human(cfg, stall_steps=1000)
    expert_action = human.expert.act(state)
    assert all(human.decide(state, expert_action) is None for _ in range(20))
    assert human.takeovers == 0


def test_drifting_policy_triggers_a_takeover_of_fixed_length(cfg, state):
    human = _human(cfg, drift_patience=3, takeover_steps=4, stall_steps=1000)
    wrong = -human.expert.act(state)
    decisions = [human.decide(state, wrong) for _ in range(6)]
    assert [d is None for d in decisions] == [True, True, False, False, False, False]
    np.testing.assert_allclose(decisions[2], human.expert.act(state))
    assert human.takeovers == 1
    assert human.decide(state, human.expert.act(state)) is None  # handed back


def test_stalled_progress_triggers_a_takeover(cfg, state):
    human = _human(cfg, stall_steps=5, drift_threshold=10.0)
    decisions = [human.decide(state, np.zeros(7, np.float32)) for _ in range(6)]
    assert decisions[-1] is not None and human.takeovers == 1


def test_disabled_human_never_intervenes(cfg, state):
    human = _human(cfg, enabled=False)
    assert human.decide(state, -human.expert.act(state)) is None


def test_arbitration_human_wins():
    policy, person = np.ones(7, np.float32), -np.ones(7, np.float32)
    assert arbitrate(policy, None)[1] is False
    executed, intervened = arbitrate(policy, person)
    assert intervened and np.array_equal(executed, person)
