"""A picture of a replay: recorded and replayed EE trajectories, and the tracking error over time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robot_rl.sim.replay import ReplayResult
from robot_rl.viz.figures import save_png, subplots


def plot_replay(results: Sequence[ReplayResult], path: str | Path) -> Path:
    """x, y, z of the recorded EE (black) and of each replay (coloured), then the position error (mm)."""
    fig, axes = subplots(1, 4, size=(14.0, 3.2))
    rec = results[0].recorded
    t = np.arange(len(rec))
    for i, name in enumerate("xyz"):
        ax = axes[0, i]
        ax.plot(t, rec[:, i], color="black", lw=2.5, label="recorded")
        for r in results:
            ax.plot(t, r.simulated[:, i], lw=1.2, ls="--", label=f"{r.mode} replay")
        ax.set_title(f"EE {name} (m)")
        ax.set_xlabel("step")
    axes[0, 0].legend(fontsize=8)
    ax = axes[0, 3]
    for r in results:
        ax.plot(t, 1000.0 * r.error.position, label=f"{r.mode} ({r.scene})")
    ax.set_title("EE position error (mm)")
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    return save_png(fig, path)
