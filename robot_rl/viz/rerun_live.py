"""The actor's steps in Rerun as they happen (``robot-rl act --rerun TARGET``): the cameras, the executed,
policy, base and residual actions, take-overs and the help gate's score, with the same entity paths as
:mod:`robot_rl.viz.rerun_log` (a recorded episode and a live one look alike in the viewer).

``TARGET`` is a file ending in ``.rrd`` (written as the run goes, opened later with ``rerun FILE.rrd``), a
viewer's gRPC address (``rerun+http://HOST:9876/proxy``: a viewer started with ``rerun`` on the workstation),
or ``spawn`` (start a viewer on this machine). Timelines: ``tick`` (every step of the run), ``step`` (within the
episode) and ``episode``. Logging never stops the robot: an error is reported once and logging stops."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from robot_rl.spec import ACTION_NAMES
from robot_rl.viz.rerun_log import APP_ID, RerunMissing, _rerun

__all__ = ["RerunDecider", "RerunMissing", "open_stream"]

ACTIONS = ("action", "policy_action", "base_action", "residual_action")


def open_stream(target: str, recording_id: str = "act"):
    """A recording stream to ``target`` (see the module docstring)."""
    rr = _rerun()
    rec = rr.RecordingStream(APP_ID, recording_id=recording_id)
    if target == "spawn":
        rec.spawn()
    elif target.endswith(".rrd"):
        rec.save(target)
    elif "://" in target:
        rec.connect_grpc(target)
    else:
        raise ValueError(f"--rerun {target!r}: a FILE.rrd, a viewer's address (rerun+http://HOST:9876/proxy) "
                         f"or spawn")
    return rec


class RerunDecider:
    """Wraps a decider (see :mod:`robot_rl.sim.harness.episodes`): decides as it does, and logs each step."""

    def __init__(self, inner: Any, rec: Any, version: Any = lambda: -1) -> None:
        self.inner, self.rec, self.version = inner, rec, version
        self.rr = _rerun()
        self.tick, self.step, self.episode, self.failed = 0, 0, -1, False

    @property
    def human(self) -> Any:  # run_episode counts the take-overs of the decider's human
        return getattr(self.inner, "human", None)

    def reset(self, seed: int) -> None:
        self.inner.reset(seed)
        self.episode, self.step = self.episode + 1, 0
        self._guard(lambda: self._log_episode(seed))

    def __call__(self, obs: Mapping[str, np.ndarray]) -> Any:
        d = self.inner(obs)
        self._guard(lambda: self._log_step(obs, d))
        self.tick, self.step = self.tick + 1, self.step + 1
        return d

    def _guard(self, log) -> None:
        if self.failed:
            return
        try:
            log()
        except Exception as exc:
            self.failed = True
            print(f"rerun: logging stopped ({type(exc).__name__}: {exc}); the run goes on", file=sys.stderr)

    def _times(self) -> None:
        self.rec.set_time("tick", sequence=self.tick)
        self.rec.set_time("step", sequence=self.step)
        self.rec.set_time("episode", sequence=self.episode)

    def _log_episode(self, seed: int) -> None:
        self._times()
        self.rec.log("episode", self.rr.TextLog(f"episode {self.episode}: seed {seed}, weights v{self.version()}"))

    def _log_step(self, obs: Mapping[str, np.ndarray], d: Any) -> None:
        rr, rec = self.rr, self.rec
        self._times()
        for key, value in obs.items():
            if key.startswith("images/"):
                rec.log(f"cameras/{key.removeprefix('images/')}", rr.Image(value))
        for kind in ACTIONS:
            values = np.asarray(getattr(d, kind))
            for name, v in zip(ACTION_NAMES, values, strict=False):
                rec.log(f"action/{kind}/{name}", rr.Scalars(float(v)))
        rec.log("intervened", rr.Scalars(float(d.intervened)))
        if d.help_score is not None and np.isfinite(d.help_score):
            rec.log("help/score", rr.Scalars(float(d.help_score)))
            rec.log("help/level", rr.Scalars(float(d.help_level)))
