"""The libfranka side of :class:`robot_rl.hardware.franka.FrankaRobot`, in a child process of its own.

libfranka waits for some TCP replies with no deadline at all: the connect handshake, error recovery,
``stop``, and every gripper command (``Network::tcpBlockingReceiveResponse`` loops until the reply
comes). A controller or simulator that never answers therefore blocks the caller forever, and a
blocked C++ call cannot be cancelled from Python (nor interrupted by a signal). Ending the process that
made the call can: it also drops the FCI connection, which makes a real arm stop. So every franky object
lives here; the parent calls in with a deadline and kills this process when one passes.

Protocol, over the socket pair given as ``argv[1]`` (a :class:`multiprocessing.connection.Connection`,
pickled messages): the parent sends ``(op, args)``, this process answers each with ``("ok", value)`` or
``("err", kind, message)``; kind is ``"control"`` (an error of a motion: ``franky.ControlException``, or
a RuntimeError of franky's trajectory planner), ``"realtime"``, ``"network"`` or ``"other"``. The state is
not a call: a thread here publishes it a few hundred times a second into a shared memory block
(``argv[2]``, a memfd; layout below, guarded by a sequence counter), so reading it never waits on
libfranka nor on this process.

Gripper commands run one at a time in a thread of their own (the newest waiting command replaces an
older waiting one; a running one is never preempted, because a gripper command sent while another runs
may leave the first one without a reply), and another thread reads the gripper width; ``state`` reports
both, with when the running gripper command began, so the parent can put a deadline on it too.

(franky's ``grasp_async``/``move_async`` send the new command before waiting for the running one;
franky-sim never answers a command that a newer one preempted, so the first future never completes and
the next async call waits for it for ever: the hang this design replaced.)
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import sys
import threading
import time

import numpy as np

# The shared state block: float64 slots. SEQ is odd while a sample is being written.
SEQ, STAMP, Q, DQ, POS, QUAT, MODE, ERRORS = 0, 1, slice(2, 9), slice(9, 16), slice(16, 19), slice(19, 23), 23, 24
MAX_ERRORS = 64  # libfranka 0.21 has 41 error flags
G_WIDTH, G_WIDTH_STAMP, G_BUSY_SEQ, G_BUSY_OP, G_BUSY_SINCE, G_DONE_SEQ = range(ERRORS + MAX_ERRORS,
                                                                          ERRORS + MAX_ERRORS + 6)
STATE_SLOTS = G_DONE_SEQ + 1
GRIPPER_OPS = ("", "grasp", "move")  # G_BUSY_OP codes
STATE_PERIOD_S = 0.002


def error_names(errors: object) -> list[str]:
    """Active flags of a ``franky.Errors`` as libfranka names, e.g. ``["joint_reflex"]``."""
    names = []
    for name in dir(type(errors)):
        if not name.startswith("_") and getattr(errors, name, False) is True:
            names.append(name)
    return names


class MotionFailed(Exception):
    """A motion ended with an error franky reports as a plain RuntimeError (e.g. its trajectory planner's
    "Motion planner failed with error code -111", met on near-zero moves): reported like a ControlException."""


def _motion(call):
    """Runs a motion call, reporting franky's RuntimeErrors as :class:`MotionFailed`."""
    try:
        return call()
    except RuntimeError as exc:
        raise MotionFailed(f"{type(exc).__name__}: {exc}") from exc


