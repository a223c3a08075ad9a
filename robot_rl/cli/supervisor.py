"""Run the node graph as supervised processes (what ``robot-rl up`` does where ``ros2 launch`` is not
installed): start every node, prefix and forward its output, report a node that dies, and when a hardware
node dies stop the robot first. Shutdown goes in reverse start order (the actor stops commanding before
the robot node, whose own cleanup stops the arm): SIGINT, then SIGTERM, then SIGKILL after a grace period.

Policy: a *required* node that exits ends the run (exit code 0 only when it exited cleanly and was not a
hardware node); an optional node (the learner) that dies is reported and the rest keeps running (the actor
keeps the weights it has).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

STOP_ROBOT_SIGNAL = signal.SIGUSR1  # the robot node halts the arm and refuses commands from then on


@dataclass(frozen=True)
class NodeSpec:
    name: str
    argv: Sequence[str]
    hardware: bool = False
    required: bool = True


@dataclass(frozen=True)
class NodeExit:
    name: str
    returncode: int
    hardware: bool
    required: bool

    def describe(self) -> str:
        how = "exited cleanly" if self.returncode == 0 else (
            f"died (signal {-self.returncode})" if self.returncode < 0 else f"died (exit code {self.returncode})")
        return f"node {self.name} {how}"


@dataclass
class _Running:
    spec: NodeSpec
    proc: subprocess.Popen
    pump: threading.Thread | None = None
    exited: bool = False


@dataclass
class Supervisor:
    specs: Sequence[NodeSpec]
    env: Mapping[str, str] | None = None
    report: Callable[[str], None] = field(default=lambda msg: print(f"[up] {msg}", flush=True))
    output: IO[str] | None = None  # where node output goes, prefixed "[name] " (default: sys.stdout)
    stop_grace_s: float = 5.0
    robot_node: str = "robot"
    exits: list[NodeExit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._nodes: list[_Running] = []
        self._out_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Supervisor:
        for spec in self.specs:
            self._launch(spec)
        return self

    def _launch(self, spec: NodeSpec) -> _Running:
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(list(spec.argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1, start_new_session=True)
        node = _Running(spec, proc)
        node.pump = threading.Thread(target=self._pump, args=(node,), daemon=True, name=f"pump-{spec.name}")
        node.pump.start()
        self._nodes.append(node)
        self.report(f"started node {spec.name} (pid {proc.pid}): {' '.join(spec.argv)}")
        return node

    def restart(self, name: str) -> int:
        """Start a fresh process for node ``name`` once its previous one has exited (the fault-injection soak's
        restart; ``robot-rl up`` itself never restarts). Returns the new pid. Stop order stays the start order:
        the new incarnation takes its predecessor's place."""
        old = [i for i, n in enumerate(self._nodes) if n.spec.name == name]
        if not old:
            raise KeyError(f"no node named {name!r}")
        if self._nodes[old[-1]].proc.poll() is None:
            raise RuntimeError(f"node {name} is still running (pid {self._nodes[old[-1]].proc.pid})")
        self.poll()  # its exit is reported before the new one starts
        node = self._launch(self._nodes[old[-1]].spec)
        self._nodes.remove(node)
        self._nodes.insert(old[-1] + 1, node)
        return node.proc.pid

    def signal(self, name: str, sig: int) -> int | None:
        """Send ``sig`` to the running process of node ``name``; its pid, or None when it is not running."""
        pid = self.pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pid(self, name: str) -> int | None:
        for node in self._nodes:
            if node.spec.name == name and node.proc.poll() is None:
                return node.proc.pid
        return None

    def poll(self) -> list[NodeExit]:
        """Nodes that exited since the last call (each reported once)."""
        new = []
        for node in self._nodes:
            rc = node.proc.poll()
            if rc is not None and not node.exited:
                node.exited = True
                if node.pump is not None:
                    node.pump.join(timeout=1.0)
                e = NodeExit(node.spec.name, rc, node.spec.hardware, node.spec.required)
                self.exits.append(e)
                new.append(e)
        return new

    def run(self, should_stop: Callable[[], bool] = lambda: False, poll_s: float = 0.1) -> int:
        """Watch the nodes until a required one exits or ``should_stop()``; then stop all. Returns the exit code."""
        code = 0
        try:
            while not should_stop():
                ended = False
                for e in self.poll():
                    if e.returncode != 0 or e.hardware:
                        self.report(f"ERROR: {e.describe()}")
                    else:
                        self.report(e.describe())
                    if e.hardware and e.returncode != 0:
                        self.stop_robot(reason=e.describe())
                    if e.required:
                        ended = True
                        code = code or (0 if e.returncode == 0 and not e.hardware else 1)
                if ended:
                    break
                time.sleep(poll_s)  # a polling interval, not synchronisation: the loop re-checks every state
        finally:
            self.stop()
        return code

    def stop_robot(self, reason: str) -> None:
        """Ask the robot node to halt the arm (and refuse further commands); if the robot node itself is gone,
        its driver's connection to the arm went with it (libfranka stops the arm when its control link drops)."""
        pid = self.pid(self.robot_node)
        if pid is None:
            self.report(f"stopping the robot ({reason}): robot node not running; the arm stops when its driver's "
                        f"control connection drops")
            return
        self.report(f"stopping the robot ({reason}): signalling node {self.robot_node} (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, STOP_ROBOT_SIGNAL)

    def stop(self) -> None:
        """Reverse start order: SIGINT, wait up to ``stop_grace_s``, SIGTERM, then SIGKILL."""
        for node in reversed(self._nodes):
            if node.proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.proc.pid, signal.SIGCONT)  # a paused (SIGSTOP) node could not act on SIGINT
            for sig, wait in ((signal.SIGINT, self.stop_grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
                try:
                    node.proc.send_signal(sig)
                    node.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    self.report(f"node {node.spec.name} did not stop on {signal.Signals(sig).name}")
                except ProcessLookupError:
                    break
        self.poll()
        for node in self._nodes:
            if node.pump is not None:
                node.pump.join(timeout=1.0)

    # ------------------------------------------------------------------ output
    def _pump(self, node: _Running) -> None:
        out = self.output or sys.stdout
        assert node.proc.stdout is not None
        for line in node.proc.stdout:
            with self._out_lock:
                out.write(f"[{node.spec.name}] {line}")
                out.flush()


# ---------------------------------------------------------------------------------------------- from config
def package_path(configured: str = "") -> str:
    """Where ``robot_rl_ros`` is imported from when it is not installed (a colcon install or a sourced
    workspace puts it on the path already): ``ros.package_path`` or this repository's ros_ws/src/robot_rl_ros."""
    from pathlib import Path

    return configured or str(Path(__file__).resolve().parents[2] / "ros_ws" / "src" / "robot_rl_ros")


def graph_specs(nodes: Sequence, overrides: Sequence[str], python: str = sys.executable) -> list[NodeSpec]:
    """One process per ``ros.nodes`` entry, each given the same config overrides as the command line."""
    return [NodeSpec(n.name, [python, "-m", f"robot_rl_ros.{n.executable}", *overrides], hardware=n.hardware,
                     required=n.required) for n in nodes]


def graph_env(discovery_range: str, configured_package_path: str = "") -> dict[str, str]:
    """Environment for the nodes: the package on PYTHONPATH, discovery kept to ``discovery_range`` unless the
    environment already says otherwise (ROS_DOMAIN_ID is inherited)."""
    path = package_path(configured_package_path)
    old = os.environ.get("PYTHONPATH", "")
    env = {"PYTHONPATH": f"{path}{os.pathsep}{old}" if old else path}
    if "ROS_AUTOMATIC_DISCOVERY_RANGE" not in os.environ:
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery_range
    return env
