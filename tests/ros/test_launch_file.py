"""``graph.launch.py`` starts the same node list as ``robot-rl up`` (``ros.nodes`` from the Hydra config), each
node an executable that ``colcon build`` installs, with the launch arguments passed on as overrides.

``launch`` / ``launch_ros`` come with a ROS 2 installation from apt and are not on PyPI, so small stand-ins
record what the launch file asks them to build (constructor arguments only). This checks the file's logic and
its agreement with the config and the package; the launch API itself is exercised only by ``ros2 launch`` on a
machine with ROS 2 installed."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from robot_rl.config import ConfigError, load_config
from tests.ros.conftest import REPO

PACKAGE = REPO / "ros_ws" / "src" / "robot_rl_ros"


class _Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _LaunchConfiguration(_Recorded):
    def perform(self, context) -> str:
        return context[self.args[0]]


def _stand_ins() -> dict[str, types.ModuleType]:
    mods = {name: types.ModuleType(name) for name in
            ("launch", "launch.actions", "launch.substitutions", "launch_ros", "launch_ros.actions")}
    for module, name in (("launch", "LaunchDescription"), ("launch.actions", "DeclareLaunchArgument"),
                         ("launch.actions", "OpaqueFunction"), ("launch_ros.actions", "Node")):
        setattr(mods[module], name, type(name, (_Recorded,), {}))
    mods["launch.substitutions"].LaunchConfiguration = _LaunchConfiguration
    return mods


def _load_launch_file(monkeypatch) -> types.ModuleType:
    for name, mod in _stand_ins().items():
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location("graph_launch", PACKAGE / "launch" / "graph.launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_file_starts_the_configured_nodes(monkeypatch):
    module = _load_launch_file(monkeypatch)
    description = module.generate_launch_description()
    declared = {a.args[0] for a in description.args[0] if a.__class__.__name__ == "DeclareLaunchArgument"}
    assert declared == {"experiment", "overrides"}
    opaque = next(a for a in description.args[0] if a.__class__.__name__ == "OpaqueFunction")
    context = {"experiment": "sim", "overrides": "task.max_steps=80 ros.episodes=3"}
    nodes = opaque.kwargs["function"](context)

    expected = load_config(["experiment=sim", "task.max_steps=80", "ros.episodes=3"]).ros.nodes
    assert [n.kwargs["executable"] for n in nodes] == [n.executable for n in expected]
    assert [n.kwargs["name"] for n in nodes] == [f"{n.name}_node" for n in expected]
    installed = {p.stem for p in (PACKAGE / "robot_rl_ros").glob("*_node.py")}
    assert {n.kwargs["executable"] for n in nodes} <= installed
    for n in nodes:
        assert n.kwargs["package"] == "robot_rl_ros"
        assert n.kwargs["arguments"] == ["experiment=sim", "task.max_steps=80", "ros.episodes=3"]


def test_launch_file_refuses_a_bad_override(monkeypatch):
    module = _load_launch_file(monkeypatch)
    opaque = next(a for a in module.generate_launch_description().args[0]
                  if a.__class__.__name__ == "OpaqueFunction")
    with pytest.raises(ConfigError, match=r"task\.max_steps"):
        opaque.kwargs["function"]({"experiment": "sim", "overrides": "task.max_steps=-1"})
