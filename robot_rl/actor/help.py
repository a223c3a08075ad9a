"""The robot asks for help when it is unsure, so a person need not watch every minute.

Every control tick a *gate* scores the step about to be taken (>= 1: ask; NaN: cannot be judged, which asks
too, never trusts), and :class:`HelpResponse` grades what the actor does with it:

- **normal**: the policy's action as it is;
- **caution**: the motion scaled by ``help.caution_scale`` (smaller steps while unsure);
- **ask**: the arm holds still (a deliberate zero-motion command, the gripper kept as it is) and a help request
  goes out; it stays held until the person takes over or acknowledges, after which no new request comes for
  ``help.cooldown_steps`` (caution still applies).

Gates (``help.gate``): ``score`` (the critics' disagreement, the observation's novelty and a low value, against
the learner's calibration: :mod:`robot_rl.policies.help_model`); ``thrifty`` (ThriftyDAgger's, Hoque et al.
2021: the spread of the policy's action over image-shifted copies of the observation, plus a low value,
calibrated on the actor's own recent steps); ``random`` (at the budget's rate, for comparison); ``off``.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

import numpy as np
import torch

from robot_rl.actor.policy import PolicyOutput, ResidualPolicy
from robot_rl.config.help import HelpConfig
from robot_rl.policies.help_model import PARTS, Calibration
from robot_rl.spec import ACTION_DIM, GRIPPER

log = logging.getLogger(__name__)


class HelpLevel(IntEnum):
    normal = 0
    caution = 1
    ask = 2


@dataclass(frozen=True)
class GateScore:
    score: float  # >= 1 asks; >= caution_at slows down; NaN: cannot be judged (asks)
    caution_at: float
    parts: dict[str, float]
    why: str = ""  # why the score could not be computed


@dataclass(frozen=True)
class HelpStep:
    """This tick's verdict: what the actor does and what it records and publishes."""

    level: HelpLevel
    score: float
    parts: dict[str, float]
    request: bool = False  # a new help request starts this tick
    reason: str = ""

    @property
    def asking(self) -> bool:
        return self.level is HelpLevel.ask


NOT_ASKED = HelpStep(HelpLevel.normal, 0.0, {})


class Gate(Protocol):
    name: str

    def score(self, obs: Mapping[str, np.ndarray], out: PolicyOutput) -> GateScore: ...


class ScoreGate:
    """Ours: the help model the learner sends with the weights (critics, novelty bank, calibration)."""

    name = "score"

    def __init__(self, policy: ResidualPolicy) -> None:
        self.policy = policy

    def score(self, obs: Mapping[str, np.ndarray], out: PolicyOutput) -> GateScore:
        model = self.policy.help_model
        if model is None or out.features is None:
            return GateScore(math.nan, 1.0, {}, f"weights v{self.policy.version} carry no critics or calibration")
        action = torch.from_numpy(out.action)[None].to(out.features.device)
        score, parts = model.score(out.features, action)
        return GateScore(float(score[0]), float(model.calibration.caution_at),
                         dict(zip(PARTS, parts[0].tolist(), strict=True)))


class RollingCalibration:
    """A :class:`Calibration` refitted on the last ``window`` ordinary policy steps (the thrifty gate's)."""

    def __init__(self, cfg: HelpConfig, parts: int) -> None:
        self.cfg = cfg
        self.values: deque[np.ndarray] = deque(maxlen=cfg.calibration_rows)
        self.calibration = Calibration(parts)
        self.fitted = False
        self._since = 0

    def add(self, parts: np.ndarray) -> None:
        self.values.append(parts)
        self._since += 1
        if len(self.values) >= min(64, self.cfg.calibration_rows) and (not self.fitted or self._since >= 50):
            self.calibration.fit(torch.from_numpy(np.stack(self.values)), self.cfg.budget, self.cfg.caution_budget)
            self.fitted, self._since = True, 0

    def score(self, parts: np.ndarray) -> float:
        return float(self.calibration(torch.from_numpy(parts)[None])[0]) if self.fitted else math.nan


class ThriftyGate:
    """ThriftyDAgger's two tests, at our budget: novelty as the variance of an action ensemble (here the policy
    on ``help.shift_samples`` randomly shifted copies of the images) and risk as a low Q (our critics)."""

    name = "thrifty"

    def __init__(self, policy: ResidualPolicy, cfg: HelpConfig) -> None:
        self.policy, self.cfg = policy, cfg
        self.rolling = RollingCalibration(cfg, 2)

    def score(self, obs: Mapping[str, np.ndarray], out: PolicyOutput) -> GateScore:
        model = self.policy.help_model
        if model is None or out.features is None:
            return GateScore(math.nan, 1.0, {}, f"weights v{self.policy.version} carry no critics")
        spread = float(self.policy.shifted_actions(obs, self.cfg.shift_samples, self.cfg.shift_pad).std(0).mean())
        risk = -float(model.q(out.features, torch.from_numpy(out.action)[None].to(out.features.device)).mean())
        parts = np.array([spread, risk], dtype=np.float32)
        fitted, score = self.rolling.fitted, self.rolling.score(parts)  # judged by what came before it
        self.rolling.add(parts)
        named = {"action_spread": spread, "risk": risk}
        if not fitted:
            return GateScore(math.nan, 1.0, named, "calibrating on the first policy steps")
        return GateScore(score, float(self.rolling.calibration.caution_at), named)


