"""ament_python package: ``colcon build`` installs the nodes as ``ros2 run robot_rl_ros <node>`` executables.
The robot_rl core library itself is installed with pip (``pip install -e '.[ros]'`` at the repository root)."""

from glob import glob

from setuptools import setup

PACKAGE = "robot_rl_ros"
NODES = ("camera_node", "robot_node", "teleop_node", "actor_node", "learner_node")

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="robot_rl",
    maintainer_email="robot-rl@example.org",
    description="ROS 2 nodes of robot_rl",
    license="Apache-2.0",
    entry_points={"console_scripts": [f"{n} = {PACKAGE}.{n}:main" for n in NODES]},
)
