"""The fault-injection soak: the real sim graph over DDS on loopback. A private ROS_DOMAIN_ID and localhost-only
discovery per test run (set before anything starts a node; inherited by every process the soak starts)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["ROS_DOMAIN_ID"] = str(100 + (os.getpid() + 37) % 100)  # 100..199: a private domain per test run
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.pop("ROS_STATIC_PEERS", None)
os.environ.setdefault("ROS_LOG_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / f"robot_rl_roslog_{os.getpid()}"))
