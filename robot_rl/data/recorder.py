"""The recorder: streams rows from the control loop into the replay store without ever stalling it.

The control thread calls :meth:`EpisodeWriter.put` once per step. ``put`` validates the row
(raising :class:`~robot_rl.data.errors.RowError` naming the bad key), copies it and appends it to a
bounded in-memory queue; a background thread stages rows into chunk-aligned blocks, writes them
with :meth:`ReplayStore.append_rows` and commits the episode on :meth:`end_episode`.

When the queue is full ``put`` returns ``False`` at once. A gap in an episode would corrupt its
transitions, so the episode is then *cut*: the refused row and the rest of the episode's rows are
dropped, and the rows before the gap are committed with status ``overflow_cut`` (the sampler
bootstraps from the last kept observation, like a time limit).

Lifecycle::

    with EpisodeWriter(store, queue_size=512) as writer:   # starts the thread
        writer.begin_episode(source="policy", seed=3, policy_version=7)
        for each step: writer.put(row)                     # never blocks; False = overflow
        writer.end_episode(success=True)
    # leaving the block writes everything queued; an episode still open is discarded
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_rl.data.errors import StoreError, WriterError
from robot_rl.data.layout import EpisodeMeta, EpisodeSource, EpisodeStatus
from robot_rl.data.replay_store import ReplayStore

log = logging.getLogger(__name__)

@dataclass
class WriterStats:
    """Counters of an :class:`EpisodeWriter` (read them from any thread)."""

    rows_accepted: int = 0
    rows_written: int = 0
    rows_dropped: int = 0  # refused because the queue was full or the episode was already cut
    episodes_committed: int = 0
    episodes_cut: int = 0  # committed as overflow_cut
    episodes_discarded: int = 0  # aborted, closed while open, or cut before a single transition


class EpisodeWriter:
    """Background writer of one :class:`ReplayStore` (open for writing). Thread-safe for one producer."""

    def __init__(self, store: ReplayStore, queue_size: int = 512) -> None:
        if not store.writable:
            raise StoreError(f"{store.path} is open read-only; open it with mode='a' to record")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.store = store
        self.schema = store.schema
        self.queue_size = queue_size
        self.stats = WriterStats()
        self._items: collections.deque[tuple[str, Any]] = collections.deque()
        self._queued_rows = 0
        self._submitted = 0
        self._done = 0
        self._cv = threading.Condition()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Producer-side episode state (the control thread's view).
        self._episode_open = False
        self._cut = False

    @classmethod
    def from_config(cls, buffer_cfg: Any, schema: Any, path: str | None = None) -> EpisodeWriter:
        """Open (or create) the store of a :class:`~robot_rl.config.schema.BufferConfig` and wrap it."""
        return cls(ReplayStore.from_config(buffer_cfg, schema, path), queue_size=buffer_cfg.queue_size)

    # ---------------------------------------------------------------------------------- lifecycle
    def start(self) -> EpisodeWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="replay-writer", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float | None = None, *, close_store: bool = True) -> None:
        """Write everything queued, discard an episode still open, stop the thread, release the store."""
        if self._episode_open:
            self.abort_episode()
        if self._thread is not None:
            with self._cv:
                self._stopping = True
                self._cv.notify_all()
            self._thread.join(timeout)
            self._thread = None
        if close_store:
            self.store.close()
        self._raise_if_failed()

    def __enter__(self) -> EpisodeWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- producer (control)
    def begin_episode(self, source: str | int | EpisodeSource = EpisodeSource.policy, seed: int = -1,
                      policy_version: int = -1) -> None:
        """Open an episode; its wall-clock start is now."""
        self._check_running()
        if self._episode_open:
            raise StoreError("begin_episode while an episode is open; call end_episode or abort_episode")
        meta = EpisodeMeta(source=EpisodeSource.parse(source), seed=seed, policy_version=policy_version,
                           wall_start=time.time())
        self._episode_open, self._cut = True, False
        self._submit("begin", meta)

    def put(self, row: Mapping[str, Any], *, block: bool = False, timeout: float | None = None) -> bool:
        """Queue one row (``{key: array}`` per :class:`~robot_rl.data.row_schema.RowSchema`).

        Returns ``False`` when the queue is full (the episode is cut, see the module doc) — never
        waits unless ``block=True`` (bulk writers). Raises ``RowError`` naming a bad key."""
        self._check_running()
        if not self._episode_open:
            raise StoreError("put outside an episode: call begin_episode first")
        clean = self.schema.validate(row)
        if self._cut:
            self.stats.rows_dropped += 1
            return False
        with self._cv:
            if self._queued_rows >= self.queue_size and block:
                self._cv.wait_for(lambda: self._queued_rows < self.queue_size or self._error is not None,
                                  timeout)
            if self._queued_rows >= self.queue_size:
                self._cut = True
                self.stats.rows_dropped += 1
                log.warning("replay writer queue full (%d rows): episode cut at this step", self.queue_size)
                return False
            self._queued_rows += 1
            self._items.append(("row", clean))
            self._submitted += 1
            self._cv.notify_all()
        self.stats.rows_accepted += 1
        return True

    def end_episode(self, success: bool = False) -> None:
        """Commit the open episode (never blocks; the commit happens on the writer thread)."""
        self._check_running()
        if not self._episode_open:
            raise StoreError("end_episode without an open episode")
        self._episode_open = False
        self._submit("end", (bool(success), self._cut))

    def abort_episode(self) -> None:
        """Drop the open episode's rows (e.g. the operator reset mid-episode)."""
        if self._episode_open:
            self._episode_open = False
            self._submit("abort", None)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written and committed (not for the control loop).
        Returns ``False`` on timeout."""
        self._check_running()
        with self._cv:
            target = self._submitted
            ok = self._cv.wait_for(lambda: self._done >= target or self._error is not None, timeout)
        self._raise_if_failed()
        return ok

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def _submit(self, kind: str, payload: Any) -> None:
        with self._cv:
            self._items.append((kind, payload))
            self._submitted += 1
            self._cv.notify_all()

    def _check_running(self) -> None:
        self._raise_if_failed()
        if self._thread is None:
            raise StoreError("the replay writer is not running: start() it, or use it in a with block")

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise WriterError(f"replay writer failed: {self._error!r}") from self._error

    # ------------------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        stage = _Stage(self.schema, self.store.chunk_len)
        meta: EpisodeMeta | None = None
        try:
            while True:
                with self._cv:
                    self._cv.wait_for(lambda: self._items or self._stopping)
                    if not self._items:
                        return  # stopping and drained
                    kind, payload = self._items.popleft()
                if kind == "row":
                    stage.add(payload)
                    if (self.store.rows_written + stage.n) % self.store.chunk_len == 0:  # chunk-aligned
                        self._write(stage)
                elif kind == "begin":
                    meta = payload
                    self.store.begin_episode(meta)
                elif kind == "end":
                    self._write(stage)
                    self._commit(meta, *payload)
                else:  # abort
                    stage.n = 0
                    self.store.discard_open_episode()
                    self.stats.episodes_discarded += 1
                with self._cv:
                    if kind == "row":
                        self._queued_rows -= 1
                    self._done += 1
                    self._cv.notify_all()
        except BaseException as exc:  # surfaced to the producer on its next call
            log.exception("replay writer failed")
            with self._cv:
                self._error = exc
                self._cv.notify_all()

    def _write(self, stage: _Stage) -> None:
        if stage.n:
            self.store.append_rows(stage.view())
            self.stats.rows_written += stage.n
            stage.n = 0

    def _commit(self, meta: EpisodeMeta | None, success: bool, cut: bool) -> None:
        assert meta is not None
        meta.success = success and not cut
        if cut:
            meta.status = EpisodeStatus.overflow_cut
        if self.store.open_episode_rows < (2 if cut else 1):
            self.store.discard_open_episode()
            self.stats.episodes_discarded += 1
            return
        self.store.commit_episode(meta)
        self.stats.episodes_committed += 1
        self.stats.episodes_cut += int(cut)


class _Stage:
    """Rows staged by the writer thread until a chunk boundary: ``{key: (chunk_len, *shape)}``."""

    def __init__(self, schema: Any, chunk_len: int) -> None:
        self.cols = schema.empty_columns(chunk_len)
        self.n = 0

    def add(self, row: Mapping[str, np.ndarray]) -> None:
        for key, value in row.items():
            self.cols[key][self.n] = value
        self.n += 1

    def view(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n] for k, v in self.cols.items()}
