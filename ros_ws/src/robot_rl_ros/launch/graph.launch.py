"""``ros2 launch robot_rl_ros graph.launch.py experiment:=sim overrides:="task.max_steps=80 ros.episodes=10"``

For machines with ROS 2 Jazzy from apt (``launch`` / ``launch_ros`` are not on PyPI; elsewhere use
``robot-rl up <experiment>``, which starts the same node list as supervised processes). The node list and
every node's settings come from the same Hydra config as the CLI (``ros.nodes``)."""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from robot_rl.config import load_config


def _nodes(context):
    experiment = LaunchConfiguration("experiment").perform(context)
    overrides = [f"experiment={experiment}", *LaunchConfiguration("overrides").perform(context).split()]
    cfg = load_config(overrides)
    return [Node(package="robot_rl_ros", executable=n.executable, name=f"{n.name}_node", arguments=overrides,
                 output="screen", respawn=False) for n in cfg.ros.nodes]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("experiment", default_value="sim", description="configs/experiment/<name>.yaml"),
        DeclareLaunchArgument("overrides", default_value="", description="Hydra key=value overrides"),
        OpaqueFunction(function=_nodes),
    ])
