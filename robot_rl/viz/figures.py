"""Matplotlib without a display: figures rendered to PNG bytes or files (Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display here, and none wanted

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

DPI = 100


def subplots(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (10.0, 3.2)):
    """A figure of ``size`` inches (``DPI`` pixels each) and its axes."""
    fig, axes = plt.subplots(nrows, ncols, figsize=size, dpi=DPI, squeeze=False, layout="constrained")
    return fig, axes


def to_png(fig: Figure) -> bytes:
    """Render and close the figure."""
    import io

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return buf.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_png(fig))
    return path
