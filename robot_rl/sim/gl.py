"""Headless OpenGL for MuJoCo's renderer.

MuJoCo picks its GL backend from ``MUJOCO_GL`` when it is first imported, so this module must run
before ``import mujoco`` (``robot_rl.sim`` imports it first). With no display we default to EGL
(Mesa's software rasteriser works without a GPU); OSMesa is the fallback. When creating a context
fails, :func:`diagnose` probes each backend in a fresh subprocess and the error says which were
tried, what failed, and what to install.
"""

from __future__ import annotations

import os
import subprocess
import sys

BACKENDS = ("egl", "osmesa", "glfw")
INSTALL_HINTS = {
    "egl": "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri",
    "osmesa": "apt-get install libosmesa6",
    "glfw": "an X display (DISPLAY=..., or xvfb-run) and apt-get install libglfw3",
}


def choose_default_backend() -> str:
    """Set ``MUJOCO_GL`` (and PyOpenGL's platform) unless the user already chose one."""
    if "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "glfw" if (sys.platform != "linux" or os.environ.get("DISPLAY")) else "egl"
    backend = os.environ["MUJOCO_GL"]
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return backend


class RenderBackendError(RuntimeError):
    """No OpenGL context could be created for offscreen rendering."""


_PROBE = ("import mujoco; m = mujoco.MjModel.from_xml_string('<mujoco/>'); r = mujoco.Renderer(m, 16, 16); "
          "r.render(); r.close(); print('ok')")


def probe(backend: str, timeout: float = 30.0) -> str:
    """Try one backend in a fresh interpreter; returns "ok" or the last line of its error."""
    env = {**os.environ, "MUJOCO_GL": backend, "PYOPENGL_PLATFORM": backend if backend != "glfw" else ""}
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if out.returncode == 0 and out.stdout.strip().endswith("ok"):
        return "ok"
    lines = [ln for ln in (out.stderr or out.stdout).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {out.returncode}"


def diagnose(cause: BaseException | None = None) -> RenderBackendError:
    """Build the error to raise when rendering could not start: every backend tried, with hints."""
    current = os.environ.get("MUJOCO_GL", "")
    results = {b: probe(b) for b in BACKENDS}
    lines = [f"MuJoCo could not create an OpenGL context with MUJOCO_GL={current!r}"
             + (f": {cause}" if cause else "."), "Backends tried (each in a fresh process):"]
    for backend, result in results.items():
        hint = "" if result == "ok" else f"  -> install: {INSTALL_HINTS[backend]}"
        lines.append(f"  MUJOCO_GL={backend}: {result}{hint}")
    working = [b for b, r in results.items() if r == "ok"]
    if working:
        lines.append(f"Working: {', '.join(working)}. Set MUJOCO_GL={working[0]} before starting.")
    else:
        lines.append("None works. On Debian/Ubuntu as root: tools/setup.sh installs the libraries.")
    return RenderBackendError("\n".join(lines))
