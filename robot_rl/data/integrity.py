"""What is in a store (:func:`summarize`) and whether it is intact (:func:`verify`).

Both open the store read-only, so they are safe while a recorder is writing. ``verify`` reads every
chunk of every committed row (checksums, missing files), checks dtypes and shapes against the row
schema, the ordering of ``meta/episode_ends``, the per-episode metadata codes, and looks for NaN in
float fields. Rows after the last committed episode are reported, not counted as a problem: they
are an episode in progress, or a crash's leftovers that the next writer repairs.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_rl.data import layout as L
from robot_rl.data.errors import CorruptChunkError, StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.storage import store_size_bytes


@dataclass
class StoreSummary:
    path: str
    size_bytes: int
    schema: dict[str, Any]
    chunk_len: int
    n_episodes: int
    n_rows: int
    uncommitted_rows: int
    lengths: list[int]
    sources: dict[str, int]
    statuses: dict[str, int]
    success_rate: float | None
    intervention_rate: float | None  # fraction of rows a human commanded
    episodes_with_intervention: int
    episodes: list[dict[str, Any]] = field(repr=False, default_factory=list)


def summarize(path: str | os.PathLike[str]) -> StoreSummary:
    """Episode count, lengths, sources, success and intervention rates, size on disk."""
    store = ReplayStore.open(path, "r")
    meta = store.meta()
    ends = meta["episode_ends"]
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    lengths = (ends - starts).astype(int)
    intervened = store.read_rows(0, store.n_rows, ["intervened"])["intervened"].astype(bool)  # checked read
    per_ep = np.add.reduceat(intervened, starts) if len(ends) else np.zeros(0, int)
    episodes = [{"episode": i, "source": L.EpisodeSource(int(meta["source"][i])).name, "length": int(lengths[i]),
                 "success": bool(meta["success"][i]), "intervened_rows": int(per_ep[i]),
                 "status": L.EpisodeStatus(int(meta["status"][i])).name, "seed": int(meta["seed"][i]),
                 "policy_version": int(meta["policy_version"][i]), "wall_start": float(meta["wall_start"][i])}
                for i in range(len(ends))]
    return StoreSummary(
        path=store.path, size_bytes=store_size_bytes(path), schema=store.schema.to_json(),
        chunk_len=store.chunk_len, n_episodes=store.n_episodes, n_rows=store.n_rows,
        uncommitted_rows=store.open_episode_rows_written(), lengths=lengths.tolist(),
        sources=dict(Counter(e["source"] for e in episodes)), statuses=dict(Counter(e["status"] for e in episodes)),
        success_rate=float(np.mean(meta["success"])) if len(ends) else None,
        intervention_rate=float(intervened.mean()) if len(intervened) else None,
        episodes_with_intervention=int((per_ep > 0).sum()), episodes=episodes)


@dataclass(frozen=True)
class Problem:
    """One integrity problem: ``where`` is an array (``data/action``) or ``store``."""

    where: str
    message: str
    episodes: tuple[int, ...] = ()

    def __str__(self) -> str:
        eps = f" [episode {', '.join(map(str, self.episodes))}]" if self.episodes else ""
        return f"{self.where}{eps}: {self.message}"


@dataclass
class VerifyReport:
    problems: list[Problem]
    notes: list[str]
    chunks_read: int
    n_episodes: int
    n_rows: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Check the store at ``path``; never raises for a damaged store, it reports."""
    problems: list[Problem] = []
    notes: list[str] = []
    try:
        store = ReplayStore.open(path, "r")
    except (StoreError, OSError) as exc:
        return VerifyReport([Problem("store", str(exc))], notes, 0, 0, 0)
    n_rows, n_eps = store.n_rows, store.n_episodes
    problems += _check_episode_table(store, notes)
    chunks = 0
    for key, spec in store.schema.fields.items():
        name = f"{L.DATA_GROUP}/{key}"
        try:
            arr = store.data_array(key)
        except Exception as exc:
            problems.append(Problem(name, f"cannot open: {exc}"))
            continue
        if arr.dtype != spec.dtype or arr.shape[1:] != spec.shape:
            problems.append(Problem(name, f"is {arr.dtype} {arr.shape[1:]}, schema says {spec.dtype} {spec.shape}"))
            continue
        if arr.shape[0] < n_rows:
            problems.append(Problem(name, f"has {arr.shape[0]} rows, committed episodes need {n_rows}"))
            continue
        for lo in range(0, n_rows, store.chunk_len):
            hi = min(n_rows, lo + store.chunk_len)
            chunks += 1
            try:
                values = store.read_rows(lo, hi, [key])[key]
            except CorruptChunkError as exc:
                problems.append(Problem(name, str(exc), tuple(exc.episodes)))
                continue
            if spec.finite and not np.isfinite(values).all():
                bad = lo + np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
                eps = sorted({e for r in bad for e in store.episodes_in_rows(int(r), int(r) + 1)})
                problems.append(Problem(name, f"NaN or inf in rows {bad.tolist()[:10]}", tuple(eps)))
    return VerifyReport(problems, notes, chunks, n_eps, n_rows)


def _check_episode_table(store: ReplayStore, notes: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    n = store.n_episodes
    raw = store.meta_array(L.EPISODE_ENDS).shape[0]
    if raw > n:  # not corruption: a commit in progress, or cut short by a crash
        notes.append(f"meta/episode_ends has {raw - n} entry not yet written after episode {n - 1} (a commit "
                     "in progress, or cut short by a crash: the next writer removes it)")
    for name, dtype in L.META_FIELDS.items():
        arr_name = L.meta_array_name(name)
        try:
            arr = store.meta_array(arr_name)
            values = store.read_checked(f"{L.META_GROUP}/{arr_name}", arr, 0, min(n, arr.shape[0]))
        except Exception as exc:  # a missing chunk file too, which zarr would read as zeros
            problems.append(Problem(f"{L.META_GROUP}/{arr_name}", f"unreadable: {exc}"))
            continue
        if arr.shape[0] < n or arr.dtype != dtype:
            problems.append(Problem(f"{L.META_GROUP}/{arr_name}", f"{arr.dtype} with {arr.shape[0]} entries, "
                                    f"expected {dtype} with {n}"))
            continue
        enum = {"source": L.EpisodeSource, "status": L.EpisodeStatus}.get(name)
        if enum is not None:
            bad = np.flatnonzero(~np.isin(values, [int(e) for e in enum]))
            if len(bad):
                problems.append(Problem(f"{L.META_GROUP}/{arr_name}", f"unknown codes {values[bad].tolist()}",
                                        tuple(bad.tolist())))
    try:
        open_rows = store.open_episode_rows_written()
    except StoreError as exc:
        problems.append(Problem(L.RECORDER_GROUP, str(exc)))
        open_rows = 0
    if open_rows:
        notes.append(f"{open_rows} rows after the last committed episode (an episode being written, or a "
                     "crash's leftovers: the next writer discards or salvages them)")
    return problems
