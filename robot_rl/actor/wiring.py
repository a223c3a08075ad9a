"""Wiring shared by the sim commands: the store writer and the actor's policy (weights: robot_rl.learner.weights)."""

from __future__ import annotations

from robot_rl.actor.policy import ResidualPolicy
from robot_rl.config.schema import Config
from robot_rl.data.errors import StoreError
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.storage import free_bytes
from robot_rl.policies.bc import ChunkedBase
from robot_rl.policies.device import resolve_device
from robot_rl.spec import JOINTS_DIM, STATE_DIM


def row_schema(cfg: Config, reward: bool = False) -> RowSchema:
    """The rows this config records; with the reward classifier's fields when it runs, when the person's keys
    label the frames, or when ``reward`` (labelled frames for it)."""
    reward = reward or cfg.reward.source == "classifier" or cfg.reward.labels == "keys"
    return RowSchema.from_camera_config(cfg.camera, state_dim=STATE_DIM, joints_dim=JOINTS_DIM,
                                        help=cfg.help.gate != "off", reward=reward)


def open_writer(cfg: Config, reward: bool = False) -> EpisodeWriter:
    """The background episode writer on ``buffer.path`` (created if missing), started; ``reward``: with the
    reward classifier's fields (a detector handed over in code, not named by ``reward.source``)."""
    return EpisodeWriter.from_config(cfg.buffer, row_schema(cfg, reward=reward)).start()


def reopen_writer(cfg: Config) -> EpisodeWriter:
    """The writer again after a write failure, once the store's disk has ``buffer.min_free_mb`` free (opening
    the store needs almost no space, so a full disk would open, then fail again at the next chunk)."""
    free = free_bytes(cfg.buffer.path)
    if free is not None and free < cfg.buffer.min_free_mb << 20:
        raise StoreError(f"{free >> 20} MB free on the disk of {cfg.buffer.path} (buffer.min_free_mb="
                         f"{cfg.buffer.min_free_mb})")
    return open_writer(cfg)



def load_policy(cfg: Config) -> ResidualPolicy:
    """The frozen BC base from ``policy.path`` plus an untrained (zero) residual."""
    device = resolve_device(cfg.policy.device)
    base = ChunkedBase.load(cfg.policy.path, cfg.policy.execute_steps, device)
    return ResidualPolicy(base, cfg.learner, device, seed=cfg.seed)
