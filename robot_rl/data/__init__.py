"""The replay store (zarr, crash-safe, read while written) and the learner's in-RAM sampler.

Modules: :mod:`~robot_rl.data.row_schema` (what a row holds), :mod:`~robot_rl.data.layout` (the
on-disk layout), :mod:`~robot_rl.data.replay_store` (open, append, commit, read),
:mod:`~robot_rl.data.recovery` (after a crash), :mod:`~robot_rl.data.recorder` (background writer
for the control loop), :mod:`~robot_rl.data.rewards`, :mod:`~robot_rl.data.nstep`,
:mod:`~robot_rl.data.cache` and :mod:`~robot_rl.data.sampler` (the learner side),
:mod:`~robot_rl.data.dp_interop` (Diffusion Policy zarr import/export) and
:mod:`~robot_rl.data.integrity` (inspect / verify).
"""

from robot_rl.data.cache import ReplayCache
from robot_rl.data.errors import (
    CorruptChunkError,
    LayoutVersionError,
    RowError,
    StoreError,
    StoreLockedError,
    WriterError,
)
from robot_rl.data.layout import EpisodeMeta, EpisodeSource, EpisodeStatus
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.recovery import RecoveryReport
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.sampler import Sampler

__all__ = [
    "CorruptChunkError",
    "EpisodeMeta",
    "EpisodeSource",
    "EpisodeStatus",
    "EpisodeWriter",
    "LayoutVersionError",
    "RecoveryReport",
    "ReplayCache",
    "ReplayStore",
    "RowError",
    "RowSchema",
    "Sampler",
    "StoreError",
    "StoreLockedError",
    "WriterError",
]
