"""Where the robot model comes from: the FR3 + Panda hand MJCF that ``franky-sim`` ships
(Apache-2.0), so the simulated arm is the one the libfranka-protocol simulator uses too."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class ModelNotFoundError(FileNotFoundError):
    """The robot model files are missing."""


def fr3_model_path() -> Path:
    """Path of ``fr3.xml``; its meshes are in the ``meshes/`` folder beside it."""
    spec = importlib.util.find_spec("franky_sim")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(
            "the FR3 robot model ships with the 'franky-sim' package, which is not installed: "
            "pip install franky-sim==1.0.4 (tools/setup.sh installs it)")
    path = Path(spec.origin).parent / "assets" / "fr3.xml"
    if not path.is_file() or not (path.parent / "meshes").is_dir():
        raise ModelNotFoundError(f"robot model file missing: {path} (and its meshes/ folder); "
                                 "reinstall franky-sim==1.0.4")
    return path
