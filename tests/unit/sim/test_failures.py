"""Missing model files and broken GL give messages that say what to do."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from robot_rl.sim import assets
from robot_rl.sim.assets import ModelNotFoundError, fr3_model_path


def test_model_path_exists():
    path = fr3_model_path()
    assert path.name == "fr3.xml" and (path.parent / "meshes").is_dir()


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotFoundError, match="pip install franky-sim"):
        assets.fr3_model_path()


def test_missing_model_file_names_it(monkeypatch, tmp_path):
    (tmp_path / "__init__.py").write_text("")
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: SimpleNamespace(origin=str(tmp_path / "__init__.py")))
    with pytest.raises(ModelNotFoundError, match=r"fr3\.xml"):
        assets.fr3_model_path()


def test_failed_gl_context_lists_backends_tried():
    """A real failure: GLFW with no X display. The error must name every backend and a fix."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYOPENGL_PLATFORM")}
    env["MUJOCO_GL"] = "glfw"
    code = ("from robot_rl.config import load_config\nfrom robot_rl.sim.env import PickPlaceEnv\n"
            "PickPlaceEnv(load_config([])).reset(0)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    err = out.stderr
    assert "RenderBackendError" in err
    for backend in ("egl", "osmesa", "glfw"):
        assert f"MUJOCO_GL={backend}:" in err
    assert "MUJOCO_GL='glfw'" in err
    assert "install" in err or "Working:" in err
