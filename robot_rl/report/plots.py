"""The report's figures, as PNG bytes: each store metric over episodes and over wall clock, the
learner's losses, Q-values and weight versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from robot_rl.report.stats import EpisodeStats, rolling_mean
from robot_rl.viz.figures import subplots, to_png

SOURCE_COLORS = {"demo": "#7f7f7f", "teleop": "#9467bd", "policy": "#1f77b4", "sim": "#2ca02c"}


def _xs(eps: Sequence[EpisodeStats]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array([e.index for e in eps])
    wall = np.array([e.wall_start for e in eps])
    return idx, (wall - wall.min()) / 60.0


def _episode_figure(eps: Sequence[EpisodeStats], values: np.ndarray, title: str, ylabel: str,
                    window: int, extra: dict[str, np.ndarray] | None = None) -> bytes:
    """Two panels (by episode, by wall clock): points coloured by source, a rolling mean line."""
    fig, axes = subplots(1, 2)
    idx, minutes = _xs(eps)
    colors = [SOURCE_COLORS.get(e.source, "#d62728") for e in eps]
    for ax, x, xlabel in ((axes[0, 0], idx, "episode"), (axes[0, 1], minutes, "wall clock (min since first episode)")):
        ax.scatter(x, values, c=colors, s=14, alpha=0.7, zorder=3)
        ax.plot(x, rolling_mean(values, window), color="black", lw=1.8,
                label=f"mean of last {window}" if window > 1 else ylabel)
        for name, series in (extra or {}).items():
            ax.plot(x, series, lw=1.2, ls="--", label=name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.ticklabel_format(axis="y", useOffset=False)  # a constant 100 ms reads as 100, not 1e-10 + 1e2
        ax.grid(alpha=0.3)
    sources = sorted({e.source for e in eps})
    for s in sources:
        axes[0, 0].scatter([], [], c=SOURCE_COLORS.get(s, "#d62728"), s=14, label=s)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.suptitle(title)
    return to_png(fig)


def store_figures(eps: Sequence[EpisodeStats], window: int = 10) -> dict[str, tuple[str, bytes]]:
    """``{name: (caption, png)}`` for the store's episodes (at least one)."""
    success = np.array([e.success for e in eps], dtype=float)
    rate = np.array([e.intervention_rate for e in eps])
    steps = np.array([e.steps for e in eps], dtype=float)
    cycle = np.array([e.cycle_ms_mean for e in eps])
    p95 = np.array([e.cycle_ms_p95 for e in eps])
    version = np.array([e.policy_version for e in eps], dtype=float)
    return {
        "success": ("Success (1 = the episode succeeded); black: rolling success rate",
                    _episode_figure(eps, success, "Success rate", "success", window)),
        "interventions": ("Share of each episode's steps driven by the human",
                          _episode_figure(eps, rate, "Intervention rate", "intervened steps / steps", window)),
        "length": ("Steps per episode", _episode_figure(eps, steps, "Episode length", "steps", window)),
        "cycle_time": ("Time between consecutive observations (control cycle; simulated time in sim episodes): "
                       "mean per episode, dashed: p95",
                       _episode_figure(eps, cycle, "Cycle time", "ms", window, {"p95": p95})),
        "weights": ("Residual weights version each episode ran with (-1: none, e.g. demonstrations)",
                    _episode_figure(eps, version, "Weight versions used", "version", 1)),
        **_help_figures(eps, window),
        **_reward_figures(eps, window),
    }


def _reward_figures(eps: Sequence[EpisodeStats], window: int) -> dict[str, tuple[str, bytes]]:
    """The reward classifier's probability and decision per episode, when the store recorded them."""
    if not any(np.isfinite(e.success_prob_max) for e in eps):
        return {}
    top = np.array([e.success_prob_max for e in eps], dtype=float)
    last = np.array([e.success_prob_last for e in eps], dtype=float)
    detected = np.array([e.success_detected if np.isfinite(e.success_prob_max) else np.nan for e in eps])
    return {
        "success_prob": ("The reward classifier's P(success) per episode: highest over its frames, dashed: on the "
                         "final frame (episodes it did not judge have none)",
                         _episode_figure(eps, top, "Reward classifier", "P(success)", window, {"final frame": last})),
        "success_detected": ("Episodes the reward classifier ended on a success (1); black: rolling rate",
                             _episode_figure(eps, detected, "Classifier successes", "detected", window)),
    }


def _help_figures(eps: Sequence[EpisodeStats], window: int) -> dict[str, tuple[str, bytes]]:
    """The help gate's requests and highest score per episode, when the store recorded them."""
    if not any(e.help_asked_steps or np.isfinite(e.help_score_max) or e.help_unjudged for e in eps):
        return {}
    requests = np.array([e.help_requests for e in eps], dtype=float)
    top = np.array([e.help_score_max for e in eps], dtype=float)
    return {
        "help_requests": ("Help requests per episode (the robot held still and asked); black: rolling mean",
                          _episode_figure(eps, requests, "Help requests", "requests", window)),
        "help_score": ("Highest help score of the policy's own steps per episode (>= 1 asks; episodes whose "
                       "steps could not be judged, which ask, have none)",
                       _episode_figure(eps, top, "Help score", "max score", window)),
    }


def learner_figures(log: Sequence[dict[str, Any]]) -> dict[str, tuple[str, bytes]]:
    """``{name: (caption, png)}`` from the learner's metrics.jsonl records (at least one)."""
    updates = np.array([r["updates"] for r in log], dtype=float)
    minutes = (np.array([r["time"] for r in log]) - log[0]["time"]) / 60.0

    def series(key: str) -> np.ndarray:
        return np.array([np.nan if r.get(key) is None else r[key] for r in log], dtype=float)

    def figure(curves: dict[str, np.ndarray], title: str, ylabel: str, log_y: bool = False) -> bytes:
        fig, axes = subplots(1, 2)
        for ax, x, xlabel in ((axes[0, 0], updates, "learner updates"),
                              (axes[0, 1], minutes, "wall clock (min since the learner's first record)")):
            for name, y in curves.items():
                ax.plot(x, y, marker=".", lw=1.4, label=name)
            if log_y and all(np.nanmin(y) > 0 for y in curves.values() if np.isfinite(y).any()):
                ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(title)
        return to_png(fig)

    return {
        "learner_losses": ("Critic and actor losses at each published weights version",
                           figure({"critic loss": series("critic_loss"), "actor loss": series("actor_loss")},
                                  "Learner losses", "loss")),
        "learner_q": ("Mean Q-value of the sampled batch", figure({"Q mean": series("q_mean")}, "Q-values", "Q")),
        "learner_versions": ("Weights versions published by the learner",
                             figure({"version": series("version")}, "Published weight versions", "version")),
    }
