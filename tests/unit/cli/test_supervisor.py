"""The supervisor: a dying hardware node is reported and the robot is stopped before the graph shuts down;
an optional node may die; a required node's clean exit ends the run; shutdown goes in reverse start order."""

from __future__ import annotations

import io
import sys
import time

from robot_rl.cli.supervisor import NodeSpec, Supervisor, graph_specs
from robot_rl.config import load_config

ROBOT = """
import signal, sys, time, pathlib
out = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGUSR1, lambda *_: out.with_suffix('.stopped').write_text('stopped'))
def bye(*_):
    out.with_suffix('.exit').write_text(str(time.monotonic()))
    sys.exit(0)
signal.signal(signal.SIGINT, bye)
out.write_text('ready')
while True:
    time.sleep(0.01)
"""

WAIT_THEN_EXIT = """
import pathlib, sys, time
code, ready = int(sys.argv[1]), [pathlib.Path(p) for p in sys.argv[2:]]
deadline = time.monotonic() + 30
while not all(p.exists() for p in ready) and time.monotonic() < deadline:
    time.sleep(0.01)
sys.exit(code)
"""

IDLE = """
import signal, sys, time, pathlib
out = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGINT, lambda *_: (out.write_text(str(time.monotonic())), sys.exit(0)))
out.with_suffix('.ready').write_text('ready')
while True:
    time.sleep(0.01)
"""


def _sup(specs, out):
    return Supervisor(specs, report=lambda m: out.append(m), output=io.StringIO(), stop_grace_s=5.0)


def test_hardware_node_death_stops_the_robot_and_the_graph(tmp_path):
    robot = tmp_path / "robot"
    reports: list[str] = []
    specs = [NodeSpec("robot", [sys.executable, "-c", ROBOT, str(robot)], hardware=True),
             NodeSpec("camera", [sys.executable, "-c", WAIT_THEN_EXIT, "3", str(robot), str(tmp_path / "actor.ready")],
                      hardware=True),
             NodeSpec("actor", [sys.executable, "-c", IDLE, str(tmp_path / "actor.exit")])]
    sup = _sup(specs, reports)
    code = sup.start().run(poll_s=0.02)
    assert code == 1
    assert any("ERROR: node camera died (exit code 3)" in r for r in reports), reports
    assert any("stopping the robot" in r for r in reports)
    assert robot.with_suffix(".stopped").read_text() == "stopped", "the robot node was not told to stop the arm"
    # reverse start order: the actor stopped before the robot
    assert float((tmp_path / "actor.exit").read_text()) < float(robot.with_suffix(".exit").read_text())


def test_optional_node_may_die_and_a_clean_required_exit_ends_the_run(tmp_path):
    flag = tmp_path / "go"
    reports: list[str] = []
    specs = [NodeSpec("learner", [sys.executable, "-c", "import sys; sys.exit(5)"], required=False),
             NodeSpec("actor", [sys.executable, "-c", WAIT_THEN_EXIT, "0", str(flag)])]
    sup = _sup(specs, reports).start()
    deadline = time.monotonic() + 30
    while not any(e.name == "learner" for e in sup.exits) and time.monotonic() < deadline:
        sup.poll()
    assert sup.pid("actor") is not None, "the actor must keep running when an optional node dies"
    flag.write_text("go")
    code = sup.run(poll_s=0.02)
    assert code == 0
    assert [e.name for e in sup.exits] == ["learner", "actor"]


def test_graph_specs_come_from_config():
    cfg = load_config(["experiment=sim"])
    specs = graph_specs(cfg.ros.nodes, ["experiment=sim", "task.max_steps=5"], python="py")
    assert [s.name for s in specs] == ["robot", "camera", "teleop", "learner", "actor"]
    assert specs[0].argv == ["py", "-m", "robot_rl_ros.robot_node", "experiment=sim", "task.max_steps=5"]
    assert [s.hardware for s in specs] == [True, True, True, False, False]
    assert [s.required for s in specs] == [True, True, True, False, True]
