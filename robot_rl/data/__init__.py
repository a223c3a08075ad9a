"""The replay store (zarr, crash-safe, read while written) and the learner's in-RAM sampler.

Modules: :mod:`~robot_rl.data.row_schema` (what a row holds), :mod:`~robot_rl.data.layout` (the
on-disk layout), :mod:`~robot_rl.data.storage` (local path or fsspec URL, writer lock),
:mod:`~robot_rl.data.chunk_io` (concurrent, checked chunk reads and writes),
:mod:`~robot_rl.data.replay_store` (open, append, commit, read), :mod:`~robot_rl.data.recovery`
(after a crash), :mod:`~robot_rl.data.recorder` (background writer for the control loop),
:mod:`~robot_rl.data.rewards`, :mod:`~robot_rl.data.nstep`, :mod:`~robot_rl.data.cache` and
:mod:`~robot_rl.data.sampler` (the learner side), :mod:`~robot_rl.data.dp_interop` (Diffusion
Policy zarr import/export), :mod:`~robot_rl.data.integrity` (inspect / verify) and
:mod:`~robot_rl.data.synthetic` (deterministic episodes for tests and benchmarks).

Recording (actor process)::

    writer = EpisodeWriter.from_config(cfg.buffer, RowSchema.from_camera_config(cfg.camera, state_dim=18))
    with writer:
        writer.begin_episode(source="policy", seed=seed, policy_version=v)
        writer.put(row)            # per control step; False = queue full, the episode is cut
        writer.end_episode(success=True)

Learning (learner process)::

    store = ReplayStore.open(cfg.buffer.path, "r")
    cache = ReplayCache.from_config(cfg.buffer, store.schema)
    sampler = Sampler.from_config(cfg.buffer, cache, batch_size=256)
    cache.refresh(store)           # every buffer.poll_interval_s: copies new committed episodes
    batch = sampler.sample()       # dict of torch tensors, see robot_rl.data.sampler
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy exports: ``robot-rl buffer inspect`` and the recorder should not pay for importing torch.
_EXPORTS = {
    "ReplayCache": "cache",
    "CorruptChunkError": "errors",
    "LayoutVersionError": "errors",
    "RowError": "errors",
    "StoreError": "errors",
    "StoreLockedError": "errors",
    "WriterError": "errors",
    "EpisodeMeta": "layout",
    "EpisodeSource": "layout",
    "EpisodeStatus": "layout",
    "EpisodeWriter": "recorder",
    "RecoveryReport": "recovery",
    "ReplayStore": "replay_store",
    "RowSchema": "row_schema",
    "Sampler": "sampler",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'robot_rl.data' has no attribute {name!r}")
    return getattr(importlib.import_module(f"robot_rl.data.{_EXPORTS[name]}"), name)
