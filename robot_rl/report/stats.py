"""What the training report shows, as numbers: one row per episode of a store, and the learner's log.

Reads only the small per-row keys (rewards, flags, times) in one pass, never the images.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.data.layout import EpisodeSource, EpisodeStatus
from robot_rl.data.replay_store import ReplayStore

ROW_KEYS = ("reward", "intervened", "success", "t_obs")
HELP_KEYS = ("help_score", "help_level")  # only in stores written with a help gate
REWARD_KEYS = ("success_prob", "success_detected", "success_label")  # only where the reward classifier ran


@dataclass(frozen=True)
class EpisodeStats:
    index: int
    source: str
    seed: int
    status: str
    success: bool
    steps: int  # transitions (rows - 1: the last row is the final observation)
    intervened_steps: int
    takeovers: int  # times the human took over (policy step followed by a human step)
    ret: float  # sum of recorded rewards
    policy_version: int
    wall_start: float  # unix seconds
    duration_s: float  # t_obs of the last row minus the first
    cycle_ms_mean: float  # time between consecutive observations
    cycle_ms_p95: float
    help_requests: int = 0  # the help gate's requests (a run of ask steps counts once)
    help_asked_steps: int = 0
    help_score_max: float = math.nan  # over the policy's own steps; NaN: no gate, or none it could judge
    help_unjudged: int = 0  # steps whose score could not be computed (they ask)
    success_prob_max: float = math.nan  # the reward classifier's highest P(success) over the episode's frames
    success_prob_last: float = math.nan  # ... on its final frame; NaN: no classifier, or the frame not judged
    success_detected: bool = False  # the classifier ended the episode on a success
    success_unjudged: int = 0  # frames it could not judge (stale or missing)

    @property
    def intervention_rate(self) -> float:
        return self.intervened_steps / self.steps if self.steps else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "intervention_rate": self.intervention_rate}


def episode_stats(store: ReplayStore) -> list[EpisodeStats]:
    """One :class:`EpisodeStats` per committed episode, in order."""
    n = store.refresh()
    if n == 0:
        return []
    with_help = all(k in store.schema.fields for k in HELP_KEYS)
    with_reward = all(k in store.schema.fields for k in REWARD_KEYS)
    rows = store.read_rows(0, store.n_rows, ROW_KEYS + (HELP_KEYS if with_help else ())
                           + (REWARD_KEYS if with_reward else ()))
    meta = store.meta()
    ends = meta["episode_ends"]
    out = []
    for i in range(n):
        lo, hi = (int(ends[i - 1]) if i else 0), int(ends[i])
        c = {k: v[lo:hi] for k, v in rows.items()}
        steps = hi - lo - 1
        inter = c["intervened"][:-1]
        dt = np.diff(c["t_obs"]) * 1000.0
        out.append(EpisodeStats(
            index=i, source=_name(EpisodeSource, meta["source"][i]), seed=int(meta["seed"][i]),
            status=_name(EpisodeStatus, meta["status"][i]), success=bool(meta["success"][i]), steps=steps,
            intervened_steps=int(inter.sum()), takeovers=int((~inter[:-1] & inter[1:]).sum() + (inter[:1].sum())),
            ret=float(c["reward"][:-1].sum()), policy_version=int(meta["policy_version"][i]),
            wall_start=float(meta["wall_start"][i]), duration_s=float(c["t_obs"][-1] - c["t_obs"][0]),
            cycle_ms_mean=float(dt.mean()) if len(dt) else math.nan,
            cycle_ms_p95=float(np.percentile(dt, 95)) if len(dt) else math.nan,
            **(_help(c["help_score"][:-1], c["help_level"][:-1], inter) if with_help else {}),
            **(_reward(c["success_prob"], c["success_detected"]) if with_reward else {})))
    return out


def _reward(prob: np.ndarray, detected: np.ndarray) -> dict[str, Any]:
    judged = prob[np.isfinite(prob)]
    if not len(judged):  # the fields exist but nothing judged these frames (keys-labelled, or demonstrations)
        return {}
    return {"success_prob_max": float(judged.max()), "success_prob_last": float(prob[-1]),
            "success_detected": bool(detected.any()), "success_unjudged": int((~np.isfinite(prob)).sum())}


def _help(score: np.ndarray, level: np.ndarray, intervened: np.ndarray) -> dict[str, Any]:
    asked = level == 2
    own = score[~intervened]
    judged = own[np.isfinite(own)]
    return {"help_requests": int((asked[1:] & ~asked[:-1]).sum() + asked[:1].sum()),
            "help_asked_steps": int(asked.sum()), "help_score_max": float(judged.max()) if len(judged) else math.nan,
            "help_unjudged": int((~np.isfinite(own)).sum())}


def _name(enum: Any, code: Any) -> str:
    try:
        return enum(int(code)).name
    except ValueError:
        return f"unknown({int(code)})"


def load_learner_log(path: str | Path) -> list[dict[str, Any]]:
    """The learner's ``metrics.jsonl`` (one JSON object a line; a torn last line is skipped)."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line the learner was writing when it was killed
        if isinstance(rec, dict) and "updates" in rec:
            records.append(rec)
    return records


def find_learner_log(store_path: str) -> Path | None:
    """``learner/metrics.jsonl`` beside the store (the demo's layout), if there is one."""
    candidate = Path(store_path).parent / "learner" / "metrics.jsonl"
    return candidate if candidate.is_file() else None


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start); NaNs are left out (NaN where a
    window has no number)."""
    values = np.asarray(values, dtype=np.float64)
    known = np.isfinite(values)
    c = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])
    n = np.concatenate([[0], np.cumsum(known)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c[idx] - c[lo]) / (n[idx] - n[lo])
