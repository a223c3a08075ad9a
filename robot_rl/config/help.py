"""Config of the help gate: when the actor, unsure, slows down or holds still and asks a person
(:mod:`robot_rl.actor.help`), and how the learner calibrates it (:mod:`robot_rl.policies.help_model`)."""

from __future__ import annotations

from dataclasses import dataclass

from robot_rl.config.checks import check

HELP_GATES = ("score", "thrifty", "random", "off")


@dataclass
class HelpConfig:
    """``gate``: ``score`` (ours: the critic ensemble's disagreement on the action about to be sent, the
    observation's distance to what the residual was trained on, and a low value, each against the learner's
    calibration), ``thrifty`` (ThriftyDAgger's gate, Hoque et al. 2021: the spread of the policy's action
    under image shifts, plus a low value), ``random`` (requests at the budget's rate, at random) or ``off``.

    The learner calibrates the thresholds at every weights version on the policy's own recent steps, so that
    ``budget`` of them would ask and ``caution_budget`` would at least slow down. Weights without a
    calibration (the base alone, an older bundle) or a score that cannot be computed mean *ask*, never trust.

    Off by default: an asking actor needs a person (or the simulated one) to answer, and a graph without one
    (``ros.teleop=none``) would hold at its first request. Turn it on with ``help.gate=score``."""

    gate: str = "off"
    budget: float = 0.05  # fraction of policy steps whose score asks for help (calibrated by the learner)
    caution_budget: float = 0.15  # fraction that at least slows down (>= budget)
    caution_scale: float = 0.5  # motion scale while in caution
    cooldown_steps: int = 20  # after the human acknowledges (or hands back), no new request for this long
    bank_size: int = 2048  # training observations the learner sends for the novelty check
    calibration_rows: int = 1024  # recent policy steps the learner calibrates the thresholds on
    shift_samples: int = 4  # thrifty gate: image-shifted copies whose actions' spread is its novelty
    shift_pad: int = 4  # ... shifted by up to this many pixels

    def validate(self, key: str) -> None:
        check(self.gate in HELP_GATES, f"{key}.gate", f"must be one of {', '.join(HELP_GATES)}; got {self.gate!r}")
        check(0.0 < self.budget < 1.0, f"{key}.budget", f"must be in (0, 1), got {self.budget}")
        check(self.budget <= self.caution_budget < 1.0, f"{key}.caution_budget",
              f"must be in [{key}.budget={self.budget}, 1), got {self.caution_budget}")
        check(0.0 < self.caution_scale <= 1.0, f"{key}.caution_scale", f"must be in (0, 1], got {self.caution_scale}")
        check(self.cooldown_steps >= 0, f"{key}.cooldown_steps", f"must be >= 0, got {self.cooldown_steps}")
        check(self.bank_size >= 16, f"{key}.bank_size", f"must be >= 16, got {self.bank_size}")
        check(self.calibration_rows >= 16, f"{key}.calibration_rows", f"must be >= 16, got {self.calibration_rows}")
        check(self.shift_samples >= 2, f"{key}.shift_samples", f"must be >= 2, got {self.shift_samples}")
        check(self.shift_pad >= 1, f"{key}.shift_pad", f"must be >= 1, got {self.shift_pad}")
