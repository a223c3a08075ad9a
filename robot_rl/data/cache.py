"""The learner's in-RAM copy of the replay store, refreshed incrementally.

Sampling straight from zarr costs 130-400 ms per batch of 256 frames (docs/architecture.md §4), so the
learner copies each newly committed episode once into preallocated numpy arrays (images stay
``uint8``: ~98 KB per row with two 128x128 cameras, no next-observation copy) and samples from
those. Rewards are relabelled and n-step targets computed once per episode, on the way in, so
sampling is nothing but gathers.

Rows are split into two pools of transition starts: *offline* (rows of episodes whose source is
in ``offline_sources`` — demonstrations — and every human-intervention row) and *online* (the rest).

When full, the oldest episodes not from an offline source are evicted first (then the oldest of
any), in one compaction that frees ``evict_fraction`` of the capacity. Not thread-safe: call
:meth:`refresh` and sample from the same thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.data.errors import StoreError
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.nstep import nstep_targets
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.rewards import relabel_rewards
from robot_rl.data.row_schema import STATE_KEY, RowSchema

log = logging.getLogger(__name__)

ROW_KEYS = ("action", "base_action", "residual_action")  # per-row (A,) float32 fields kept for batches
SIGNAL_KEYS = ("intervened", "success", "terminated", "truncated")  # read to derive rewards / targets


@dataclass
class CachedEpisode:
    store_index: int  # episode number in the store (-1 when added directly)
    start: int  # first row in the cache arrays
    length: int
    source: EpisodeSource


class ReplayCache:
    """Preallocated arrays of ``capacity`` rows (pages are committed only as rows arrive).

    ``arrays`` holds ``obs/images/<cam>: (N, H, W, 3) uint8``, ``obs/state: (N, D) float32``,
    ``action``/``base_action``/``residual_action: (N, A) float32``, ``intervened: (N,) bool`` and the
    derived ``nstep_return, nstep_discount: (N,) float32``, ``nstep_steps: (N,) int32``,
    ``nstep_terminated, offline: (N,) bool``, ``episode_start: (N,) int64``."""

    def __init__(self, schema: RowSchema, capacity: int, *, n_step: int = 3, gamma: float = 0.99,
                 reward_mode: str = "both", offline_sources: Iterable[str | EpisodeSource] = ("demo", "teleop"),
                 evict_fraction: float = 0.1) -> None:
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2 rows, got {capacity}")
        self.schema = schema
        self.capacity = int(capacity)
        self.n_step, self.gamma, self.reward_mode = int(n_step), float(gamma), reward_mode
        self.offline_sources = frozenset(EpisodeSource.parse(s) for s in offline_sources)
        self.evict_fraction = evict_fraction
        a = schema.action_dim
        specs: dict[str, tuple[tuple[int, ...], Any]] = {
            k: (schema.fields[k].shape, np.uint8) for k in schema.image_keys}
        specs[STATE_KEY] = ((schema.state_dim,), np.float32)
        specs |= {k: ((a,), np.float32) for k in ROW_KEYS}
        specs |= {"intervened": ((), bool), "offline": ((), bool), "nstep_return": ((), np.float32),
                  "nstep_discount": ((), np.float32), "nstep_steps": ((), np.int32),
                  "nstep_terminated": ((), bool), "episode_start": ((), np.int64)}
        self.arrays = {k: np.empty((self.capacity, *shape), dtype=dt) for k, (shape, dt) in specs.items()}
        self.episodes: list[CachedEpisode] = []
        self.size = 0
        self._pools = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self._pools_stale = False
        self._next_store_episode = 0
        self.skipped_episodes: list[int] = []  # unreadable (damaged) store episodes passed over

    @classmethod
    def from_config(cls, buffer_cfg: Any, schema: RowSchema) -> ReplayCache:
        return cls(schema, buffer_cfg.cache_capacity, n_step=buffer_cfg.n_step, gamma=buffer_cfg.gamma,
                   reward_mode=buffer_cfg.reward_mode, offline_sources=buffer_cfg.offline_sources)

    # ------------------------------------------------------------------------------------ ingest
    @property
    def store_keys(self) -> tuple[str, ...]:
        """The store fields the cache reads."""
        return (*self.schema.image_keys, STATE_KEY, *ROW_KEYS, *SIGNAL_KEYS)

    def refresh(self, store: ReplayStore, keys: Sequence[str] | None = None,
                transform: Callable[[Mapping[str, np.ndarray], EpisodeSource], Mapping[str, np.ndarray]] | None = None,
                ) -> int:
        """Copy the episodes committed in ``store`` since the last call; returns how many were looked at.

        ``keys``: the store columns to read (default :attr:`store_keys`); ``transform``: store columns -> this
        cache's columns (the learner's frozen-base featurizer). An episode that cannot be read is skipped, listed
        in :attr:`skipped_episodes` and logged: one damaged episode must not end training on all the others."""
        n = store.refresh()
        first = self._next_store_episode
        if n <= first:
            return 0
        try:
            sources: list | np.ndarray = store.meta(first)["source"]
        except StoreError:
            sources = [None] * (n - first)  # a damaged metadata chunk: read each episode's own below
        for i in range(first, n):
            try:
                code = sources[i - first]
                source = EpisodeSource(int(store.meta(i)["source"][0] if code is None else code))
                cols = store.read_episode(i, list(keys or self.store_keys))
            except StoreError as exc:
                self.skipped_episodes.append(i)
                log.error("skipping store episode %d, unreadable: %s (robot-rl buffer verify %s lists the damage)",
                          i, exc, store.path)
            else:
                self.add_episode(cols if transform is None else transform(cols, source), source, store_index=i)
            self._next_store_episode = i + 1
        return n - first

    @property
    def store_episodes_seen(self) -> int:
        """Store episodes looked at so far (copied or skipped): where the next :meth:`refresh` starts."""
        return self._next_store_episode

    def add_episode(self, cols: Mapping[str, np.ndarray], source: EpisodeSource | str,
                    store_index: int = -1) -> None:
        """Add one episode ``{key: (T, *shape)}`` (at least :attr:`store_keys`)."""
        source = EpisodeSource.parse(source)
        length = len(cols[STATE_KEY])
        if length > self.capacity:
            raise ValueError(f"episode of {length} rows exceeds the cache capacity {self.capacity}")
        if self.size + length > self.capacity:
            self._evict(self.size + length - self.capacity + int(self.evict_fraction * self.capacity))
        s, e = self.size, self.size + length
        arr = self.arrays
        for key in (*self.schema.image_keys, STATE_KEY, *ROW_KEYS, "intervened"):
            arr[key][s:e] = cols[key]
        intervened = np.asarray(cols["intervened"], dtype=bool)
        rewards = relabel_rewards(self.reward_mode, intervened, cols["success"])
        targets = nstep_targets(rewards, cols["terminated"], cols["truncated"], self.n_step, self.gamma)
        arr["nstep_return"][s:e] = targets.returns
        arr["nstep_discount"][s:e] = targets.discount
        arr["nstep_steps"][s:e] = targets.steps
        arr["nstep_terminated"][s:e] = targets.terminated
        arr["offline"][s:e] = intervened | (source in self.offline_sources)
        arr["episode_start"][s:e] = s
        self.episodes.append(CachedEpisode(store_index, s, length, source))
        self.size = e
        self._append_pools(s, e)

    # ----------------------------------------------------------------------------------- pools
    def pools(self) -> tuple[np.ndarray, np.ndarray]:
        """``(offline_starts, online_starts)``: cache rows that start a transition, per pool."""
        if self._pools_stale:
            self._pools = self._starts(0, self.size)
            self._pools_stale = False
        return self._pools

    def _starts(self, s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(s, e)
        valid = self.arrays["nstep_steps"][s:e] > 0
        off = self.arrays["offline"][s:e]
        return rows[valid & off], rows[valid & ~off]

    def _append_pools(self, s: int, e: int) -> None:
        if self._pools_stale:
            return
        off, on = self._starts(s, e)
        self._pools = (np.concatenate([self._pools[0], off]), np.concatenate([self._pools[1], on]))

    @property
    def n_transitions(self) -> int:
        off, on = self.pools()
        return len(off) + len(on)

    # --------------------------------------------------------------------------------- eviction
    def _evict(self, rows_needed: int) -> None:
        order = sorted(range(len(self.episodes)),
                       key=lambda i: (self.episodes[i].source in self.offline_sources, i))
        drop: set[int] = set()
        freed = 0
        for i in order:
            if freed >= rows_needed:
                break
            drop.add(i)
            freed += self.episodes[i].length
        kept = [ep for i, ep in enumerate(self.episodes) if i not in drop]
        n_offline_dropped = sum(self.episodes[i].source in self.offline_sources for i in drop)
        if n_offline_dropped:
            log.warning("replay cache full: evicting %d offline episodes", n_offline_dropped)
        pos = 0
        for ep in kept:  # compaction: every move goes to a lower address
            if ep.start != pos:
                for arr in self.arrays.values():
                    arr[pos:pos + ep.length] = arr[ep.start:ep.start + ep.length]
                self.arrays["episode_start"][pos:pos + ep.length] = pos
                ep.start = pos
            pos += ep.length
        self.episodes, self.size = kept, pos
        self._pools_stale = True
        log.info("replay cache: evicted %d episodes (%d rows)", len(drop), freed)
