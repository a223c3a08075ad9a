"""The on-disk layout of a replay store (docs/architecture.md §4), in one place.

::

    <store>/                      zarr v3 group; attrs: layout version, row schema, source codes
      data/<key>                  (T, *shape) per field of the row schema, chunks of ``chunk_len`` rows
      meta/episode_ends           (E,) int64, end row (exclusive) of each committed episode; written LAST
      meta/episode_<field>        (E,) per-episode metadata (source, success, seed, policy version, ...)
      recorder                    group whose attrs describe the episode being written (crash recovery)

Every chunk carries a CRC32C checksum, so a damaged file is detected, and every chunk is written
even when it holds only fill values, so a missing file is detected too. Keys are Diffusion Policy's
(``data/``, ``meta/episode_ends``); see :mod:`robot_rl.data.dp_interop` for a DP-readable export.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from zarr.abc.codec import BytesBytesCodec
from zarr.codecs import BloscCodec, Crc32cCodec

LAYOUT_VERSION = 1
LAYOUT_ATTR = "robot_rl_layout_version"
SCHEMA_ATTR = "robot_rl_row_schema"
CHUNK_LEN_ATTR = "robot_rl_chunk_len"
SOURCE_CODES_ATTR = "robot_rl_episode_sources"
STATUS_CODES_ATTR = "robot_rl_episode_status"

DATA_GROUP = "data"
META_GROUP = "meta"
RECORDER_GROUP = "recorder"  # attrs: {"open_episode": {...}} progress of the episode being written
EPISODE_ENDS = "episode_ends"
META_CHUNK = 4096  # entries per chunk of the per-episode arrays



class EpisodeSource(enum.IntEnum):
    """Who produced an episode. ``demo``: teleoperated or scripted demonstration; ``teleop``: a human
    drove the whole episode; ``policy``: the learning policy acted (maybe with interventions);
    ``sim``: generated in simulation by anything else (tests, synthetic data)."""

    demo = 0
    policy = 1
    sim = 2
    teleop = 3

    @classmethod
    def parse(cls, value: str | int | EpisodeSource) -> EpisodeSource:
        if isinstance(value, str):
            try:
                return cls[value]
            except KeyError:
                raise ValueError(f"unknown episode source {value!r}; known: {[s.name for s in cls]}") from None
        return cls(int(value))


class EpisodeStatus(enum.IntEnum):
    """How an episode came to be committed."""

    complete = 0  # ended by the recorder normally
    overflow_cut = 1  # the writer queue overflowed; kept up to the last row before the gap
    crash_recovered = 2  # salvaged after a crash (on_crash=keep_truncated)


@dataclass
class EpisodeMeta:
    """Per-episode metadata, stored as ``meta/episode_<name>`` arrays (one entry per episode)."""

    source: EpisodeSource = EpisodeSource.policy
    success: bool = False
    seed: int = -1
    policy_version: int = -1
    wall_start: float = field(default_factory=time.time)  # unix seconds
    status: EpisodeStatus = EpisodeStatus.complete

    def to_json(self) -> dict[str, Any]:
        return {"source": int(self.source), "success": bool(self.success), "seed": int(self.seed),
                "policy_version": int(self.policy_version), "wall_start": float(self.wall_start),
                "status": int(self.status)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EpisodeMeta:
        return cls(source=EpisodeSource(data["source"]), success=bool(data["success"]),
                   seed=int(data["seed"]), policy_version=int(data["policy_version"]),
                   wall_start=float(data["wall_start"]), status=EpisodeStatus(data["status"]))


# meta/episode_<name>: dtype. episode_ends is separate: it is the commit record.
META_FIELDS: dict[str, np.dtype] = {
    "source": np.dtype(np.uint8),
    "success": np.dtype(bool),
    "seed": np.dtype(np.int64),
    "policy_version": np.dtype(np.int64),
    "wall_start": np.dtype(np.float64),
    "status": np.dtype(np.uint8),
}


def meta_array_name(name: str) -> str:
    return f"episode_{name}"


def compressors(compression: str, level: int, dtype: np.dtype) -> list[BytesBytesCodec]:
    """Blosc (``lz4`` default, ``zstd``) or none, then a CRC32C checksum over the compressed bytes.

    Byte-shuffle helps multi-byte numbers; images (uint8) get bit-shuffle, which helps smooth frames."""
    codecs: list[BytesBytesCodec] = []
    if compression != "none":
        shuffle = "bitshuffle" if dtype.itemsize == 1 else "shuffle"
        codecs.append(BloscCodec(cname=compression, clevel=level, shuffle=shuffle, typesize=dtype.itemsize))
    codecs.append(Crc32cCodec())
    return codecs
