"""franky-sim as a child process: the libfranka protocol peer the Franka backend is tested against.

The simulator runs its 1 kHz loop in its own process (the GIL would otherwise couple it to the client)
and binds a random 127.x.y.z, since libfranka's ports are fixed (1337/1338). Used by the tests, the
hardware benchmark and anyone who wants to try the real driver without an arm::

    with FrankySimPeer() as peer:
        robot = FrankaRobot(dataclasses.replace(cfg.robot, ip=peer.host, realtime=False))
"""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from robot_rl.hardware.errors import DeviceError


class FrankySimPeer:
    """Lifecycle: ``start()`` (returns once the server listens) ... ``stop()``, or a context manager."""

    def __init__(self, host: str = "", realtime: float = 1.0, startup_timeout_s: float = 60.0) -> None:
        self.requested_host = host
        self.realtime = realtime
        self.startup_timeout_s = startup_timeout_s
        self.host = ""
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()
        self._stderr = tempfile.NamedTemporaryFile(prefix="franky-sim-", suffix=".log", delete=False)  # noqa: SIM115

    def start(self) -> FrankySimPeer:
        cmd = [sys.executable, "-m", "robot_rl.testing.franka_sim_server", "--realtime", str(self.realtime)]
        if self.requested_host:
            cmd += ["--host", self.requested_host]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      text=True, bufsize=1)
        threading.Thread(target=self._read_stdout, name="franky-sim-stdout", daemon=True).start()
        try:
            self.host = self._expect("READY", self.startup_timeout_s).split()[1]
        except BaseException:
            self.stop()
            raise
        return self

    def inject_reflex(self, timeout_s: float = 5.0) -> None:
        """Abort the running motion with a joint reflex; the arm stays in Reflex mode until recovered."""
        self._send("reflex")
        self._expect("ACK reflex", timeout_s)

    def mute(self, what: str, timeout_s: float = 5.0) -> None:
        """Stop answering: ``"gripper"`` drops gripper replies (the commands still run), ``"robot"`` leaves
        the arm's commands unread (state still streams), ``"state"`` stops the state packets,
        ``"gripper_state"`` only the gripper's; ``"none"`` answers again."""
        line = "unmute" if what == "none" else f"mute {what}"
        self._send(line)
        self._expect(f"ACK {line}", timeout_s)

    def status(self, timeout_s: float = 5.0) -> tuple[str, int]:
        """(``"ok"`` or ``"reflex"``, number of automatic error recoveries the server received)."""
        return self.details(timeout_s)[:2]

    def details(self, timeout_s: float = 5.0) -> tuple[str, int, str, bool]:
        """:meth:`status` plus the arm's control mode (``"IDLE"`` when it holds still) and whether a
        libfranka client is connected."""
        self._send("status")
        _, mode, recoveries, control, client = self._expect("STATUS", timeout_s).split()
        return mode, int(recoveries), control, client == "yes"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write("quit\n")
                proc.stdin.flush()
            proc.wait(timeout=10)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=10)
        finally:
            self._stderr.close()
            Path(self._stderr.name).unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> FrankySimPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _send(self, line: str) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.poll() is not None:
            raise DeviceError(f"franky-sim is not running{self._log_tail()}")
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def _read_stdout(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            self._lines.put(line.strip())

    def _expect(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._proc is not None and self._proc.poll() is not None and self._lines.empty()):
                raise DeviceError(f"franky-sim: no '{prefix}' within {timeout_s:g} s{self._log_tail()}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line

    def _log_tail(self) -> str:
        try:
            text = Path(self._stderr.name).read_text()[-2000:]
        except OSError:
            return ""
        return f"; its log ends:\n{text}" if text.strip() else ""
