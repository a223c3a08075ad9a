"""A recorder process: ``python -m tests.integration.data.writer_child PATH ON_CRASH FIRST_SEED COUNT [DIE_AT]``.

Records ``COUNT`` episodes (seeds FIRST_SEED...) through the background writer and prints
``committed <seed>`` once each is committed. ``DIE_AT`` (``data`` or ``commit``) makes the process
SIGKILL itself in the middle of writing the data chunks, or between resizing and writing
``meta/episode_ends``, of its second episode: the worst moments, on purpose.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from robot_rl.data import chunk_io
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore

from .episodes import CHUNK_LEN, SCHEMA, episode_of


def die_at(where: str) -> None:
    real = chunk_io.gather_writes
    calls = {"data": 0, "commit": 0}

    async def gather_writes(arrays, cols, start, end, resize_to=None):
        kind = "commit" if set(arrays) == {"e"} else "data" if "action" in arrays else "meta"
        if kind in calls:
            calls[kind] += 1
        if kind == where == "commit" and calls["commit"] == 2:
            await chunk_io.gather_resizes(arrays, resize_to)
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == where == "data" and calls["data"] == 3:
            keys = sorted(arrays)[: len(arrays) // 2]  # half the arrays get their chunks
            if resize_to is not None:
                await chunk_io.gather_resizes(arrays, resize_to)
            await real({k: arrays[k] for k in keys}, cols, start, end)
            os.kill(os.getpid(), signal.SIGKILL)
        await real(arrays, cols, start, end, resize_to)

    chunk_io.gather_writes = gather_writes


def main(path: str, on_crash: str, first_seed: int, count: int, die: str = "") -> None:
    if die:
        die_at(die)
    store = ReplayStore.open_or_create(path, SCHEMA, chunk_len=CHUNK_LEN, on_crash=on_crash)
    print(json.dumps({"recovery": str(store.recovery)}), flush=True)
    with EpisodeWriter(store, queue_size=64) as writer:
        for seed in range(first_seed, first_seed + count):
            cols = episode_of(seed)
            writer.begin_episode("policy", seed=seed)
            for t in range(len(cols["action"])):
                writer.put({k: v[t] for k, v in cols.items()}, block=True)
            writer.end_episode(success=True)
            writer.flush()
            print(f"committed {seed}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), *sys.argv[5:])
