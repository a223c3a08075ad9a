"""A Franka FR3/Panda through libfranka (``franky-control``) behind the :class:`Robot` interface.

Each control step's action goes through the same :meth:`SafetyLimits.command` gate as the MuJoCo twin
and becomes an absolute Cartesian target that franky tracks with its own velocity/acceleration/jerk
bounded trajectory (``robot.dynamics_factor`` of the arm's limits). Motions are asynchronous, and
each new target preempts the previous one, so ``send_action`` never waits for the arm. A watchdog
thread stops the arm when commands stop arriving; reflex errors are recovered automatically up to
``robot.max_reflex_recoveries`` per episode (between :meth:`reset` calls), then
:class:`DeviceFaultError` stops the stack.

No call here can block for ever. libfranka waits for some replies with no deadline (connect, error
recovery, stop, gripper commands), so franky runs in a child process (:mod:`robot_rl.hardware.franka_worker`)
and every call into it has a deadline; a gripper command has one too (``gripper_timeout_s``). When a
deadline passes the driver records the fault, kills that process, which drops the FCI connection and so
stops the arm (a real FR3 stops when its connection is lost; it is first told to stop where it still
can be), and raises :class:`DeviceFaultError`; ``connect()`` starts afresh.
"""

from __future__ import annotations

import logging
import math
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

from robot_rl.config.schema import RobotConfig
from robot_rl.control.rotations import quat_to_mat
from robot_rl.control.safety import ClipReport, SafetyLimits, Watchdog
from robot_rl.hardware.deadline import DeadlineExceeded, wait_for
from robot_rl.hardware.errors import DeviceError, DeviceFaultError, DeviceNotFoundError, require
from robot_rl.hardware.robot import Robot, RobotState, SentCommand

log = logging.getLogger(__name__)

GRIPPER_HYSTERESIS = 0.5  # |gripper action| beyond this closes / opens; in between keeps the last command
WIDTH_MAX_AGE_S = 1.0  # a gripper width older than this is reported as NaN (its state stopped arriving)


@dataclass(frozen=True)
class FaultRecord:
    """One error the backend met and what it did about it."""

    stamp: float  # time.monotonic()
    message: str
    errors: tuple[str, ...]
    recovered: bool


class MotionError(DeviceError):
    """An error of an asynchronous motion (libfranka's ControlException), reported by the worker."""


