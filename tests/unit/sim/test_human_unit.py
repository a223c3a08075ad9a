"""The simulated human notices drift or a stall, reacts after a delay, drives until the task is back on track
(the phase it took over in is done), within its minimum and maximum hold, and drives at its skill."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_rl.actor.arbitration import arbitrate
from robot_rl.control.safety import SafetyLimits
from robot_rl.sim.env import TaskState
from robot_rl.sim.expert import ScriptedExpert, task_phase
from robot_rl.sim.harness.human import SimulatedHuman


@pytest.fixture()
def state() -> TaskState:
    """Reaching: the open gripper above the cube, away from it."""
    down = np.diag([1.0, -1.0, -1.0])
    return TaskState(tcp_pos=np.array([0.45, 0.0, 0.3]), tcp_mat=down, gripper_width=0.08,
                     cube_pos=np.array([0.5, 0.05, 0.02]), cube_quat=np.array([1.0, 0, 0, 0]),
                     target_pos=np.array([0.5, 0.2, 0.0]), cube_half_size=0.02)


@pytest.fixture()
def carrying(state) -> TaskState:
    """The cube held between closed fingers, lifted off the table."""
    return dataclasses.replace(state, tcp_pos=np.array([0.5, 0.05, 0.1]), cube_pos=np.array([0.5, 0.05, 0.1]),
                               gripper_width=0.039)


def _human(cfg, **kw) -> SimulatedHuman:
    hc = dataclasses.replace(cfg.human, **{"skill": 1.0, "reaction_steps": 0, **kw})
    return SimulatedHuman(hc, ScriptedExpert(cfg.expert, SafetyLimits.for_robot(cfg.robot)))


def test_the_phases(state, carrying):
    placed = dataclasses.replace(carrying, cube_pos=np.array([0.5, 0.2, 0.02]), tcp_pos=np.array([0.5, 0.2, 0.06]),
                                 gripper_width=0.08)
    assert [task_phase(s) for s in (state, carrying, placed)] == [0, 1, 2]


def test_agreeing_policy_is_left_alone(cfg, state):
    human = _human(cfg, stall_steps=1000)
    expert_action = human.expert.act(state)
    assert all(human.decide(state, expert_action) is None for _ in range(20))
    assert human.takeovers == 0


def test_drift_is_noticed_and_taken_over_after_the_reaction_time(cfg, state):
    human = _human(cfg, drift_patience=3, reaction_steps=2, stall_steps=1000)
    wrong = -human.expert.act(state)
    decisions = [human.decide(state, wrong) for _ in range(6)]
    # steps 1-3 drifting (noticed on the 3rd), 4-5 reacting while the policy still acts, 6 the human drives
    assert [d is None for d in decisions] == [True] * 5 + [False]
    np.testing.assert_allclose(decisions[-1], human.expert.act(state))
    assert human.takeovers == 1 and human.intervening


def test_the_human_keeps_control_until_the_task_is_back_on_track(cfg, state, carrying):
    human = _human(cfg, drift_patience=1, stall_steps=1000, min_takeover_steps=3, max_takeover_steps=1000)
    wrong = -human.expert.act(state)
    assert human.decide(state, wrong) is not None  # took over while reaching
    # however the policy behaves, the human keeps driving while the cube has not been picked up
    assert all(human.decide(state, human.expert.act(state)) is not None for _ in range(50))
    assert human.decide(carrying, wrong) is None  # picked up: back on track, handed back
    assert not human.intervening and human.takeovers == 1


def test_the_minimum_and_maximum_hold(cfg, state, carrying):
    human = _human(cfg, drift_patience=1, stall_steps=1000, min_takeover_steps=4, max_takeover_steps=6)
    wrong = -human.expert.act(state)
    # back on track at once, but held for the minimum
    held = [human.decide(s, wrong) is not None for s in (state, carrying, carrying, carrying, carrying)]
    assert held == [True, True, True, True, False]
    human.reset(0)
    held = [human.decide(state, wrong) is not None for _ in range(8)]  # never back on track: gives up at 6
    assert held[:7] == [True] * 6 + [False]


def test_stalled_progress_triggers_a_takeover(cfg, state):
    human = _human(cfg, stall_steps=5, drift_threshold=10.0)
    decisions = [human.decide(state, np.zeros(7, np.float32)) for _ in range(6)]
    assert [d is None for d in decisions] == [True] * 5 + [False]
    assert human.takeovers == 1


def test_skill_sets_the_noise_of_the_human_s_motion(cfg, state):
    exact = _human(cfg, skill=1.0)
    assert np.array_equal(exact.drive(state), exact.expert.act(state))
    clumsy = _human(cfg, skill=0.6)
    clumsy.reset(0)
    expert = clumsy.expert.act(state)
    offsets = np.array([clumsy.drive(state) - expert for _ in range(2000)])
    inside = np.abs(expert[:6]) < 0.5  # axes the [-1, 1] clip cannot touch
    assert np.allclose(offsets[:, :6][:, inside].std(axis=0), 0.2, atol=0.02)  # 0.5 x (1 - skill)
    assert np.all(offsets[:, 6] == 0)  # the gripper command is not noisy


def test_skill_out_of_range_is_rejected_by_key(cfg):
    from robot_rl.config.schema import ConfigValueError

    with pytest.raises(ConfigValueError, match=r"human\.skill"):
        dataclasses.replace(cfg.human, skill=1.5).validate("human")
    with pytest.raises(ConfigValueError, match=r"human\.max_takeover_steps"):
        dataclasses.replace(cfg.human, min_takeover_steps=9, max_takeover_steps=3).validate("human")


def test_disabled_human_never_intervenes(cfg, state):
    human = _human(cfg, enabled=False)
    assert human.decide(state, -human.expert.act(state)) is None


def test_arbitration_human_wins():
    policy, person = np.ones(7, np.float32), -np.ones(7, np.float32)
    assert arbitrate(policy, None)[1] is False
    executed, intervened = arbitrate(policy, person)
    assert intervened and np.array_equal(executed, person)


def test_a_gated_human_misses_drift_it_does_not_watch(cfg, state):
    human = _human(cfg, attention="gated", glance_rate=0.0, stall_steps=1000, drift_patience=1)
    wrong = -human.expert.act(state)
    assert all(human.decide(state, wrong) is None for _ in range(30)), "not asked, not glancing: it sees nothing"
    assert human.takeovers == 0 and human.attention_steps == 0


def test_asked_it_arrives_after_its_delay_then_takes_over_or_acknowledges(cfg, state):
    human = _human(cfg, attention="gated", glance_rate=0.0, call_delay_steps=3, stall_steps=1000, watch_steps=5)
    right, wrong = human.expert.act(state), -human.expert.act(state)
    assert [human.decide(state, wrong, asked=True) for _ in range(3)] == [None] * 3  # on its way
    assert human.attention_steps == 0
    assert human.decide(state, wrong, asked=True) is not None and human.takeovers == 1  # arrived: off track
    other = _human(cfg, attention="gated", glance_rate=0.0, call_delay_steps=0, stall_steps=1000, watch_steps=5)
    assert other.decide(state, right, asked=True) is None and other.acknowledged and other.acks == 1
    assert other.decide(state, right) is None and not other.acknowledged  # watching, nothing asked
    assert other.attention_steps == 2, "it watches on after acknowledging"


def test_always_watching_answers_a_request_at_once(cfg, state):
    human = _human(cfg, stall_steps=1000)
    assert human.decide(state, human.expert.act(state), asked=True) is None and human.acknowledged
    assert human.decide(state, -human.expert.act(state), asked=True) is not None  # off track: takes over now


def test_glances_come_at_their_rate(cfg, state):
    human = _human(cfg, attention="gated", glance_rate=0.05, watch_steps=1, stall_steps=10**6)
    right = human.expert.act(state)
    for _ in range(4000):
        human.decide(state, right)
    assert 0.035 < human.attention_steps / 4000 < 0.065  # one watched step per glance
