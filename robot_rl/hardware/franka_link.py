"""The parent's end of :mod:`robot_rl.hardware.franka_worker`: start it, call into it with a deadline,
read its shared state block, end it.

A call that gets no answer in time, or a worker that dies, ends the worker (which drops its libfranka
connections) and raises :class:`LinkLost`; :class:`robot_rl.hardware.franka.FrankaRobot` turns that
into a recorded fault.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection

import numpy as np

from robot_rl.hardware import franka_worker as fw
from robot_rl.hardware.errors import DeviceError


class MotionError(DeviceError):
    """An error of an asynchronous motion (libfranka's ControlException), reported by the worker."""


class LinkLost(DeviceError):
    """The worker did not answer in time, or ended; it has been killed."""


class WorkerLink:
    """Lifecycle: ``start()`` ... ``close()`` (or ``kill()``); one call in flight at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self.state: np.ndarray | None = None  # (fw.STATE_SLOTS,) float64 shared with the worker
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        parent, child = socket.socketpair()
        state_fd = os.memfd_create("franka-state")
        try:
            os.ftruncate(state_fd, fw.STATE_SLOTS * 8)
            self.state = np.frombuffer(mmap.mmap(state_fd, fw.STATE_SLOTS * 8), dtype=np.float64)
            fds = (child.fileno(), state_fd)
            self._proc = subprocess.Popen([sys.executable, "-m", "robot_rl.hardware.franka_worker", *map(str, fds)],
                                          pass_fds=fds, stdin=subprocess.DEVNULL)
        finally:
            child.close()
            os.close(state_fd)
        self._conn = Connection(parent.detach())

    def call(self, op: str, *args, timeout_s: float, what: str):
        """``op`` in the worker; returns its value, raises :class:`MotionError` / :class:`DeviceError` for
        the errors it reports, :class:`LinkLost` when no answer comes within ``timeout_s``."""
        if not self._lock.acquire(timeout=2 * timeout_s + 5.0):  # the holder has a deadline too
            raise DeviceError(f"{what}: another call into libfranka did not return")
        try:
            conn = self._conn
            if conn is None:
                raise LinkLost(f"{what}: not connected")
            try:
                conn.send((op, args))
                if not conn.poll(timeout_s):
                    self.kill()
                    raise LinkLost(f"libfranka gave no answer to {what} within {timeout_s:g} s")
                reply = conn.recv()
            except (EOFError, OSError) as exc:
                self.kill()
                raise LinkLost(f"the libfranka process ended during {what} ({exc!r})") from exc
        finally:
            self._lock.release()
        if reply[0] == "ok":
            return reply[1]
        _, kind, message = reply
        raise (MotionError if kind == "control" else DeviceError)(message)

    def close(self, timeout_s: float = 2.0) -> None:
        """Ask the worker to exit, then make sure it has."""
        if self._conn is not None and self.alive:
            with contextlib.suppress(DeviceError):  # killed below (LinkLost already did)
                self.call("close", timeout_s=timeout_s, what="closing")
        self.kill(grace_s=0.5)

    def kill(self, grace_s: float = 0.0) -> None:
        """End the worker (at once, or after ``grace_s`` for one that is exiting by itself)."""
        proc, conn, self._proc, self._conn, self.state = self._proc, self._conn, None, None, None
        if conn is not None:
            conn.close()
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=grace_s)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5.0)
