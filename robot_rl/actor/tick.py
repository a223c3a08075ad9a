"""The actor's control tick as the graph runs it, without ROS: the actor node's control loop
(:class:`~robot_rl.actor.control_loop.ControlLoop`) calls :meth:`GraphActor.tick`, publishes what it returns,
then calls :meth:`GraphActor.swap_weights`; its subscriptions fill an
:class:`~robot_rl.actor.observation.ObservationBuffer` and call :meth:`GraphActor.on_event`.

One tick: (1) assemble the newest observation; stale (older than the configured age, or, with ``lockstep``,
not newer than the last command, so each command sees its predecessor's effect) -> publish nothing; (2) close the
previous step's row now that its outcome (success / failure events, the next observation) is known, and
end the episode when it is over; (3) base + residual proposes, the human wins while intervening (a stale
human command while intervening -> publish nothing); (4) the help gate grades the policy's step
(:mod:`robot_rl.actor.help`: normal, caution = smaller steps, ask = hold still and request help until the human
takes over or acknowledges); (5) clip and return the command; (6) between ticks, swap in newer residual weights.
Rows are the same as the in-process sim's (:mod:`robot_rl.actor.rows`).

Success comes from the person's success key, the twin's task check (:meth:`GraphActor.on_task_event`) or, with
``success`` (``reward.source=classifier``), the reward classifier judging every observation acted on
(:mod:`robot_rl.actor.success`): the twin's own success is then ignored, the person's success and failure keys
still win, and every row records the classifier's judgement of its frame. With ``label_keys``
(``reward.labels=keys``) the person's keys label the frames instead of ending the episode: ``success`` marks the
frames from then on as successes, ``not_yet`` as not, ``failure`` marks and ends the episode.

Two disturbances end the episode in progress without ending the actor: the robot acknowledges a reset it was
not asked for mid-episode (a restarted robot node announces seed -1; the world the rows describe jumped), so the
episode is discarded and run again; and the store fails (a full disk): with ``reopen_writer`` the actor holds
(publishes nothing, so the robot's watchdog stops the arm), retries every ``STORE_RETRY_S``, and starts the next
episode once a writer opens again. Without it a store failure ends the tick with the error, as before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from robot_rl.actor.arbitration import arbitrate
from robot_rl.actor.help import HelpResponse, HelpStep
from robot_rl.actor.observation import ObservationBuffer, StaleObservation
from robot_rl.actor.policy import ResidualPolicy
from robot_rl.actor.rows import final_row, step_row
from robot_rl.actor.success import SuccessDetector, SuccessJudgement
from robot_rl.control.safety import SafetyLimits
from robot_rl.data.errors import StoreError, WriterError
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.learner.weights import WeightsSubscriber
from robot_rl.spec import GRIPPER

log = logging.getLogger(__name__)

RESET_RETRY_S = 1.0
STORE_RETRY_S = 2.0


class Phase(str, Enum):
    resetting = "resetting"
    running = "running"
    store_failed = "store_failed"  # holding: no commands until a writer opens again
    done = "done"


@dataclass(frozen=True)
class TickOutput:
    command: np.ndarray | None = None  # (7,) float32 in [-1, 1] to publish; None: publish nothing
    reset_seed: int | None = None  # ask the robot to reset the episode with this seed
    t_obs: float = 0.0  # oldest capture stamp of the observation acted on
    policy_action: np.ndarray | None = None  # (7,) what the policy proposed (for the teleop side)
    reason: str = ""
    warn: bool = False  # no command for a reason the operator must see (stale data, a stale human, the store)
    help: HelpStep | None = None  # the help gate's verdict on this step (None: no policy step this tick)


@dataclass
class ActorStats:
    ticks: int = 0
    commands: int = 0
    stale: int = 0
    held: int = 0  # intervening but the human's command was stale
    swaps: int = 0
    episodes: int = 0
    successes: int = 0
    intervened_steps: int = 0
    interrupted: int = 0  # episodes discarded because the robot reset under them
    store_failures: int = 0
    help_requests: int = 0
    detected: int = 0  # episodes the reward classifier ended on a success
    held_for_help: int = 0  # ticks the arm held still waiting for the person
    last_stale: str = ""
    episode_versions: list[int] = field(default_factory=list)


@dataclass
class _Pending:
    obs: Mapping[str, np.ndarray]
    row: dict


class GraphActor:
    def __init__(self, policy: ResidualPolicy, limits: SafetyLimits, *, max_steps: int, explore: bool = True,
                 writer: EpisodeWriter | None = None, weights: WeightsSubscriber | None = None,
                 episodes: int = 0, seed: int = 0, lockstep: bool = True,
                 reopen_writer: Callable[[], EpisodeWriter] | None = None,
                 help: HelpResponse | None = None, success: SuccessDetector | None = None,
                 label_keys: bool = False) -> None:
        self.policy, self.limits, self.writer, self.weights = policy, limits, writer, weights
        self.success, self.label_keys = success, label_keys
        self._label = 0  # label_keys: what the person says the frames show now (1 success, 0 not yet)
        self._judged: SuccessJudgement | None = None
        self.help = help if help is not None else HelpResponse()
        self._gripper = -1.0  # the last executed gripper command: a hold for help keeps it
        self.reopen_writer = reopen_writer
        self.store_error = ""  # why the last writer failed, while holding
        self._store_retry = float("-inf")
        self.max_steps, self.explore, self.episodes = max_steps, explore, episodes
        self.seed = seed
        self.lockstep = lockstep
        self.phase = Phase.resetting
        self.stats = ActorStats()
        self.intervening = False
        self.paused = False
        self._events: set[str] = set()
        self._ack: tuple[int, float] | None = None  # (seed, time the reset was acknowledged)
        self._reset_sent = float("-inf")
        self._last_command = float("-inf")
        self._pending: _Pending | None = None
        self._steps = 0
        self._success = False

    # ------------------------------------------------------------------ inputs from subscriptions
    def on_event(self, event: str) -> None:
        """takeover, handback, success, failure, reset, pause, quit, ack, not_yet: the person's keys."""
        if self.label_keys and event in ("success", "not_yet", "failure"):
            self._label = int(event == "success")  # labels, not the end of the episode (failure still ends it)
            if event != "failure":
                return
        if event == "takeover":
            self.intervening = True
        elif event == "handback":
            self.intervening = False
        elif event == "pause":
            self.paused = not self.paused
        elif event == "ack":
            self.help.acknowledge()
        elif event in ("success", "failure", "reset", "quit"):
            self._events.add(event)

    def on_task_event(self, event: str) -> None:
        """The twin's own task check (success / failure). Its success is ignored where the classifier or the
        person's labels decide, as on a real arm that has no such check."""
        if event == "success" and (self.success is not None or self.label_keys):
            return
        if event in ("success", "failure"):
            self._events.add(event)

    def on_reset_done(self, seed: int, now: float) -> None:
        """The robot reset (or restarted: seed -1). Mid-episode that was not our request: discard the episode."""
        self._ack = (seed, now)
        if self.phase is Phase.running:
            log.warning("the robot reset mid-episode (seed %d, episode seed %d): episode discarded, run again",
                        seed, self.seed)
            self.stats.interrupted += 1
            self._drop_episode()
            self._reset_sent = float("-inf")
            self.phase = Phase.resetting  # an ack for our seed starts it at once; any other asks for a reset

    # ------------------------------------------------------------------ the tick
    def tick(self, buffer: ObservationBuffer, now: float, human_action: np.ndarray | None = None) -> TickOutput:
        """Decide this tick's command. Call :meth:`swap_weights` once the command is on its way."""
        self.stats.ticks += 1
        if self.phase is Phase.done:
            return TickOutput(reason="done")
        if "quit" in self._events:
            self._finish_episode(None, now, aborted=True)
            self.phase = Phase.done
            return TickOutput(reason="quit")
        if self.phase is Phase.store_failed:
            return self._retry_store(now)
        try:
            if self.phase is Phase.resetting:
                return self._resetting(buffer, now, human_action)
            return self._running(buffer, now, human_action)
        except WriterError as exc:  # the writer thread's I/O failed (not a bad row: that is a bug, raised)
            if self.reopen_writer is None:
                raise
            return self._store_failed(exc, now)

    def _store_failed(self, exc: WriterError, now: float) -> TickOutput:
        """Recording failed: the episode in progress is lost (the committed ones are intact); hold, retry."""
        log.error("recording failed: %s; holding (no commands) and retrying every %.0f s", exc, STORE_RETRY_S)
        self.stats.store_failures += 1
        self.store_error = str(exc)
        if self.writer is not None:
            with contextlib.suppress(StoreError, OSError):  # already reported: it is why we are here
                self.writer.close()
        self.writer = None
        self._drop_episode()
        if self.phase is Phase.running:
            self.seed += 1
        self._ack, self._reset_sent, self._store_retry = None, float("-inf"), now
        self.phase = Phase.store_failed
        return TickOutput(reason=f"recording failed, holding: {exc}", warn=True)

    def _retry_store(self, now: float) -> TickOutput:
        if now - self._store_retry < STORE_RETRY_S:
            return TickOutput(reason=f"recording failed, holding: {self.store_error}", warn=True)
        self._store_retry = now
        assert self.reopen_writer is not None
        try:
            self.writer = self.reopen_writer()
        except (StoreError, OSError) as exc:
            self.store_error = str(exc)
            return TickOutput(reason=f"recording failed, holding: the store does not open yet: {exc}", warn=True)
        log.warning("the store opens again: recording resumes with the next episode")
        self.store_error = ""
        self.phase = Phase.resetting
        return TickOutput(reason="recording resumes", warn=True)

    def _drop_episode(self) -> None:
        """Forget the episode in progress (its rows never reach the store)."""
        if self.writer is not None and self.phase is Phase.running:
            self.writer.abort_episode()
        self._clear_episode()

    def _clear_episode(self) -> None:
        """The per-episode state, back to an episode's start (events and a take-over do not carry over)."""
        self._pending, self._steps, self._success = None, 0, False
        self._events.clear()
        self._label, self._judged = 0, None
        if self.success is not None:
            self.success.reset()
        self.intervening = False
        self.help.reset()
        self._gripper = -1.0

    def swap_weights(self) -> bool:
        """Between ticks, after the command was sent (a swap must not delay it): take the newest residual
        weights if any arrived. True when swapped."""
        swapped = self.policy.poll_weights(self.weights)
        self.stats.swaps += int(swapped)
        return swapped

    def _resetting(self, buffer: ObservationBuffer, now: float, human_action: np.ndarray | None) -> TickOutput:
        if self._ack is None or self._ack[0] != self.seed:
            if now - self._reset_sent >= RESET_RETRY_S:
                self._reset_sent = now
                return TickOutput(reset_seed=self.seed, reason="resetting")
            return TickOutput(reason="resetting")
        self._last_command = self._ack[1]  # only observations taken after the reset count
        try:
            buffer.assemble(now, newer_than=self._last_command)
        except StaleObservation as exc:
            return TickOutput(reason=f"waiting for the first observation: {exc}")
        self._clear_episode()
        self.policy.reset()
        if self.writer is not None:
            self.writer.begin_episode(source="policy", seed=self.seed, policy_version=self.policy.version)
        self.stats.episode_versions.append(self.policy.version)
        self.phase = Phase.running
        return self._running(buffer, now, human_action)

    def _running(self, buffer: ObservationBuffer, now: float, human_action: np.ndarray | None) -> TickOutput:
        try:
            obs, t_obs = buffer.assemble(now, newer_than=self._last_command if self.lockstep else float("-inf"))
        except StaleObservation as exc:
            self.stats.stale += 1
            self.stats.last_stale = str(exc)
            return TickOutput(reason=f"stale observation, no command: {exc}", warn=True)
        if self.success is not None:
            self._judged = self.success.judge(obs, t_obs, now)
        if self._pending is not None and self._close_step(obs, t_obs, now):
            self._reset_sent = now
            return TickOutput(reset_seed=None if self.phase is Phase.done else self.seed, reason="episode over")
        if self.paused:
            return TickOutput(reason="paused")
        out = self.policy.act(obs, explore=self.explore)
        verdict = self.help.step(obs, out, self.intervening)
        if self.intervening and human_action is None:
            self.stats.held += 1
            return TickOutput(reason="intervening, but the human's command is stale: holding", policy_action=out.action,
                              warn=True, help=verdict)
        executed, intervened = arbitrate(out.action, human_action if self.intervening else None)
        if not intervened:
            executed = self.help.apply(executed, verdict.level, self._gripper)
        executed, _ = self.limits.clip_action(executed)
        self._gripper = float(executed[GRIPPER])
        recorded = verdict.score if self.help.enabled else None
        self._pending = _Pending(obs, step_row(obs, action=executed, base_action=out.base_action,
                                               residual_action=out.residual_action, policy_action=out.action,
                                               intervened=intervened, t_obs=t_obs, t_action=now,
                                               help_score=recorded, help_level=int(verdict.level),
                                               **self._frame_fields()))
        self._steps += 1
        self.stats.commands += 1
        self.stats.intervened_steps += int(intervened)
        self.stats.help_requests += int(verdict.request)
        self.stats.held_for_help += int(verdict.asking)
        self._last_command = now
        reason = f"holding for help: {verdict.reason}" if verdict.asking else "acted"
        return TickOutput(command=executed, t_obs=t_obs, policy_action=out.action, reason=reason, help=verdict)

    def _frame_fields(self) -> dict:
        """The reward fields of the frame just assembled (none when neither the classifier nor the keys run)."""
        if self.success is None and not self.label_keys:
            return {}
        j = self._judged
        return {"success_prob": j.prob if j is not None else float("nan"),
                "success_detected": j is not None and j.detected,
                "success_label": self._label if self.label_keys else -1}

    def _close_step(self, obs: Mapping[str, np.ndarray], t_obs: float, now: float) -> bool:
        """Write the previous step's row with its outcome; True when that ended the episode. The person's keys
        win over the classifier: a failure key is a failure whatever it sees."""
        failure, j = "failure" in self._events, self._judged
        detected = j is not None and j.detected and not failure
        success = "success" in self._events or detected
        if detected and j is not None and "success" not in self._events:
            self.stats.detected += 1
            log.info("the reward classifier sees a success (P=%.3f, %d frames in a row): episode over",
                     j.prob, j.streak)
        terminated = success or failure
        truncated = not terminated and (self._steps >= self.max_steps or "reset" in self._events)
        assert self._pending is not None
        row = self._pending.row
        row.update(reward=np.float32(success), success=np.bool_(success), terminated=np.bool_(terminated),
                   truncated=np.bool_(truncated))
        if self.writer is not None:
            self.writer.put(row)
        self._pending = None
        if not (terminated or truncated):
            return False
        self._success = success
        self._finish_episode(obs, t_obs)
        return True

    def _finish_episode(self, final_obs: Mapping[str, np.ndarray] | None, t_obs: float = 0.0,
                        aborted: bool = False) -> None:
        if self.phase is not Phase.running:
            return
        if self.writer is not None:
            if aborted or final_obs is None:
                self.writer.abort_episode()
            else:
                self.writer.put(final_row(final_obs, t_obs, **self._frame_fields()))
                self.writer.end_episode(success=self._success)
        if not aborted:
            self.stats.episodes += 1
            self.stats.successes += int(self._success)
        self._clear_episode()
        self.seed += 1
        self._ack = None
        self._reset_sent = float("-inf")
        self.phase = Phase.done if (aborted or (self.episodes and self.stats.episodes >= self.episodes)) \
            else Phase.resetting
