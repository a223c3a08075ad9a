"""The help gate without ROS: calibration, the graded response in the actor's tick (caution scales, ask holds with
zero motion until a take-over or an acknowledgement, NaN asks), the store's help fields, and the help model
travelling in the residual bundle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robot_rl.actor.help import GateScore, HelpLevel, HelpResponse, RandomGate
from robot_rl.actor.policy import PolicyOutput
from robot_rl.actor.tick import GraphActor
from robot_rl.config import load_config
from robot_rl.config.help import HelpConfig
from robot_rl.control.safety import SafetyLimits
from robot_rl.data.row_schema import RowSchema
from robot_rl.policies import bundle as bundles
from robot_rl.policies.help_model import Calibration, HelpModel, attach, split_bundle
from robot_rl.policies.residual import CriticEnsemble, ResidualActor
from tests.unit.actor.test_tick import FakePolicy, FakeWriter, _buffer, _start


class ScriptedGate:
    """Scores given in advance, one per step."""

    name = "scripted"

    def __init__(self, scores: list[float], caution_at: float = 0.5) -> None:
        self.scores, self.caution_at = list(scores), caution_at

    def score(self, obs, out) -> GateScore:
        return GateScore(self.scores.pop(0), self.caution_at, {"disagreement": 0.1})


def _actor(scores: list[float], cooldown: int = 2) -> tuple[GraphActor, FakeWriter]:
    cfg = load_config([])
    writer = FakeWriter()
    response = HelpResponse(ScriptedGate(scores), HelpConfig(gate="score", cooldown_steps=cooldown, caution_scale=0.5))
    actor = GraphActor(FakePolicy(), SafetyLimits.for_robot(cfg.robot), max_steps=50, writer=writer, seed=1,
                       help=response)
    return actor, writer


def test_calibration_asks_on_the_budget_of_its_own_steps():
    parts = torch.from_numpy(np.random.default_rng(0).normal(size=(1000, 3)).astype(np.float32))
    cal = Calibration().fit(parts, budget=0.05, caution_budget=0.2)
    score = cal(parts)
    assert abs(float((score >= 1).float().mean()) - 0.05) <= 0.002
    assert abs(float((score >= cal.caution_at).float().mean()) - 0.2) <= 0.002
    far = torch.tensor([[0.0, 8.0, 0.0]])  # one part far out is enough
    assert float(cal(far)) > 1.0


def test_the_tick_grades_its_steps_normal_caution_ask_and_resumes_on_an_acknowledgement():
    actor, writer = _actor([0.1, 0.7, math.nan, 0.1, 0.1, 5.0, 0.1, 0.1, 0.1])  # one score per policy step
    _start(actor, 1, 0.0)  # score 0.1: normal
    out = actor.tick(_buffer(0.2), 0.2)  # 0.7: caution, the motion halved
    np.testing.assert_allclose(out.command[:6], 0.125)
    assert out.help.level is HelpLevel.caution and out.command[6] == pytest.approx(0.25)
    out = actor.tick(_buffer(0.3), 0.3)  # NaN: cannot judge -> ask, never trust
    assert out.help.request and out.help.asking and "holding for help" in out.reason
    np.testing.assert_array_equal(out.command[:6], 0.0)
    assert out.command[6] == pytest.approx(0.25), "the gripper keeps its last command while holding"
    out = actor.tick(_buffer(0.4), 0.4)  # still held, whatever the score
    assert out.help.asking and not out.help.request and np.all(out.command[:6] == 0)
    actor.on_event("ack")
    out = actor.tick(_buffer(0.5), 0.5)  # 0.1 during the cool-down: normal again
    assert out.help.level is HelpLevel.normal and out.command[0] == pytest.approx(0.25)
    out = actor.tick(_buffer(0.6), 0.6)  # 5.0 but still cooling down: caution, no request
    assert out.help.level is HelpLevel.caution and not out.help.request
    assert actor.stats.help_requests == 1 and actor.stats.held_for_help == 2
    rows = [c[1] for c in writer.calls if c[0] == "row"]
    assert [int(r["help_level"]) for r in rows] == [0, 1, 2, 2, 0]
    assert np.isnan(rows[2]["help_score"]) and rows[1]["help_score"] == pytest.approx(0.7)


def test_a_take_over_ends_a_request_and_the_human_is_never_held():
    actor, _ = _actor([0.1, 3.0, 3.0, 3.0, 3.0], cooldown=5)
    _start(actor, 1, 0.0)
    assert actor.tick(_buffer(0.2), 0.2).help.asking
    actor.on_event("takeover")
    human = np.array([0.5, 0, 0, 0, 0, 0, 1], np.float32)
    out = actor.tick(_buffer(0.3), 0.3, human_action=human)
    np.testing.assert_array_equal(out.command, human)  # the human's command, unscaled
    assert out.help.level is HelpLevel.normal
    actor.on_event("handback")
    out = actor.tick(_buffer(0.4), 0.4)
    assert not out.help.asking and out.help.level is HelpLevel.caution, "a hand-back starts a cool-down"


def test_a_new_episode_forgets_a_pending_request():
    actor, _ = _actor([0.1, 3.0, 0.1, 0.1])
    _start(actor, 1, 0.0)
    assert actor.tick(_buffer(0.2), 0.2).help.asking
    actor.on_event("reset")
    assert actor.tick(_buffer(0.3), 0.3).reset_seed == 2  # the episode ends (truncated by the reset key)
    assert not actor.help.asking
    actor.on_reset_done(2, 0.35)
    out = actor.tick(_buffer(0.4), 0.4)  # score 0.1: the new episode acts at once
    assert out.command is not None and out.help.level is HelpLevel.normal


def test_random_gate_asks_at_the_budget():
    gate = RandomGate(HelpConfig(gate="random", budget=0.1, caution_budget=0.3), seed=0)
    scores = np.array([gate.score({}, None).score for _ in range(20_000)])
    assert abs((scores >= 1).mean() - 0.1) < 0.01
    assert abs((scores >= gate.score({}, None).caution_at).mean() - 0.3) < 0.015


def test_help_fields_are_optional_both_ways():
    with_help = RowSchema(cameras=("front",), image_hw=(4, 4), state_dim=3, help=True)
    without = RowSchema(cameras=("front",), image_hw=(4, 4), state_dim=3)
    row = {k: np.zeros(s.shape, s.dtype) for k, s in without.fields.items()}
    filled = with_help.validate(row)
    assert np.isnan(filled["help_score"]) and filled["help_level"] == 0
    dropped = without.validate({**row, "help_score": np.float32(2.0), "help_level": np.int8(2)})
    assert "help_score" not in dropped
    assert with_help.validate({**row, "help_score": np.float32("nan"), "help_level": 2})["help_level"] == 2
    assert without.same_but_optional(with_help) and RowSchema.from_json(with_help.to_json()) == with_help
    assert "help" not in without.to_json(), "stores written before the help fields keep their exact attributes"


def test_an_older_store_takes_rows_with_help_fields(tmp_path):
    from robot_rl.data.replay_store import ReplayStore

    old = RowSchema(cameras=("front",), image_hw=(4, 4), state_dim=3)
    ReplayStore.create(tmp_path / "s.zarr", old).close()
    with ReplayStore.open_or_create(tmp_path / "s.zarr", RowSchema(cameras=("front",), image_hw=(4, 4), state_dim=3,
                                                                   help=True)) as store:
        assert store.schema == old


def _help_model(obs_dim: int = 6) -> HelpModel:
    torch.manual_seed(0)
    critic = CriticEnsemble(obs_dim, 3, 16)
    bank = torch.randn(64, obs_dim)
    cal = torch.randn(32, obs_dim)
    return HelpModel.build(critic, bank, cal, torch.zeros(32, 7), budget=0.1, caution_budget=0.2)


def test_the_help_model_travels_in_the_residual_bundle_and_an_actor_only_bundle_still_loads():
    actor = ResidualActor(6, 16)
    model = _help_model()
    data = bundles.to_bytes(attach(actor.to_bundle(4), model))
    own, loaded = split_bundle(bundles.from_bytes(data, kind="residual"))
    assert ResidualActor.from_bundle(own).obs_dim == 6
    x, a = torch.randn(5, 6), torch.zeros(5, 7)
    torch.testing.assert_close(loaded.score(x, a)[0], model.score(x, a)[0])
    own, none = split_bundle(bundles.from_bytes(bundles.to_bytes(actor.to_bundle(5)), kind="residual"))
    assert none is None and ResidualActor.from_bundle(own).obs_dim == 6


def test_a_help_part_that_does_not_fit_is_refused():
    b = attach(ResidualActor(6, 16).to_bundle(1), _help_model())
    b.state_dict["help.bank"] = torch.zeros(64, 5)
    with pytest.raises(bundles.BundleError, match="help"):
        split_bundle(bundles.from_bytes(bundles.to_bytes(b), kind="residual"))


def test_a_nan_score_is_a_request_not_a_crash():
    model = _help_model()
    with torch.no_grad():
        model.critic.net[0].weight.fill_(float("nan"))

    class Policy:
        version, help_model = 3, model

    from robot_rl.actor.help import ScoreGate

    out = PolicyOutput(np.zeros(7, np.float32), np.zeros(7, np.float32), np.zeros(7, np.float32),
                       torch.zeros(1, 6))
    response = HelpResponse(ScoreGate(Policy()), HelpConfig(gate="score"))
    step = response.step({}, out, intervening=False)
    assert step.request and step.asking and math.isnan(step.score)
