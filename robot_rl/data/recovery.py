"""Crash recovery: what opening a store for writing does with the leftovers of a killed writer.

A writer killed at any instant leaves, at worst (see the commit protocol in
:mod:`robot_rl.data.replay_store`):

- ``data/<key>`` arrays longer than the last committed end, possibly of different lengths and with
  chunks never written (the episode in progress);
- ``meta/episode_<field>`` arrays longer than ``meta/episode_ends`` (grown ahead, or a commit cut
  short);
- a last ``meta/episode_ends`` entry that was resized but never written (reads as 0).

Every committed episode is untouched. The tail is discarded, or with ``keep_truncated`` the rows the
``recorder`` group marks as fully written are committed as an episode with status
``crash_recovered`` (its metadata comes from the marker written when the episode began).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from robot_rl.data import layout as L
from robot_rl.data.errors import StoreError
from robot_rl.data.modes import CrashPolicy

if TYPE_CHECKING:
    from robot_rl.data.replay_store import ReplayStore

CRASH_POLICIES = tuple(p.value for p in CrashPolicy)


@dataclass(frozen=True)
class RecoveryReport:
    """What :func:`recover` found and did."""

    policy: str
    committed_episodes: int  # intact, before any salvage
    committed_rows: int
    interrupted_rows: int  # fully written rows of the episode the crash interrupted
    salvaged_rows: int  # of those, committed as a crash_recovered episode
    discarded_rows: int
    dropped_end_entries: int  # meta/episode_ends entries resized but never written (commit cut short)

    @property
    def action(self) -> str:
        if self.salvaged_rows:
            return "kept_truncated"
        if self.discarded_rows or self.dropped_end_entries:
            return "discarded"
        return "none"

    def __str__(self) -> str:
        head = f"{self.committed_episodes} committed episodes ({self.committed_rows} rows) intact"
        if self.action == "none":
            return f"{head}; nothing to recover"
        parts = [head]
        if self.salvaged_rows:
            parts.append(f"kept the {self.salvaged_rows} fully written rows of the interrupted episode "
                         "as a truncated episode (status crash_recovered)")
        if self.discarded_rows:
            parts.append(f"discarded {self.discarded_rows} rows of an interrupted episode")
        if self.dropped_end_entries:
            parts.append(f"removed {self.dropped_end_entries} unwritten meta/episode_ends entries of a "
                         "cut-short commit")
        return "; ".join(parts) + f" (on_crash={self.policy})"


def crash_policy(policy: str) -> str:
    """``policy`` (a string or a :class:`CrashPolicy`) as a string; ``ValueError`` for an unknown one."""
    policy = str(getattr(policy, "value", policy))
    if policy not in CRASH_POLICIES:
        raise ValueError(f"on_crash must be one of {CRASH_POLICIES}, got {policy!r}")
    return policy


def recover(store: ReplayStore, policy: str = "discard") -> RecoveryReport:
    """Repair ``store`` (open for writing) after a crash; safe and a no-op on a clean store."""
    policy = crash_policy(policy)
    lengths = store.data_lengths()
    shortest = min(lengths.values())

    # 1. The committed prefix of episode_ends: increasing, backed by data and metadata.
    ends_arr = store.meta_array(L.EPISODE_ENDS)
    raw_ends = np.asarray(ends_arr[:], dtype=np.int64)
    meta_len = min(store.meta_array(L.meta_array_name(n)).shape[0] for n in L.META_FIELDS)
    n = store.n_episodes  # refresh() already kept only the increasing prefix
    if n and (int(raw_ends[n - 1]) > shortest or meta_len < n):
        # Cannot happen under the commit protocol (data and metadata are written before the end): this is
        # damage, e.g. an array's zarr.json. Dropping the episodes would destroy committed data for good.
        short = sorted(k for k, v in lengths.items() if v < int(raw_ends[n - 1]))
        raise StoreError(f"{store.path}: committed episodes need {int(raw_ends[n - 1])} rows and {n} metadata "
                         f"entries, but data/{short or '*'} hold {shortest} rows and the metadata {meta_len} "
                         "entries; the store is damaged, not cut short by a crash: not repairing it "
                         "(robot-rl buffer verify says more)")
    dropped = len(raw_ends) - n
    if dropped:
        ends_arr[n:] = 0  # so a later resize never exposes a stale end
        ends_arr.resize((n,))
    store.keep_committed(raw_ends[:n])
    last_end = store.n_rows

    # 2. The interrupted episode: rows the recorder marked as fully written.
    marker = store.recorder_state()
    written = max(0, min(store.open_episode_rows_written(), shortest - last_end))
    salvaged = 0
    if policy == "keep_truncated" and written >= 2:  # at least one transition
        store.truncate_data(last_end + written)
        meta = L.EpisodeMeta.from_json(marker["meta"])
        meta.status = L.EpisodeStatus.crash_recovered
        meta.success = False
        store.resume_interrupted(last_end, written, meta)
        store.commit_episode(meta)
        salvaged = written
    elif max(lengths.values()) != last_end:
        store.truncate_data(last_end)
    store.resize_meta(store.n_episodes)
    if marker is not None:
        store.set_recorder_state(None)
    return RecoveryReport(policy=policy, committed_episodes=n, committed_rows=last_end, interrupted_rows=written,
                          salvaged_rows=salvaged, discarded_rows=written - salvaged, dropped_end_entries=dropped)
