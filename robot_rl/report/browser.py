"""Render an HTML file in headless Chromium: the page after its scripts ran, and a screenshot.

Used by ``robot-rl report --screenshot`` and by the report's test. Needs Debian's ``chromium``
(``tools/setup.sh`` installs it); :func:`find_chromium` returns None where there is none.
Flags: no sandbox (CI runs as root), no GPU, no network chatter (this machine's network is closed),
a fresh profile each run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1", "--mute-audio"]


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@dataclass(frozen=True)
class PlotBox:
    name: str
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class RenderedPage:
    dom: str  # the DOM after load (scripts ran)
    plots: int  # img.plot elements
    plots_loaded: int  # of them decoded (naturalWidth > 0)
    page_height: int
    boxes: list[PlotBox]  # each plot's rectangle on the page (CSS pixels = screenshot pixels)


def _run(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="robot-rl-chromium-") as profile:
        return subprocess.run([chromium, *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)


def render_dom(html_path: str | Path, width: int = 1200, height: int = 900, timeout: float = 60.0,
               chromium: str | None = None) -> RenderedPage:
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium on PATH (apt-get install chromium, or run tools/setup.sh as root)")
    url = Path(html_path).resolve().as_uri()
    proc = _run(chromium, [f"--window-size={width},{height}", "--virtual-time-budget=5000", "--dump-dom", url],
                timeout)
    if proc.returncode != 0 or "<body" not in proc.stdout:
        raise RuntimeError(f"chromium --dump-dom failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    dom = proc.stdout
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', body.group(1))) if body else {}
    boxes = []
    for tag in re.findall(r"<img [^>]*class=\"plot\"[^>]*>", dom):
        a = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        if "data-rect" in a:
            x, y, w, h = (int(v) for v in a["data-rect"].split(","))
            boxes.append(PlotBox(a.get("data-plot", "?"), x, y, w, h))
    return RenderedPage(dom, int(attrs.get("data-plots", -1)), int(attrs.get("data-plots-loaded", -1)),
                        int(attrs.get("data-page-height", 0)), boxes)


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1200, height: int | None = None,
               timeout: float = 60.0, chromium: str | None = None) -> tuple[Path, RenderedPage]:
    """Screenshot the whole page (``height`` None: as tall as the page) to ``png_path``."""
    chromium = chromium or find_chromium()
    page = render_dom(html_path, width, timeout=timeout, chromium=chromium)
    height = height or max(page.page_height, 600)
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    assert chromium is not None
    proc = _run(chromium, [f"--window-size={width},{height}", "--virtual-time-budget=5000",
                           f"--screenshot={png_path}", Path(html_path).resolve().as_uri()], timeout)
    if proc.returncode != 0 or not png_path.is_file():
        raise RuntimeError(f"chromium --screenshot failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return png_path, page
