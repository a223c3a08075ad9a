"""A Franka FR3/Panda through libfranka (``franky-control``) behind the :class:`Robot` interface.

Each control step's action goes through the same :meth:`SafetyLimits.command` gate as the MuJoCo twin
and becomes an absolute Cartesian target that franky tracks with its own velocity/acceleration/jerk
bounded trajectory (``robot.dynamics_factor`` of the arm's limits). Motions are asynchronous, and
each new target preempts the previous one, so ``send_action`` never waits for the arm. A watchdog
thread stops the arm when commands stop arriving; reflex errors are recovered automatically up to
``robot.max_reflex_recoveries`` per episode (between :meth:`reset` calls), then
:class:`DeviceFaultError` stops the stack.

No call here can block for ever. libfranka waits for some replies with no deadline (connect, error
recovery, stop, gripper commands), so franky runs in a child process (:mod:`robot_rl.hardware.franka_worker`,
reached through :mod:`robot_rl.hardware.franka_link`) and every call into it has a deadline; a gripper
command has one too (``gripper_timeout_s``), and so has the gripper's state stream (``call_timeout_s``:
libfranka's gripper connection never recovers from a lost one). The state is a read of memory the worker
updates every few ms (so ``read_state`` runs at thousands of Hz); if updates stop, it waits ``call_timeout_s``
(a blocked gripper read stalls no other thread: franky releases the GIL while libfranka waits). When a
deadline passes the driver records the fault, kills that process, which drops the FCI connection and so
stops the arm (a real FR3 stops when its connection is lost; it is first told to stop where it still
can be), and raises :class:`DeviceFaultError`; ``connect()`` starts afresh.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from dataclasses import dataclass

import numpy as np

from robot_rl.config.schema import RobotConfig
from robot_rl.control.rotations import quat_to_mat
from robot_rl.control.safety import ClipReport, SafetyLimits, Watchdog
from robot_rl.hardware import franka_worker as fw
from robot_rl.hardware.deadline import DeadlineExceeded, wait_for
from robot_rl.hardware.errors import DeviceError, DeviceFaultError, DeviceNotFoundError, require
from robot_rl.hardware.franka_link import LinkLost, MotionError, WorkerLink
from robot_rl.hardware.robot import Robot, RobotState, SentCommand

log = logging.getLogger(__name__)

GRIPPER_HYSTERESIS = 0.5  # |gripper action| beyond this closes / opens; in between keeps the last command
WIDTH_MAX_AGE_S = 1.0  # a gripper width older than this is reported as NaN (its state stopped arriving)
STATE_MAX_AGE_S = 0.5  # an older state sample makes read_state wait (up to call_timeout_s) for a newer one
CHANGING_OPS = frozenset({"recover", "stop", "move_cartesian", "move_joints", "join", "gripper"})


@dataclass(frozen=True)
class FaultRecord:
    """One error the backend met and what it did about it."""

    stamp: float  # time.monotonic()
    message: str
    errors: tuple[str, ...]
    recovered: bool


class FrankaRobot(Robot):
    """Lifecycle: ``connect()`` ... ``disconnect()`` (or a context manager, which also stops the arm).

    ``call_timeout_s`` bounds every call into libfranka (a join waits its own timeout on top),
    ``connect_timeout_s`` the connection, ``gripper_timeout_s`` one gripper command (default: a full
    stroke at ``robot.gripper_speed`` plus 5 s).
    """

    def __init__(self, cfg: RobotConfig, limits: SafetyLimits | None = None, connect_timeout_s: float = 15.0,
                 call_timeout_s: float = 5.0, gripper_timeout_s: float | None = None) -> None:
        self.cfg = cfg
        self.limits = limits or SafetyLimits.for_robot(cfg)
        self.connect_timeout_s = connect_timeout_s
        self.call_timeout_s = call_timeout_s
        self.gripper_timeout_s = gripper_timeout_s or cfg.gripper_max_width / cfg.gripper_speed + 5.0
        self.watchdog = Watchdog(cfg.watchdog_s)
        self.faults: list[FaultRecord] = []
        self.reflex_count = 0
        self._link = WorkerLink()
        self._fault: str | None = None  # set once the worker was dropped: every later command raises it
        self._names: dict = {}  # what the block's mode and error codes stand for
        self._fresh_after = 0.0  # read_state returns samples taken after this (set by commands that change it)
        self._gripper_closed: bool | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()  # one command at a time: control thread vs watchdog thread
        self._fault_lock = threading.Lock()

    # lifecycle -------------------------------------------------------------------------------------------
    def connect(self) -> None:
        require("franky", "franka")
        self.disconnect()
        self._check_reachable()
        self._fault = None
        self._gripper_closed = None  # unknown until the first gripper command
        self._link.start()
        try:
            self._names = self._call("connect", self.cfg.ip, self.cfg.realtime, self.cfg.dynamics_factor,
                                     timeout_s=self.connect_timeout_s, what="connecting")
        except DeviceError as exc:
            self._link.kill()
            text = self.faults[-1].message if self._fault is not None else str(exc)  # without _fail's own fix
            if "RealtimeException" in text:
                raise DeviceNotFoundError(
                    f"Franka at {self.cfg.ip}: {text}. Fix: run on a PREEMPT_RT kernel with rtprio rights, or set "
                    "robot.realtime=false (simulator / testing only)") from exc
            raise DeviceNotFoundError(f"Franka at {self.cfg.ip}: {text}. Fix: unlock the joints and activate FCI in "
                                      "Desk; check that libfranka matches the robot's system version") from exc
        self._stop.clear()
        self._threads = [threading.Thread(target=self._watch, name="franka-watchdog", daemon=True)]
        for t in self._threads:
            t.start()

    def disconnect(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads = []
        self.watchdog.disarm()
        self._link.close()

    @property
    def connected(self) -> bool:
        return self._link.alive

    # state -----------------------------------------------------------------------------------------------
    def read_state(self) -> RobotState:
        """The newest state sample (published by the worker every few ms): a memory read, which waits only
        for a sample newer than the last command (a few ms) or, if samples stop, until call_timeout_s."""
        v = self._sample()
        errors = tuple(n for n, bit in zip(self._names["errors"], v[fw.ERRORS:], strict=False) if bit)
        self._check_gripper(v)
        x, y, z, w = v[fw.QUAT]
        quat = np.array([w, x, y, z]) * (1.0 if w >= 0 else -1.0)
        width = v[fw.G_WIDTH] if time.monotonic() - v[fw.G_WIDTH_STAMP] < WIDTH_MAX_AGE_S else math.nan
        return RobotState(ee_pos=v[fw.POS].copy(), ee_quat=quat, gripper_width=float(width), joint_pos=v[fw.Q].copy(),
                          joint_vel=v[fw.DQ].copy(), stamp=float(v[fw.STAMP]), ee_mat=quat_to_mat(quat),
                          mode=self._names["modes"].get(int(v[fw.MODE]), "Other"), errors=errors)

    def _sample(self) -> np.ndarray:
        """A consistent copy of the state block, stamped after the last command and at most
        STATE_MAX_AGE_S old; raises (dropping the connection) if none comes within call_timeout_s."""
        deadline = None
        while True:
            block = self._link.state
            if self._fault is not None:
                raise DeviceFaultError(self._fault)
            if block is None:
                raise DeviceFaultError("Franka is not connected: call connect() first")
            seq = block[fw.SEQ]
            v = block.copy()
            if seq % 2 == 0 and block[fw.SEQ] == seq:
                now = time.monotonic()
                if v[fw.STAMP] >= max(self._fresh_after, now - STATE_MAX_AGE_S):
                    return v
            else:
                now = time.monotonic()
            if deadline is None:
                deadline = now + self.call_timeout_s
            elif now > deadline:
                raise self._fail(f"no robot state for {now - v[fw.STAMP]:.1f} s (libfranka stopped delivering it)")
            elif not self._link.alive:
                raise self._fail("the libfranka process ended")
            time.sleep(0.0005)

    # commands --------------------------------------------------------------------------------------------
    def send_action(self, action: np.ndarray) -> SentCommand:
        """Check and clip the action, start the motion to its target and return at once."""
        with self._lock:
            self._raise_pending_fault()
            state = self.read_state()
            if state.errors:
                self._recover(f"robot reports errors {list(state.errors)} (mode {state.mode})", state.errors)
                state = self.read_state()
            cmd = self.limits.command(action, state.ee_pos, state.ee_mat)
            w, x, y, z = cmd.target_quat
            self._move("move_cartesian", cmd.target_pos, np.array([x, y, z, w]))
            self._command_gripper(cmd.gripper)
            self.watchdog.feed()
        return SentCommand(action=cmd.action, target_pos=cmd.target_pos, target_quat=cmd.target_quat,
                           gripper=cmd.gripper, clip=cmd.clip)

    def move_joints(self, q: np.ndarray, wait: bool = True, timeout_s: float = 30.0) -> tuple[np.ndarray, ClipReport]:
        """Move to a (7,) joint target (clipped to the joint box); blocks until there unless ``wait=False``."""
        target, idx = self.limits.clip_joints(q)
        with self._lock:
            self.watchdog.disarm()  # a deliberate point-to-point move, not a stream of commands
            self._raise_pending_fault()
            self._move("move_joints", target)
            if wait:
                self._join(timeout_s)
        return target, ClipReport(limits=tuple(f"joint{i + 1}" for i in idx))

    def reset(self, timeout_s: float = 30.0) -> RobotState:
        """Start of an episode: recover if needed, open the gripper, go home; resets the reflex budget."""
        with self._lock:
            self._raise_pending_fault(budgeted=False)
            if errors := self.read_state().errors:
                self._recover("errors at reset", errors, budgeted=False)
            self.reflex_count = 0
            self.move_joints(np.asarray(self.cfg.home_joints), wait=True, timeout_s=timeout_s)
            self.set_gripper(-1.0, wait=True)
        return self.read_state()

    def reset_episode(self, seed: int) -> None:
        """An episode's start on hardware: :meth:`reset` (``seed`` only names the episode)."""
        self.reset()

    def set_gripper(self, command: float, wait: bool = False) -> None:
        """-1 opens, +1 grasps with ``robot.gripper_grasp_force`` (clipped to ``gripper_max_force``).
        With ``wait``, returns once the command finished; a command that never finishes raises
        :class:`DeviceFaultError` after ``gripper_timeout_s``."""
        with self._lock:
            self._gripper_closed = None
            seq = self._command_gripper(command)
            if wait and seq is not None:
                try:
                    wait_for(lambda: self.read_state() and self._link.state[fw.G_DONE_SEQ] >= seq,
                             self.gripper_timeout_s + self.call_timeout_s, "gripper command done", poll_s=0.01)
                except DeadlineExceeded as exc:  # read_state raises first, unless the worker kept restarting it
                    raise self._fail(f"gripper command got no answer ({exc})") from exc

    def stop(self) -> None:
        """Stop any motion and hold; safe from any state (errors are logged, not raised)."""
        self.watchdog.disarm()
        if not self.connected or self._fault is not None:
            return
        try:
            self._call("stop", what="stop")
        except DeviceError as exc:  # a stop that hangs dropped the connection, which stops the arm too
            log.warning("Franka stop: %s", exc)

    # internals -------------------------------------------------------------------------------------------
    def _call(self, op: str, *args, timeout_s: float | None = None, what: str = ""):
        """One call into the worker; raises :class:`DeviceFaultError` (after dropping the connection,
        which stops the arm) when no answer comes within the deadline (``call_timeout_s`` by default)."""
        if self._fault is not None:
            raise DeviceFaultError(self._fault)
        try:
            value = self._link.call(op, *args, timeout_s=self.call_timeout_s if timeout_s is None else timeout_s,
                                    what=what or op)
        except LinkLost as exc:
            raise self._fail(str(exc)) from exc
        if op in CHANGING_OPS:
            self._fresh_after = time.monotonic()
        return value

    def _fail(self, what: str) -> DeviceFaultError:
        """A deadline passed: record it, drop the connection (the arm stops) and return the error to raise.
        Only the first fault counts: a call that was cut off by it reports that fault too."""
        with self._fault_lock:
            if self._fault is not None:
                return DeviceFaultError(self._fault)
            self._fault = (f"Franka: {what}; dropped the connection to {self.cfg.ip}, which stops the arm. Fix: "
                           "check the network and the robot's state in Desk, then connect() again (robot-rl doctor)")
        log.error("%s", self._fault)
        self.faults.append(FaultRecord(time.monotonic(), what, (), recovered=False))
        self.watchdog.disarm()
        self._link.kill()
        return DeviceFaultError(self._fault)

    def _check_gripper(self, v: np.ndarray) -> None:
        """Gripper faults the arm's state does not show: a command with no answer within gripper_timeout_s, or no
        gripper state for call_timeout_s. The latter does not heal: after its 1 s UDP timeout libfranka's gripper
        connection fails every later read and command, so the width would read NaN for ever and no grasp run."""
        if (what := self._gripper_fault(v, time.monotonic())) is None:
            return
        try:  # the arm's side still answers: stop it before dropping the connection
            self._call("stop", what="stop after a gripper fault")
        except DeviceError as exc:
            log.warning("Franka stop after gripper fault: %s", exc)
        raise self._fail(what)

    def _gripper_fault(self, v: np.ndarray, now: float) -> str | None:
        op = fw.GRIPPER_OPS[int(v[fw.G_BUSY_OP])]
        if op and now - v[fw.G_BUSY_SINCE] > self.gripper_timeout_s:
            return f"the gripper's {op} got no answer within {self.gripper_timeout_s:g} s"
        if now - v[fw.G_WIDTH_STAMP] > self.call_timeout_s:
            return f"no gripper state for {now - v[fw.G_WIDTH_STAMP]:.1f} s (libfranka lost the gripper connection)"
        return None

    def _check_reachable(self) -> None:
        try:
            with socket.create_connection((self.cfg.ip, 1337), timeout=self.connect_timeout_s):
                pass
        except OSError as exc:
            raise DeviceNotFoundError(
                f"Franka at {self.cfg.ip}:1337 unreachable ({exc}). Fix: check the cable to the Control box, "
                f"the PC's address on the robot's subnet, and that FCI is activated in Desk (robot.ip=...)") from exc

    def _move(self, op: str, *args) -> None:
        try:
            self._call(op, *args)
        except MotionError as exc:  # the previous motion's error surfaces here
            self._recover(str(exc), tuple(self._call("last_motion_errors")))
            self._call(op, *args)

    def _join(self, timeout_s: float) -> None:
        try:
            done = self._call("join", timeout_s, timeout_s=timeout_s + self.call_timeout_s, what="join_motion")
        except MotionError as exc:
            self._recover(str(exc), tuple(self._call("last_motion_errors")))
            raise DeviceFaultError(f"Franka: motion aborted ({exc}); recovered, not retried") from exc
        if not done:
            raise DeviceFaultError(f"Franka: motion did not finish within {timeout_s:g} s")

    def _raise_pending_fault(self, budgeted: bool = True) -> None:
        """poll_motion re-raises an error of the last asynchronous motion (reflex, preemption)."""
        try:
            self._call("poll_motion")
        except MotionError as exc:
            if "preempted" in str(exc).lower():  # our own stop() or a newer target: not a fault
                return
            self._recover(str(exc), tuple(self._call("last_motion_errors")), budgeted)

    def _recover(self, message: str, errors: tuple[str, ...], budgeted: bool = True) -> None:
        """Automatic error recovery; counts against the episode's budget unless an operator asked (reset)."""
        errors = errors or self.read_state().errors
        self.reflex_count += int(budgeted)
        if budgeted and self.reflex_count > self.cfg.max_reflex_recoveries:
            self.faults.append(FaultRecord(time.monotonic(), message, errors, recovered=False))
            self.stop()
            raise DeviceFaultError(
                f"Franka: error #{self.reflex_count} this episode ({message.strip()}; flags {list(errors)}) exceeds "
                f"robot.max_reflex_recoveries={self.cfg.max_reflex_recoveries}; stopping. Check the workspace for "
                "obstacles and the payload/collision settings, then restart.")
        ok = self._call("recover", what="automatic error recovery")
        self.faults.append(FaultRecord(time.monotonic(), message, errors, recovered=ok))
        log.warning("Franka: %s (flags %s) -> automatic recovery %s (%d/%d this episode)", message.strip(),
                    list(errors), "succeeded" if ok else "FAILED", self.reflex_count, self.cfg.max_reflex_recoveries)
        if not ok:
            raise DeviceFaultError(f"Franka: automatic error recovery failed after '{message.strip()}' "
                                   f"(flags {list(errors)}). Fix: recover in Desk (or release the stop), then restart.")

    def _command_gripper(self, command: float) -> int | None:
        """Queue a gripper command when the action crosses the hysteresis; returns its sequence number."""
        if command > GRIPPER_HYSTERESIS and self._gripper_closed is not True:
            force, _ = self.limits.clip_gripper_force(self.cfg.gripper_grasp_force)
            self._gripper_closed = True
            return self._call("gripper", "grasp", (0.0, self.cfg.gripper_speed, force, 0.1, 0.1))
        if command < -GRIPPER_HYSTERESIS and self._gripper_closed is not False:
            self._gripper_closed = False
            return self._call("gripper", "move", (self.cfg.gripper_max_width, self.cfg.gripper_speed))
        return None

    def _watch(self) -> None:
        """Stops the arm when commands stop arriving, and puts the deadlines on the gripper (a command, its
        state) even when nobody reads the state."""
        period = self.watchdog.timeout_s / 5.0
        while not self._stop.wait(period):
            if self.watchdog.check():
                log.warning("Franka: no command for %.3f s (watchdog %.3f s): stopping the arm",
                            self.watchdog.age(), self.watchdog.timeout_s)
                self.faults.append(FaultRecord(time.monotonic(), "watchdog: commands stopped arriving", (), True))
                self.stop()
            block = self._link.state  # a glance at the shared state: a torn read only delays this by one period
            if block is not None and self._fault is None and self._gripper_fault(block, time.monotonic()):
                try:
                    self.read_state()  # fresh status: raises (and stops the arm) if it is still stuck
                except DeviceError as exc:
                    log.debug("watchdog: %s", exc)
