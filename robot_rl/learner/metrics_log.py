"""Where the learner's numbers go: ``metrics.jsonl`` (read by ``robot-rl report``), TensorBoard event files
(``<dir>/tensorboard``, ``learner.tensorboard``) and Weights & Biases (``learner.wandb``: ``offline`` writes a
run folder that ``wandb sync`` uploads later, ``online`` logs live; only when the ``wandb`` package is installed,
refused with the command that installs it otherwise).

Every record is one point per published weights version, at the learner's update count: the same numbers in
every sink, so a curve in TensorBoard or W&B is the report's curve.
"""

from __future__ import annotations

import importlib.util
import json
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from robot_rl.config.learning import LearnerConfig

WANDB_MODES = ("off", "offline", "online")
TENSORBOARD_DIR = "tensorboard"


class MetricsUnavailable(RuntimeError):
    """A configured metrics sink cannot start (its package is missing)."""


def _numbers(rec: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in rec.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))}


class ScalarLog:
    """TensorBoard (and optionally W&B) scalars under ``dir``: ``log({tag: value}, step)``."""

    _wandb_open: ClassVar[int] = 0  # W&B runs this process has open, over every instance
    _wandb_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, dir: str | Path, *, tensorboard: bool = True, wandb: str = "off", project: str = "robot_rl",
                 name: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        if wandb not in WANDB_MODES:
            raise ValueError(f"wandb must be one of {WANDB_MODES}, got {wandb!r}")
        self.dir = Path(dir)
        self._tb = None
        self._wandb = None
        if tensorboard:
            if importlib.util.find_spec("tensorboard") is None:
                raise MetricsUnavailable("TensorBoard event files need the tensorboard package (pip install "
                                         "tensorboard), or set learner.tensorboard=false")
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.dir / TENSORBOARD_DIR))
        if wandb != "off":
            if importlib.util.find_spec("wandb") is None:
                raise MetricsUnavailable(f"learner.wandb={wandb} needs the wandb package: pip install wandb (or "
                                         "learner.wandb=off)")
            import wandb as wb

            self._wandb = wb.init(project=project, name=name, dir=str(self.dir), mode=wandb,
                                  config=dict(config or {}), reinit="create_new")
            with ScalarLog._wandb_lock:
                ScalarLog._wandb_open += 1

    @classmethod
    def for_learner(cls, dir: str | Path, lc: LearnerConfig, name: str, config: Mapping[str, Any]) -> ScalarLog | None:
        """The sinks ``learner.tensorboard`` / ``learner.wandb`` turn on, or None when both are off."""
        if not lc.tensorboard and lc.wandb == "off":
            return None
        return cls(dir, tensorboard=lc.tensorboard, wandb=lc.wandb, project=lc.wandb_project, name=name,
                   config=config)

    def log(self, values: Mapping[str, Any], step: int, prefix: str = "") -> None:
        """The finite numbers of ``values`` (others are left out), flushed at once: a crash loses nothing."""
        nums = {f"{prefix}{k}": v for k, v in _numbers(values).items()}
        if self._tb is not None:
            for tag, v in nums.items():
                self._tb.add_scalar(tag, v, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(nums, step=step)

    def close(self) -> None:
        """Close every sink with its file complete on disk when this returns."""
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._wandb is not None:
            import wandb as wb

            self._wandb.finish()
            self._wandb = None
            # finish() only asks W&B's service process to close the run; that process writes the run's log in the
            # background. teardown() waits for it to exit, so the run folder is whole when close() returns. It
            # ends every run of the process, so it waits for the last one open here (the learning bench has two).
            with ScalarLog._wandb_lock:
                ScalarLog._wandb_open -= 1
                if ScalarLog._wandb_open == 0:
                    wb.teardown()


class MetricsLog:
    """The learner's record per published version: a JSON line, and the same numbers as scalars."""

    def __init__(self, dir: str | Path, jsonl: str, scalars: ScalarLog | None) -> None:
        self.path = Path(dir) / jsonl
        self.scalars = scalars

    def write(self, rec: Mapping[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        if self.scalars is not None:
            self.scalars.log({k: v for k, v in rec.items() if k not in ("time", "updates")}, int(rec["updates"]),
                             prefix="learner/")

    def close(self) -> None:
        if self.scalars is not None:
            self.scalars.close()
