"""A learner-like reader process: ``python -m tests.integration.data.reader_child URL N DEADLINE_S``.

Polls the store (which may not exist yet) until it has seen ``N`` committed episodes, reads each new
one once, checks it bit by bit, feeds it to a :class:`ReplayCache` the way the learner does, and
prints a JSON report on its last line.
"""

from __future__ import annotations

import json
import sys
import time

from robot_rl.data.cache import ReplayCache
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore

from .episodes import SCHEMA, matches

POLL_S = 0.005


def main(url: str, n: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    store = None
    while store is None and time.monotonic() < deadline:
        try:
            store = ReplayStore.open(url, "r")
        except StoreError:
            time.sleep(POLL_S)  # the writer has not created it yet
    seen, ok, polls, batches = [], [], 0, 0
    cache = ReplayCache(SCHEMA, 10_000)
    while store is not None and len(seen) < n and time.monotonic() < deadline:
        polls += 1
        committed = store.refresh()
        batches += committed > len(seen)
        for i in range(len(seen), committed):
            seed = store.episode_meta(i).seed
            seen.append(i)
            ok.append(bool(matches(store.read_episode(i), seed)))
        cache.refresh(store)
        if len(seen) < n:
            time.sleep(POLL_S)
    print(json.dumps({"seen": seen, "ok": ok, "polls": polls, "batches": batches, "cache_rows": cache.size,
                      "cache_episodes": [e.store_index for e in cache.episodes]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
