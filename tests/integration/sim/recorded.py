"""A tiny recorded sim store for the replay, video and report tests: 32x32 cameras, short episodes."""

from __future__ import annotations

from pathlib import Path

from robot_rl.actor.wiring import open_writer
from robot_rl.config import Config, load_config
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import JOINTS_KEY, RowSchema
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.collect import collect_demos


def tiny_overrides(root: Path) -> list[str]:
    return ["task=pick_place_easy", "task.max_steps=30", "camera.width=32", "camera.height=32",
            f"buffer.path={root / 'replay.zarr'}", f"output_dir={root}"]


def record(root: Path, episodes: int = 2) -> tuple[Config, list[str], Path]:
    """Scripted-expert episodes of seeds 0.. into ``root/replay.zarr``."""
    overrides = tiny_overrides(root)
    cfg = load_config(overrides)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
        collect_demos(cfg, env, writer, episodes=episodes, seed=0, progress=False)
    return cfg, overrides, root / "replay.zarr"


def copy_as_real(src: Path, dst: Path, *, joints: bool = True) -> Path:
    """The episodes of ``src`` as a real robot would record them: no seed (the scene is unknown),
    source teleop; ``joints=False`` drops ``obs/joints`` (a store written before it existed)."""
    with ReplayStore.open(src) as store:
        s = store.schema
        schema = RowSchema(s.cameras, s.image_hw, s.state_dim, s.action_dim, s.joints_dim if joints else 0)
        with ReplayStore.create(dst, schema) as out:
            for i in range(store.n_episodes):
                cols = store.read_episode(i)
                if not joints:
                    cols.pop(JOINTS_KEY)
                out.add_episode(cols, EpisodeMeta(source=EpisodeSource.teleop, seed=-1, success=True))
    return dst
