"""Batches for the learner: offline/online mixing (RLPD), n-step targets, frame stacking, torch out.

A batch of ``B`` transitions is a dict of torch tensors (``K = frame_stack``; without stacking the
``K`` axis is absent; the learner samples single frames, as the BC base and the actor see them):

=======================================  ===========================  =============================
key                                      shape, dtype                 meaning
=======================================  ===========================  =============================
``obs/images/<cam>``                     ``(B, [K,] H, W, 3) uint8``  frames at t (and t-1, ...)
``obs/state``                            ``(B, [K,] D) float32``
``next_obs/images/<cam>``, ``/state``    as above                     at t + m (m <= n)
``action``, ``base_action``,             ``(B, A) float32``           executed / base / residual
``residual_action``                                                   at t
``next_base_action``                     ``(B, A) float32``           base action at t + m
``reward``                               ``(B,) float32``             n-step discounted return
``discount``                             ``(B,) float32``             gamma^m, 0 after termination
``terminated``                           ``(B,) bool``
``intervened``, ``offline``              ``(B,) bool``                human step / offline pool
``index``                                ``(B,) int64``               cache row of t
=======================================  ===========================  =============================

The TD target is ``reward + discount * Q(next_obs, ...)``. Images stay uint8: the learner
converts them on its device. With a GPU present the tensors are gathered straight into pinned
host memory so ``.to("cuda", non_blocking=True)`` overlaps with compute. Output memory is pooled
and reused only once a batch is no longer referenced (:class:`BatchMemory`).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import torch

from robot_rl.data.cache import ROW_KEYS, ReplayCache
from robot_rl.data.row_schema import STATE_KEY

Batch = dict[str, torch.Tensor]


class BatchMemory:
    """Output buffers for batches, reused only once nothing uses a returned batch any more.

    A tensor made by ``torch.from_numpy(a)`` (and every view, storage or ``.numpy()`` of it) keeps a
    reference to ``a``, so ``sys.getrefcount(a)`` tells whether a batch handed out earlier is still
    in use anywhere. Reusing free buffers avoids the page faults of ~50 MB of fresh memory per
    batch, which cost as much as the gather itself here. Up to ``max_slots`` batches are pooled;
    beyond that (the caller holds them all) fresh memory is used."""

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], np.dtype]], *, pinned: bool, max_slots: int) -> None:
        self.shapes, self.pinned, self.max_slots = shapes, pinned, max_slots
        self._slots: list[dict[str, np.ndarray]] = []
        self._free_refs = _max_refs({"x": np.empty(0)})  # what an array referenced only by a slot shows

    def get(self) -> dict[str, np.ndarray]:
        for slot in self._slots:
            if _max_refs(slot) <= self._free_refs:
                return slot
        slot = {name: self._empty(shape, dtype) for name, (shape, dtype) in self.shapes.items()}
        if len(self._slots) < self.max_slots:
            self._slots.append(slot)
        return slot

    def _empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        # torch's allocator, not numpy's: numpy asks for transparent huge pages on big arrays, and
        # gathers into such reused buffers ran up to 2.5x slower here than into torch's memory
        return torch.empty(shape, dtype=_TORCH_DTYPES[dtype], pin_memory=self.pinned).numpy()


def _max_refs(slot: dict[str, np.ndarray]) -> int:
    return max(sys.getrefcount(a) for a in slot.values())


class Sampler:
    """Draws batches from a :class:`ReplayCache`; ``offline_fraction`` of each batch comes from the
    offline pool when both pools have data (else the whole batch from the one that has).

    ``pooled_batches``: output memory of up to this many batches is reused once the caller has
    dropped every tensor of a batch (see :class:`BatchMemory`); 0 gives fresh memory every call."""

    def __init__(self, cache: ReplayCache, batch_size: int = 256, *, offline_fraction: float = 0.5,
                 frame_stack: int = 1, pin_memory: bool | None = None, pooled_batches: int = 4,
                 seed: int | None = None) -> None:
        if not 0.0 <= offline_fraction <= 1.0:
            raise ValueError(f"offline_fraction must be in [0, 1], got {offline_fraction}")
        if frame_stack < 1:
            raise ValueError(f"frame_stack must be >= 1, got {frame_stack}")
        self.cache = cache
        self.batch_size = batch_size
        self.offline_fraction = offline_fraction
        self.frame_stack = frame_stack
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.pooled_batches = pooled_batches
        self.rng = np.random.default_rng(seed)
        obs_keys = (*cache.schema.image_keys, STATE_KEY)
        # (batch key, cache array, which rows: t, t + m, their frame stacks)
        self._plan: list[tuple[str, str, str]] = []
        for prefix, at in (("obs/", "t"), ("next_obs/", "next")):
            stacked = at + ("_stack" if frame_stack > 1 else "")
            self._plan += [(prefix + k[len("obs/"):], k, stacked) for k in obs_keys]
        self._plan += [(k, k, "t") for k in ROW_KEYS]
        self._plan += [("next_base_action", "base_action", "next"), ("reward", "nstep_return", "t"),
                       ("discount", "nstep_discount", "t"), ("terminated", "nstep_terminated", "t"),
                       ("intervened", "intervened", "t")]
        self._memory: dict[int, BatchMemory] = {}  # per batch size

    @classmethod
    def from_config(cls, buffer_cfg: Any, cache: ReplayCache, batch_size: int = 256,
                    seed: int | None = None) -> Sampler:
        return cls(cache, batch_size, offline_fraction=buffer_cfg.offline_fraction, seed=seed)

    def sample_indices(self, batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(rows (B,) int64, offline (B,) bool)``: transition starts, offline part first."""
        b = batch_size or self.batch_size
        off, on = self.cache.pools()
        if len(off) + len(on) == 0:
            raise RuntimeError("the replay cache holds no transitions yet (refresh it from the store)")
        n_off = round(b * self.offline_fraction)
        if not len(on):
            n_off = b
        elif not len(off):
            n_off = 0
        rows = np.empty(b, dtype=np.int64)
        rows[:n_off] = off[self.rng.integers(0, len(off), n_off)]
        rows[n_off:] = on[self.rng.integers(0, len(on), b - n_off)]
        is_off = np.zeros(b, dtype=bool)
        is_off[:n_off] = True
        return rows, is_off

    def sample(self, batch_size: int | None = None) -> Batch:
        """One batch (see the module doc for keys and shapes)."""
        rows, is_off = self.sample_indices(batch_size)
        arr = self.cache.arrays
        next_rows = rows + arr["nstep_steps"][rows]
        at = {"t": rows, "next": next_rows}
        if self.frame_stack > 1:
            at |= {"t_stack": self._stack(rows), "next_stack": self._stack(next_rows)}
        dst = self._buffers(len(rows))
        for name, src, which in self._plan:
            idx = at[which].ravel()
            np.take(arr[src], idx, axis=0, mode="clip", out=dst[name].reshape(len(idx), *arr[src].shape[1:]))
        out: Batch = {name: torch.from_numpy(dst[name]) for name, _, _ in self._plan}
        out["offline"] = torch.from_numpy(is_off)
        out["index"] = torch.from_numpy(rows)
        return out

    def _stack(self, rows: np.ndarray) -> np.ndarray:
        """``(B,) -> (B, K)`` rows t-K+1..t, repeating the episode's first row before its start."""
        offsets = np.arange(self.frame_stack - 1, -1, -1)
        stacked = rows[:, None] - offsets[None, :]
        return np.maximum(stacked, self.cache.arrays["episode_start"][rows][:, None])

    def _buffers(self, b: int) -> dict[str, np.ndarray]:
        """Output arrays for a batch of ``b`` (pooled, or fresh)."""
        memory = self._memory.get(b)
        if memory is None:
            arr = self.cache.arrays
            shapes = {}
            for name, src, which in self._plan:
                lead = (b, self.frame_stack) if which.endswith("_stack") else (b,)
                shapes[name] = ((*lead, *arr[src].shape[1:]), arr[src].dtype)
            memory = self._memory[b] = BatchMemory(shapes, pinned=self.pin_memory, max_slots=self.pooled_batches)
        return memory.get()


_TORCH_DTYPES = {np.dtype(np.uint8): torch.uint8, np.dtype(np.float32): torch.float32,
                 np.dtype(bool): torch.bool, np.dtype(np.int64): torch.int64, np.dtype(np.int32): torch.int32}
