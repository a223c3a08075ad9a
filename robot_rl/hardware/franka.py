"""A Franka FR3/Panda through libfranka (``franky-control``) behind the :class:`Robot` interface.

Each control step's action goes through the same :meth:`SafetyLimits.command` gate as the MuJoCo twin
and becomes an absolute Cartesian target that franky tracks with its own velocity/acceleration/jerk
bounded trajectory (``robot.dynamics_factor`` of the arm's limits). Motions are asynchronous, and
each new target preempts the previous one, so ``send_action`` never waits for the arm. A watchdog
thread stops the arm when commands stop arriving; reflex errors are recovered automatically up to
``robot.max_reflex_recoveries`` per episode (between :meth:`reset` calls), then
:class:`DeviceFaultError` stops the stack. The gripper's width is polled in a thread because
libfranka's gripper read blocks until the next gripper packet.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from robot_rl.config.schema import RobotConfig
from robot_rl.control.rotations import quat_to_mat
from robot_rl.control.safety import ClipReport, SafetyLimits, Watchdog
from robot_rl.hardware.errors import DeviceFaultError, DeviceNotFoundError, require
from robot_rl.hardware.robot import Robot, RobotState, SentCommand

log = logging.getLogger(__name__)

GRIPPER_HYSTERESIS = 0.5  # |gripper action| beyond this closes / opens; in between keeps the last command


@dataclass(frozen=True)
class FaultRecord:
    """One error the backend met and what it did about it."""

    stamp: float  # time.monotonic()
    message: str
    errors: tuple[str, ...]
    recovered: bool


def error_names(errors: object) -> tuple[str, ...]:
    """Active flags of a ``franky.Errors`` as libfranka names, e.g. ``("joint_reflex",)``."""
    names = []
    for name in dir(type(errors)):
        if name.startswith("_"):
            continue
        value = getattr(errors, name, False)
        if isinstance(value, bool) and value:
            names.append(name)
    return tuple(names)


class FrankaRobot(Robot):
    """Lifecycle: ``connect()`` ... ``disconnect()`` (or a context manager, which also stops the arm)."""

    def __init__(self, cfg: RobotConfig, limits: SafetyLimits | None = None, connect_timeout_s: float = 5.0) -> None:
        self.cfg = cfg
        self.limits = limits or SafetyLimits(cfg)
        self.connect_timeout_s = connect_timeout_s
        self.watchdog = Watchdog(cfg.watchdog_s)
        self.faults: list[FaultRecord] = []
        self.reflex_count = 0
        self._franky = None
        self._robot = None
        self._gripper = None
        self._gripper_width = float("nan")
        self._gripper_closed: bool | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()  # one command at a time: control thread vs watchdog thread

    # lifecycle -------------------------------------------------------------------------------------------
    def connect(self) -> None:
        franky = self._franky = require("franky", "franka")
        self._check_reachable()
        rt = franky.RealtimeConfig.Enforce if self.cfg.realtime else franky.RealtimeConfig.Ignore
        try:
            self._robot = franky.Robot(self.cfg.ip, realtime_config=rt)
            self._gripper = franky.Gripper(self.cfg.ip)
        except franky.RealtimeException as exc:
            raise DeviceNotFoundError(f"Franka at {self.cfg.ip}: {exc}. Fix: run on a PREEMPT_RT kernel with rtprio "
                                      "rights, or set robot.realtime=false (simulator / testing only)") from exc
        except (franky.NetworkException, franky.IncompatibleVersionException, franky.GripperException) as exc:
            raise DeviceNotFoundError(f"Franka at {self.cfg.ip}: {exc}. Fix: unlock the joints and activate FCI "
                                      "in Desk; check that libfranka matches the robot's system version") from exc
        self._robot.relative_dynamics_factor = self.cfg.dynamics_factor
        self._gripper_width = float(self._gripper.width)
        self._stop.clear()
        self._threads = [threading.Thread(target=self._poll_gripper, name="franka-gripper", daemon=True),
                         threading.Thread(target=self._watch, name="franka-watchdog", daemon=True)]
        for t in self._threads:
            t.start()

    def disconnect(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads = []
        self.watchdog.disarm()
        self._robot = None
        self._gripper = None

    @property
    def connected(self) -> bool:
        return self._robot is not None

    # state -----------------------------------------------------------------------------------------------
    def read_state(self) -> RobotState:
        s = self._require().state
        pose = s.O_T_EE
        pos = np.asarray(pose.translation, dtype=np.float64)
        x, y, z, w = np.asarray(pose.quaternion, dtype=np.float64)
        quat = np.array([w, x, y, z]) * (1.0 if w >= 0 else -1.0)
        return RobotState(ee_pos=pos, ee_quat=quat, gripper_width=self._gripper_width,
                          joint_pos=np.asarray(s.q, dtype=np.float64), joint_vel=np.asarray(s.dq, dtype=np.float64),
                          stamp=time.monotonic(), ee_mat=quat_to_mat(quat), mode=s.robot_mode.name,
                          errors=error_names(s.current_errors))

    # commands --------------------------------------------------------------------------------------------
    def send_action(self, action: np.ndarray) -> SentCommand:
        """Check and clip the action, start the motion to its target and return at once."""
        franky = self._franky
        with self._lock:
            self._raise_pending_fault()
            state = self.read_state()
            if state.errors:
                self._recover(f"robot reports errors {list(state.errors)} (mode {state.mode})", state.errors)
                state = self.read_state()
            cmd = self.limits.command(action, state.ee_pos, state.ee_mat)
            w, x, y, z = cmd.target_quat
            motion = franky.CartesianMotion(franky.Affine(cmd.target_pos, np.array([x, y, z, w])),
                                            franky.ReferenceType.Absolute)
            self._move(motion)
            self._command_gripper(cmd.gripper)
            self.watchdog.feed()
        return SentCommand(action=cmd.action, target_pos=cmd.target_pos, target_quat=cmd.target_quat,
                           gripper=cmd.gripper, clip=cmd.clip)

    def move_joints(self, q: np.ndarray, wait: bool = True, timeout_s: float = 30.0) -> tuple[np.ndarray, ClipReport]:
        """Move to a (7,) joint target (clipped to the joint box); blocks until there unless ``wait=False``."""
        franky = self._franky
        target, idx = self.limits.clip_joints(q)
        with self._lock:
            self.watchdog.disarm()  # a deliberate point-to-point move, not a stream of commands
            self._raise_pending_fault()
            self._move(franky.JointMotion(target))
            if wait:
                self._join(timeout_s)
        return target, ClipReport(limits=tuple(f"joint{i + 1}" for i in idx))

    def reset(self, timeout_s: float = 30.0) -> RobotState:
        """Start of an episode: recover if needed, open the gripper, go home; resets the reflex budget."""
        with self._lock:
            self._raise_pending_fault(budgeted=False)
            if self.read_state().errors:
                self._recover("errors at reset", self.read_state().errors, budgeted=False)
            self.reflex_count = 0
            self.move_joints(np.asarray(self.cfg.home_joints), wait=True, timeout_s=timeout_s)
            self.set_gripper(-1.0, wait=True)
        return self.read_state()

    def set_gripper(self, command: float, wait: bool = False) -> None:
        """-1 opens, +1 grasps with ``robot.gripper_grasp_force`` (clipped to ``gripper_max_force``)."""
        with self._lock:
            self._gripper_closed = None
            future = self._command_gripper(command)
            if wait and future is not None:
                future.wait(10.0)

    def stop(self) -> None:
        """Stop any motion and hold; safe from any state (errors are logged, not raised)."""
        self.watchdog.disarm()
        robot = self._robot
        if robot is None:
            return
        try:
            robot.stop()
            robot.join_motion(1.0)
        except Exception as exc:  # the motion it stops reports itself as preempted: expected
            log.debug("stop: %s", exc)

    # internals -------------------------------------------------------------------------------------------
    def _require(self):
        if self._robot is None:
            raise DeviceFaultError("Franka is not connected: call connect() first")
        return self._robot

    def _check_reachable(self) -> None:
        import socket

        try:
            with socket.create_connection((self.cfg.ip, 1337), timeout=self.connect_timeout_s):
                pass
        except OSError as exc:
            raise DeviceNotFoundError(
                f"Franka at {self.cfg.ip}:1337 unreachable ({exc}). Fix: check the cable to the Control box, "
                f"the PC's address on the robot's subnet, and that FCI is activated in Desk (robot.ip=...)") from exc

    def _move(self, motion) -> None:
        franky = self._franky
        robot = self._require()
        try:
            robot.move(motion, asynchronous=True)
        except franky.ControlException as exc:  # the previous motion's error surfaces here
            self._recover(str(exc), error_names(robot.state.last_motion_errors))
            robot.move(motion, asynchronous=True)

    def _join(self, timeout_s: float) -> None:
        franky = self._franky
        robot = self._require()
        try:
            if not robot.join_motion(timeout_s):
                raise DeviceFaultError(f"Franka: motion did not finish within {timeout_s:g} s")
        except franky.ControlException as exc:
            self._recover(str(exc), error_names(robot.state.last_motion_errors))
            raise DeviceFaultError(f"Franka: motion aborted ({exc}); recovered, not retried") from exc

    def _raise_pending_fault(self, budgeted: bool = True) -> None:
        """poll_motion re-raises an error of the last asynchronous motion (reflex, preemption)."""
        franky = self._franky
        robot = self._require()
        try:
            robot.poll_motion()
        except franky.ControlException as exc:
            if "preempted" in str(exc).lower():  # our own stop() or a newer target: not a fault
                return
            self._recover(str(exc), error_names(robot.state.last_motion_errors), budgeted)

    def _recover(self, message: str, errors: tuple[str, ...], budgeted: bool = True) -> None:
        """Automatic error recovery; counts against the episode's budget unless an operator asked (reset)."""
        robot = self._require()
        errors = errors or self.read_state().errors
        self.reflex_count += int(budgeted)
        if budgeted and self.reflex_count > self.cfg.max_reflex_recoveries:
            self.faults.append(FaultRecord(time.monotonic(), message, errors, recovered=False))
            self.stop()
            raise DeviceFaultError(
                f"Franka: error #{self.reflex_count} this episode ({message.strip()}; flags {list(errors)}) exceeds "
                f"robot.max_reflex_recoveries={self.cfg.max_reflex_recoveries}; stopping. Check the workspace for "
                "obstacles and the payload/collision settings, then restart.")
        ok = robot.recover_from_errors()
        deadline = time.monotonic() + 1.0
        while ok and robot.has_errors and time.monotonic() < deadline:
            robot.state  # noqa: B018 - reads the next state packet, which should show the recovery
        ok = ok and not robot.has_errors
        self.faults.append(FaultRecord(time.monotonic(), message, errors, recovered=ok))
        log.warning("Franka: %s (flags %s) -> automatic recovery %s (%d/%d this episode)", message.strip(),
                    list(errors), "succeeded" if ok else "FAILED", self.reflex_count, self.cfg.max_reflex_recoveries)
        if not ok:
            raise DeviceFaultError(f"Franka: automatic error recovery failed after '{message.strip()}' "
                                   f"(flags {list(errors)}). Fix: recover in Desk (or release the stop), then restart.")

    def _command_gripper(self, command: float):
        gripper = self._gripper
        if gripper is None:
            return None
        if command > GRIPPER_HYSTERESIS and self._gripper_closed is not True:
            force, _ = self.limits.clip_gripper_force(self.cfg.gripper_grasp_force)
            self._gripper_closed = True
            return gripper.grasp_async(0.0, self.cfg.gripper_speed, force, epsilon_inner=0.1, epsilon_outer=0.1)
        if command < -GRIPPER_HYSTERESIS and self._gripper_closed is not False:
            self._gripper_closed = False
            return gripper.move_async(self.cfg.gripper_max_width, self.cfg.gripper_speed)
        return None

    def _poll_gripper(self) -> None:
        while not self._stop.wait(0.01):
            gripper = self._gripper
            if gripper is None:
                return
            try:
                self._gripper_width = float(gripper.width)
            except Exception as exc:  # a lost gripper connection: report, keep trying
                self._gripper_width = float("nan")
                log.warning("Franka gripper: %s", exc)
                self._stop.wait(0.5)

    def _watch(self) -> None:
        period = self.watchdog.timeout_s / 5.0
        while not self._stop.wait(period):
            if self.watchdog.check():
                log.warning("Franka: no command for %.3f s (watchdog %.3f s): stopping the arm",
                            self.watchdog.age(), self.watchdog.timeout_s)
                self.faults.append(FaultRecord(time.monotonic(), "watchdog: commands stopped arriving", (), True))
                robot = self._robot
                if robot is not None:
                    try:
                        robot.stop()
                    except Exception as exc:
                        log.warning("Franka watchdog stop: %s", exc)
