"""Pacing the simulated robot to the learner, so the configured update-to-data ratio is what training gets.

A real arm produces 10 transitions a second whatever the learner does; the twin produces them as fast as the CPU
allows, and on a shared 2-core machine it outruns the learner (measured before this module: an effective UTD of
0.36 against a configured 4). So between episodes, like a person resetting the scene, the in-process actor waits
until the learner has ingested every committed episode and trained its budget on them (``learner.utd`` updates
per online transition). The learner says where it is in ``progress.json`` (:func:`write_progress`), replaced
atomically whenever it finished ingesting or caught up with its budget; its own pacing
(:meth:`robot_rl.learner.loop.Learner.updates_allowed`) is the other half: it never trains ahead of the data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from robot_rl.atomic import write_atomic
from robot_rl.hardware.deadline import wait_until

PROGRESS = "progress.json"


@dataclass(frozen=True)
class LearnerProgress:
    updates: int
    online: int  # online transitions ingested
    episodes: int  # store episodes ingested (demos included)
    caught_up: bool  # the learner trained every update its data allows

    @property
    def utd(self) -> float:
        return self.updates / self.online if self.online else 0.0


def write_progress(learner_dir: str | Path, progress: LearnerProgress) -> None:
    write_atomic(Path(learner_dir) / PROGRESS, json.dumps(asdict(progress)))  # a paced twin reads it meanwhile


def read_progress(learner_dir: str | Path) -> LearnerProgress | None:
    """The learner's last reported progress, or None before its first report."""
    try:
        return LearnerProgress(**json.loads((Path(learner_dir) / PROGRESS).read_text()))
    except (OSError, ValueError, TypeError):
        return None


@dataclass
class LearnerPace:
    """Waits, between episodes, until the learner caught up with the episodes committed to the store.
    ``timeout_s`` bounds one wait (a stalled learner must not hang the run: the wait ends, counted in
    ``timeouts``)."""

    learner_dir: Path
    timeout_s: float
    waited_s: float = 0.0
    timeouts: int = 0

    def wait(self, committed_episodes: int, alive: Callable[[], bool] = lambda: True,
             poll_s: float = 0.1) -> LearnerProgress | None:
        """Block until the learner ingested ``committed_episodes`` store episodes and caught up with its budget,
        it died (``alive()`` false), or ``timeout_s`` passed. Returns its last progress."""
        start = time.monotonic()
        last: list[LearnerProgress | None] = [None]

        def done() -> bool:
            p = last[0] = read_progress(self.learner_dir)
            return not alive() or bool(p and p.episodes >= committed_episodes and p.caught_up)

        if not wait_until(done, self.timeout_s, poll_s):
            self.timeouts += 1
        self.waited_s += time.monotonic() - start
        return last[0]