class GripperWorker:
    """Gripper commands one at a time in one thread, the width read in another (both daemons)."""

    def __init__(self, gripper) -> None:
        self.gripper = gripper
        self._cond = threading.Condition()
        self._pending: tuple[int, str, tuple] | None = None
        self._seq = 0
        self.busy: tuple[int, str, float] | None = None  # (seq, op, time.monotonic() at its start)
        self.done_seq = 0  # every command up to this one has finished or was replaced before it started
        self.last_result: bool | None = None
        self.error = ""
        self.width, self.width_stamp = float(gripper.width), time.monotonic()
        for target, name in ((self._run_commands, "gripper-commands"), (self._read_width, "gripper-width")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def submit(self, op: str, args: tuple) -> int:
        with self._cond:
            self._seq += 1
            if self._pending is not None:  # replaced before it started: counts as done
                self.done_seq = max(self.done_seq, self._pending[0])
            self._pending = (self._seq, op, args)
            self._cond.notify()
            return self._seq

    def status(self) -> tuple[float, ...]:
        """Values for the slots G_WIDTH ... G_DONE_SEQ of the state block."""
        with self._cond:
            seq, op, since = self.busy or (0, "", 0.0)
            return (self.width, self.width_stamp, seq, GRIPPER_OPS.index(op), since, self.done_seq)

    def _report(self, error: str) -> None:
        if error != self.error:
            print(f"franka worker: {error}", file=sys.stderr, flush=True)
        self.error = error

    def _run_commands(self) -> None:
        while True:
            with self._cond:
                while self._pending is None:
                    self._cond.wait()
                (seq, op, args), self._pending = self._pending, None
                self.busy = (seq, op, time.monotonic())
            error = ""
            try:
                ok = bool(self.gripper.grasp(*args) if op == "grasp" else self.gripper.move(*args))
            except Exception as exc:  # a CommandException (e.g. nothing to grasp) or a lost connection
                ok, error = False, f"gripper {op}: {exc}"
            with self._cond:
                self.busy, self.done_seq, self.last_result = None, seq, ok
            if error:
                self._report(error)

    def _read_width(self) -> None:
        while True:
            try:
                width = float(self.gripper.width)  # libfranka: the next gripper state packet (1 s timeout)
            except Exception as exc:
                self._report(f"gripper state: {exc}")
                time.sleep(0.5)
                continue
            with self._cond:
                self.width, self.width_stamp = width, time.monotonic()
            time.sleep(0.005)  # ~100-200 Hz is plenty; the hand itself reports far slower


class Worker:
    """One franky Robot + Gripper; each ``op_*`` method is one call the parent can make."""

    def __init__(self, state: np.ndarray) -> None:
        self.state = state  # (STATE_SLOTS,) float64 in shared memory
        self.franky = None
        self.robot = None
        self.gripper: GripperWorker | None = None

    def op_connect(self, ip: str, realtime: bool, dynamics_factor: float) -> dict:
        """Connects; returns the names the state block's codes stand for."""
        import franky

        self.franky = franky
        rt = franky.RealtimeConfig.Enforce if realtime else franky.RealtimeConfig.Ignore
        self.robot = franky.Robot(ip, realtime_config=rt)
        self.robot.relative_dynamics_factor = dynamics_factor
        self.gripper = GripperWorker(franky.Gripper(ip))
        errors = self.robot.state.current_errors
        self._error_attrs = [n for n in dir(type(errors)) if not n.startswith("_")
                             and isinstance(getattr(errors, n, None), bool)][:MAX_ERRORS]
        self._modes = {int(m): name for name, m in franky.RobotMode.__members__.items()}
        self._publish()
        threading.Thread(target=self._publish_loop, name="franka-state", daemon=True).start()
        return {"errors": self._error_attrs, "modes": self._modes}

    def _publish(self) -> None:
        """One state sample into the block (seqlock: SEQ odd while writing)."""
        stamp = time.monotonic()  # before the read: a sample stamped after a command reflects it
        s = self.robot.state
        pose, errors = s.O_T_EE, s.current_errors
        row = np.zeros(STATE_SLOTS)
        row[STAMP], row[Q], row[DQ] = stamp, s.q, s.dq
        row[POS], row[QUAT], row[MODE] = pose.translation, pose.quaternion, int(s.robot_mode)
        row[ERRORS:ERRORS + len(self._error_attrs)] = [getattr(errors, n) for n in self._error_attrs]
        row[G_WIDTH:G_DONE_SEQ + 1] = self.gripper.status()
        buf = self.state
        buf[SEQ] += 1
        buf[1:] = row[1:]
        buf[SEQ] += 1

    def _publish_loop(self) -> None:
        last = ""
        while True:
            try:
                self._publish()
                last = ""
            except Exception as exc:  # e.g. libfranka's UDP timeout: the stamp goes stale, the parent sees it
                if str(exc) != last:
                    print(f"franka worker: state: {exc}", file=sys.stderr, flush=True)
                last = str(exc)
                time.sleep(0.05)
            time.sleep(STATE_PERIOD_S)

    def op_last_motion_errors(self) -> list[str]:
        return error_names(self.robot.state.last_motion_errors)

    def op_move_cartesian(self, pos: np.ndarray, quat_xyzw: np.ndarray) -> None:
        f = self.franky
        motion = f.CartesianMotion(f.Affine(pos, quat_xyzw), f.ReferenceType.Absolute)
        _motion(lambda: self.robot.move(motion, asynchronous=True))

    def op_move_joints(self, q: np.ndarray) -> None:
        _motion(lambda: self.robot.move(self.franky.JointMotion(q), asynchronous=True))

    def op_join(self, timeout_s: float) -> bool:
        return bool(_motion(lambda: self.robot.join_motion(timeout_s)))

    def op_poll_motion(self) -> None:
        _motion(self.robot.poll_motion)

    def op_recover(self) -> bool:
        ok = self.robot.recover_from_errors()
        deadline = time.monotonic() + 1.0
        while ok and self.robot.has_errors and time.monotonic() < deadline:
            self.robot.state  # noqa: B018 - reads the next state packet, which should show the recovery
        return bool(ok and not self.robot.has_errors)

    def op_stop(self) -> None:
        self.robot.stop()
        with contextlib.suppress(self.franky.ControlException):  # the stopped motion reports itself preempted
            self.robot.join_motion(1.0)

    def op_gripper(self, op: str, args: tuple) -> int:
        return self.gripper.submit(op, args)


def _kind(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("ControlException", "MotionFailed"):
        return "control"
    if name == "RealtimeException":
        return "realtime"
    if name in ("NetworkException", "IncompatibleVersionException", "GripperException", "ProtocolException"):
        return "network"
    return "other"


def _exit_with_parent(parent: int) -> None:
    """End this process when the parent is gone, even while a libfranka call blocks the main thread."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def serve(fd: int, state_fd: int) -> None:
    from multiprocessing.connection import Connection

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    conn = Connection(socket.socket(fileno=fd).detach())
    worker = Worker(np.frombuffer(mmap.mmap(state_fd, STATE_SLOTS * 8), dtype=np.float64))
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if op == "close":
            reply = ("ok", None)
        else:
            try:
                reply = ("ok", getattr(worker, f"op_{op}")(*args))
            except Exception as exc:
                reply = ("err", _kind(exc), f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:  # the parent gave up on this call and closed the connection
            return
        if op == "close":
            return


def main() -> int:
    serve(int(sys.argv[1]), int(sys.argv[2]))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    # os._exit: the interpreter's normal exit would destroy franky objects (joining threads that may be
    # blocked in libfranka); the sockets closing with the process is all the cleanup it needs.
    os._exit(main())