class FrankaRobot(Robot):
    """Lifecycle: ``connect()`` ... ``disconnect()`` (or a context manager, which also stops the arm).

    ``call_timeout_s`` bounds every call into libfranka (a join waits its own timeout on top),
    ``connect_timeout_s`` the connection, ``gripper_timeout_s`` one gripper command (default: a full
    stroke at ``robot.gripper_speed`` plus 5 s).
    """

    def __init__(self, cfg: RobotConfig, limits: SafetyLimits | None = None, connect_timeout_s: float = 15.0,
                 call_timeout_s: float = 5.0, gripper_timeout_s: float | None = None) -> None:
        self.cfg = cfg
        self.limits = limits or SafetyLimits(cfg)
        self.connect_timeout_s = connect_timeout_s
        self.call_timeout_s = call_timeout_s
        self.gripper_timeout_s = gripper_timeout_s or cfg.gripper_max_width / cfg.gripper_speed + 5.0
        self.watchdog = Watchdog(cfg.watchdog_s)
        self.faults: list[FaultRecord] = []
        self.reflex_count = 0
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._fault: str | None = None  # set once the worker was dropped: every later command raises it
        self._gripper: dict = {}  # the worker's last gripper status
        self._gripper_closed: bool | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()  # one command at a time: control thread vs watchdog thread
        self._rpc = threading.Lock()  # one call in flight on the worker's connection

    # lifecycle -------------------------------------------------------------------------------------------
    def connect(self) -> None:
        require("franky", "franka")
        self.disconnect()
        self._check_reachable()
        self._fault = None
        self._start_worker()
        try:
            self._call("connect", self.cfg.ip, self.cfg.realtime, self.cfg.dynamics_factor,
                       timeout_s=self.connect_timeout_s, what="connecting")
            self._gripper = self._call("state")["gripper"]
        except DeviceError as exc:
            self._kill_worker()
            text = str(exc)
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
        if self._conn is not None and self._fault is None:
            try:
                self._call("close", timeout_s=2.0, what="closing")
            except DeviceError as exc:
                log.debug("disconnect: %s", exc)
        self._kill_worker()

    @property
    def connected(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # state -----------------------------------------------------------------------------------------------
    def read_state(self) -> RobotState:
        s = self._call("state")
        self._gripper = g = s["gripper"]
        self._check_gripper_deadline(g)
        x, y, z, w = s["quat_xyzw"]
        quat = np.array([w, x, y, z]) * (1.0 if w >= 0 else -1.0)
        width = g["width"] if time.monotonic() - g["width_stamp"] < WIDTH_MAX_AGE_S else math.nan
        return RobotState(ee_pos=s["pos"], ee_quat=quat, gripper_width=width, joint_pos=s["q"], joint_vel=s["dq"],
                          stamp=time.monotonic(), ee_mat=quat_to_mat(quat), mode=s["mode"], errors=tuple(s["errors"]))

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

    def set_gripper(self, command: float, wait: bool = False) -> None:
        """-1 opens, +1 grasps with ``robot.gripper_grasp_force`` (clipped to ``gripper_max_force``).
        With ``wait``, returns once the command finished; a command that never finishes raises
        :class:`DeviceFaultError` after ``gripper_timeout_s``."""
        with self._lock:
            self._gripper_closed = None
            seq = self._command_gripper(command)
            if wait and seq is not None:
                try:
                    wait_for(lambda: self.read_state() and self._gripper["done_seq"] >= seq,
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
    def _start_worker(self) -> None:
        parent, child = socket.socketpair()
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "robot_rl.hardware.franka_worker",
                                           str(child.fileno())], pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        finally:
            child.close()
        self._conn = Connection(parent.detach())

    def _kill_worker(self) -> None:
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=0.5)  # after "close" it exits by itself
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5.0)

    def _call(self, op: str, *args, timeout_s: float | None = None, what: str = ""):
        """One call into the worker; raises :class:`DeviceFaultError` (after dropping the connection,
        which stops the arm) when no answer comes within the deadline."""
        timeout = self.call_timeout_s if timeout_s is None else timeout_s
        what = what or op
        if self._fault is not None:
            raise DeviceFaultError(self._fault)
        if not self._rpc.acquire(timeout=timeout + self.connect_timeout_s):  # the holder has a deadline too
            raise DeviceFaultError(f"Franka: {what}: another call into libfranka did not return")
        try:
            conn = self._conn
            if conn is None:
                raise DeviceFaultError(self._fault or "Franka is not connected: call connect() first")
            try:
                conn.send((op, args))
                if not conn.poll(timeout):
                    raise self._fail(f"libfranka gave no answer to {what} within {timeout:g} s")
                reply = conn.recv()
            except (EOFError, OSError) as exc:
                raise self._fail(f"the libfranka process ended during {what} ({exc!r})") from exc
        finally:
            self._rpc.release()
        if reply[0] == "ok":
            return reply[1]
        _, kind, message = reply
        raise (MotionError if kind == "control" else DeviceError)(message)

    def _fail(self, what: str) -> DeviceFaultError:
        """A deadline passed: record it, drop the connection (the arm stops) and return the error to raise."""
        self._fault = (f"Franka: {what}; dropped the connection to {self.cfg.ip}, which stops the arm. Fix: check "
                       "the network and the robot's state in Desk, then connect() again (robot-rl doctor)")
        log.error("%s", self._fault)
        self.faults.append(FaultRecord(time.monotonic(), what, (), recovered=False))
        self.watchdog.disarm()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        self._kill_worker()
        return DeviceFaultError(self._fault)

    def _check_gripper_deadline(self, g: dict) -> None:
        busy = g.get("busy")
        if busy is None or time.monotonic() - busy[2] <= self.gripper_timeout_s:
            return
        op = busy[1]
        what = f"the gripper's {op} got no answer within {self.gripper_timeout_s:g} s"
        try:  # the arm's side still answers: stop it before dropping the connection
            self._call("stop", what="stop after a gripper fault")
        except DeviceError as exc:
            log.warning("Franka stop after gripper fault: %s", exc)
        raise self._fail(what)

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
        """Stops the arm when commands stop arriving, and puts the deadline on a gripper command even
        when nobody reads the state."""
        period = self.watchdog.timeout_s / 5.0
        while not self._stop.wait(period):
            if self.watchdog.check():
                log.warning("Franka: no command for %.3f s (watchdog %.3f s): stopping the arm",
                            self.watchdog.age(), self.watchdog.timeout_s)
                self.faults.append(FaultRecord(time.monotonic(), "watchdog: commands stopped arriving", (), True))
                self.stop()
            busy = self._gripper.get("busy")
            if busy is not None and time.monotonic() - busy[2] > self.gripper_timeout_s and self._fault is None:
                try:
                    self.read_state()  # fresh status: raises (and stops the arm) if it is still stuck
                except DeviceError as exc:
                    log.debug("watchdog: %s", exc)
