"""A recorded episode in Rerun (``rerun-sdk``, the ``viz`` extra): cameras, actions, state, reward, take-overs
and, where the store has them, the help gate's score and the reward classifier's probability, on two timelines:
``step`` (the row) and ``time`` (since the episode's first capture). Written to an ``.rrd`` file that the Rerun
viewer opens (``rerun FILE.rrd``, on any machine with the viewer: the robot's computer need not have a display).

Entity paths: ``cameras/<name>`` (images), ``action/<kind>/<dim>`` for the executed, policy, base and residual
actions (one scalar series per action dimension, named by :data:`robot_rl.spec.ACTION_NAMES`), ``state/<i>``,
``reward``, ``intervened``, ``success``, ``help/score``, ``help/level``, ``reward_classifier/p_success``,
``reward_classifier/detected``; the episode's metadata as a text log at step 0.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from robot_rl.data.formats import write_atomically
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import STATE_KEY, stored_image_key
from robot_rl.spec import ACTION_NAMES

APP_ID = "robot_rl"
ACTION_KINDS = ("action", "policy_action", "base_action", "residual_action")
SCALARS = {"reward": "reward", "intervened": "intervened", "success": "success", "help_score": "help/score",
           "help_level": "help/level", "success_prob": "reward_classifier/p_success",
           "success_detected": "reward_classifier/detected"}


class RerunMissing(RuntimeError):
    """rerun-sdk is not installed."""


def _rerun():
    if importlib.util.find_spec("rerun") is None:
        raise RerunMissing("the Rerun viewer needs rerun-sdk: pip install -e '.[viz]' (or pip install rerun-sdk)")
    import rerun as rr

    return rr


def log_columns(rec, cols: Mapping[str, np.ndarray], cameras: Sequence[str], meta: str = "") -> int:
    """Log one episode's rows (``{key: (T, ...)}``) to the recording stream ``rec``; returns T."""
    rr = _rerun()
    n = len(cols["t_obs"])
    names = [*ACTION_NAMES][: cols["action"].shape[1]] if "action" in cols else []
    for t in range(n):
        rec.set_time("step", sequence=t)
        rec.set_time("time", duration=float(cols["t_obs"][t] - cols["t_obs"][0]))
        if t == 0 and meta:
            rec.log("episode", rr.TextLog(meta))
        for cam in cameras:
            rec.log(f"cameras/{cam}", rr.Image(cols[stored_image_key(cam)][t]))
        last = t == n - 1  # the final observation: no action was executed from it
        for kind in ACTION_KINDS:
            if kind in cols and not last:
                for d, name in enumerate(names):
                    rec.log(f"action/{kind}/{name}", rr.Scalars(float(cols[kind][t, d])))
        if STATE_KEY in cols:
            for i, v in enumerate(cols[STATE_KEY][t]):
                rec.log(f"state/{i}", rr.Scalars(float(v)))
        for key, path in SCALARS.items():
            if key in cols and (not last or key.startswith("success_")):
                v = float(cols[key][t])
                if np.isfinite(v):
                    rec.log(path, rr.Scalars(v))
    return n


def write_episode_rrd(store: ReplayStore, episode: int, path: str | Path, cameras: Sequence[str] | None = None
                      ) -> Path:
    """Episode ``episode`` of ``store`` to the ``.rrd`` at ``path``, which appears only complete."""
    rr = _rerun()
    if not 0 <= episode < store.n_episodes:
        raise IndexError(f"episode {episode} is not in {store.path} ({store.n_episodes} episodes: 0-"
                         f"{store.n_episodes - 1})")
    cameras = list(store.schema.cameras if cameras is None else cameras)
    lacking = [c for c in cameras if c not in store.schema.cameras]
    if lacking:
        raise ValueError(f"{store.path} has no camera {lacking} (it has {list(store.schema.cameras)})")
    cols = store.read_episode(episode)
    m = store.episode_meta(episode)
    meta = (f"episode {episode} of {store.path}: source {m.source.name}, seed {m.seed}, success {m.success}, "
            f"weights v{m.policy_version}, {len(cols['t_obs']) - 1} steps")
    path = Path(path)
    rec = rr.RecordingStream(APP_ID, recording_id=f"{Path(store.path).name}-episode{episode}")

    def write(tmp: Path) -> None:
        rec.save(str(tmp))
        log_columns(rec, cols, cameras, meta)
        rec.flush()
        rec.disconnect()

    write_atomically(path, write, overwrite=True)  # whole or not at all; a view written again replaces the last
    return path
