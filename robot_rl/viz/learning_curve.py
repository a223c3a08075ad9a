"""The demo's learning curve: what the robot did while it trained, and what the learner did meanwhile.

Left: the training episodes' success (rolling mean of 10) and the share of steps the human drove, against env
steps, with the held-out evaluations of BC alone and BC + residual (and their 95% intervals) as lines. Right:
learner updates against the online transitions it had, beside the configured UTD."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from robot_rl.report.stats import rolling_mean
from robot_rl.viz.figures import save_png, subplots


def plot_learning_curve(episodes: Sequence[dict], learner: Sequence[dict], evals: dict[str, tuple[float, float]],
                        utd: int, path: str | Path) -> Path:
    """``episodes``: the training episodes in order (``length``, ``success``, ``intervened_rows`` each, as
    :func:`robot_rl.data.integrity.summarize` lists them); ``learner``: its metrics records (``updates``,
    ``online``); ``evals``: label -> (success rate, 95% half-width) on the held-out seeds."""
    fig, axes = subplots(1, 2, size=(11.0, 3.6))
    ax, bx = axes[0]
    steps = np.cumsum([e["length"] for e in episodes]) if episodes else np.zeros(0)
    if len(steps):
        success = np.array([float(e["success"]) for e in episodes])
        human = np.array([e["intervened_rows"] / max(1, e["length"]) for e in episodes])
        ax.plot(steps, rolling_mean(success, 10), label="training success (last 10)", color="tab:blue")
        ax.plot(steps, rolling_mean(human, 10), label="human drove (share of steps)", color="tab:red", alpha=0.7)
    for (label, (rate, half)), colour in zip(evals.items(), ("tab:gray", "tab:green"), strict=False):
        ax.axhline(rate, color=colour, linestyle="--", label=f"eval: {label} {rate:.0%} (+-{half:.0%})")
    ax.set(xlabel="env steps (training)", ylabel="rate", ylim=(-0.02, 1.02), title="the robot")
    ax.legend(fontsize=7, loc="best")
    if learner:
        online = np.array([r.get("online", 0) for r in learner], dtype=float)
        updates = np.array([r["updates"] for r in learner], dtype=float)
        bx.plot(online, updates, label="learner updates", color="tab:purple")
        bx.plot(online, utd * online, label=f"configured UTD {utd}", color="tab:gray", linestyle="--")
        bx.legend(fontsize=7, loc="best")
    bx.set(xlabel="online transitions ingested", ylabel="updates", title="the learner")
    return save_png(fig, path)