class RandomGate:
    """Requests at random, at the budget's rate: what a gate that knows nothing achieves."""

    name = "random"

    def __init__(self, cfg: HelpConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)

    def score(self, obs: Mapping[str, np.ndarray], out: PolicyOutput) -> GateScore:
        return GateScore(float(self.rng.random()) / (1.0 - self.cfg.budget),
                         (1.0 - self.cfg.caution_budget) / (1.0 - self.cfg.budget), {})


def make_gate(cfg: HelpConfig, policy: ResidualPolicy, seed: int = 0) -> Gate | None:
    if cfg.gate == "score":
        return ScoreGate(policy)
    if cfg.gate == "thrifty":
        return ThriftyGate(policy, cfg)
    if cfg.gate == "random":
        return RandomGate(cfg, seed)
    return None


def make_response(cfg: HelpConfig, policy: ResidualPolicy, seed: int = 0) -> HelpResponse:
    """The graded response with ``help.gate``'s gate (none with ``off``: every step normal, nothing recorded)."""
    return HelpResponse(make_gate(cfg, policy, seed), cfg)


class HelpResponse:
    """The graded response around a gate: normal -> caution -> ask (hold) -> normal on a take-over or an
    acknowledgement. One per actor; :meth:`reset` at every episode start."""

    def __init__(self, gate: Gate | None = None, cfg: HelpConfig | None = None) -> None:
        self.gate, self.cfg = gate, cfg or HelpConfig()
        self.asking = False
        self.requests = 0
        self._cooldown = 0
        self._said: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.gate is not None

    def reset(self) -> None:
        self.asking, self._cooldown = False, 0

    def acknowledge(self) -> None:
        """The person saw the request and lets the policy go on."""
        if self.asking:
            self.asking = False
            self._cooldown = self.cfg.cooldown_steps

    def step(self, obs: Mapping[str, np.ndarray], out: PolicyOutput, intervening: bool) -> HelpStep:
        """Score the step about to be taken and decide the level. While the person drives, nothing is asked
        (the score is still recorded), and their hand-back starts a cool-down."""
        if self.gate is None:
            return NOT_ASKED
        g = self.gate.score(obs, out)
        if intervening:
            self.asking, self._cooldown = False, self.cfg.cooldown_steps
            return HelpStep(HelpLevel.normal, g.score, g.parts, reason="the person drives")
        if self.asking:
            return HelpStep(HelpLevel.ask, g.score, g.parts, reason="waiting for the person")
        judged = math.isfinite(g.score)
        if not judged and g.why not in self._said:
            self._said.add(g.why)
            log.warning("help gate %s cannot judge this step (%s): asking for help rather than trusting the policy",
                        self.gate.name, g.why)
        if self._cooldown > 0:
            self._cooldown -= 1
            level = HelpLevel.caution if not judged or g.score >= g.caution_at else HelpLevel.normal
            return HelpStep(level, g.score, g.parts, reason="cool-down after the person looked")
        if not judged or g.score >= 1.0:
            self.asking = True
            self.requests += 1
            reason = g.why if not judged else "unsure: " + ", ".join(f"{k} {v:.3g}" for k, v in g.parts.items())
            return HelpStep(HelpLevel.ask, g.score, g.parts, request=True, reason=reason)
        if g.score >= g.caution_at:
            return HelpStep(HelpLevel.caution, g.score, g.parts, reason="unsure: slower")
        return HelpStep(HelpLevel.normal, g.score, g.parts)

    def apply(self, action: np.ndarray, level: HelpLevel, gripper: float) -> np.ndarray:
        """The action the level allows: scaled motion in caution; in ask, zero motion with ``gripper`` (the last
        executed gripper command, so a held cube stays held)."""
        if level is HelpLevel.normal:
            return action
        out = np.array(action, dtype=np.float32)
        if level is HelpLevel.caution:
            out[:GRIPPER] *= self.cfg.caution_scale
            return out
        out = np.zeros(ACTION_DIM, dtype=np.float32)
        out[GRIPPER] = gripper
        return out
