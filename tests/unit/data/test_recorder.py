from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from robot_rl.data import layout as L
from robot_rl.data.errors import RowError, StoreError, WriterError
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore

from .helpers import assert_same_episode, row_of

DEADLINE = 30.0


@pytest.fixture
def store(tmp_path, schema):
    s = ReplayStore.create(tmp_path / "rec.zarr", schema, chunk_len=8)
    yield s
    s.close()


def record(writer, cols, **kw):
    writer.begin_episode(**kw)
    accepted = [writer.put(row_of(cols, t)) for t in range(len(cols["action"]))]
    writer.end_episode(success=True)
    return accepted


def test_rows_stream_into_committed_episodes(tmp_path, store, make_episode):
    eps = [make_episode(n, seed=i) for i, n in enumerate([5, 17, 8])]
    before = time.time()
    with EpisodeWriter(store, queue_size=64) as writer:
        for i, cols in enumerate(eps):
            assert all(record(writer, cols, source="demo", seed=i, policy_version=10 + i))
        assert writer.flush(DEADLINE)
        assert writer.stats.episodes_committed == 3 and writer.stats.rows_written == 30
    reader = ReplayStore.open(tmp_path / "rec.zarr", "r")
    for i, want in enumerate(eps):
        assert_same_episode(reader.read_episode(i), want)
        meta = reader.episode_meta(i)
        assert (meta.source, meta.seed, meta.policy_version, meta.success) == (L.EpisodeSource.demo, i, 10 + i, True)
        assert before <= meta.wall_start <= time.time()


def test_bad_rows_are_refused_on_the_callers_thread(store, make_episode):
    cols = make_episode(4)
    with EpisodeWriter(store) as writer:
        writer.begin_episode()
        bad = row_of(cols, 0)
        bad["obs/state"] = np.zeros(4, np.float32)
        with pytest.raises(RowError, match="obs/state"):
            writer.put(bad)
        nan = row_of(cols, 0)
        nan["reward"] = float("nan")
        with pytest.raises(RowError, match="reward"):
            writer.put(nan)
        for t in range(4):
            assert writer.put(row_of(cols, t))
        writer.end_episode()
        writer.flush(DEADLINE)
    assert store.n_episodes == 1 and store.n_rows == 4  # refused rows never reached the store


def test_episode_protocol_errors(store, make_episode):
    idle = EpisodeWriter(store)
    with pytest.raises(StoreError, match="not running"):
        idle.begin_episode()
    with EpisodeWriter(store) as writer:
        with pytest.raises(StoreError, match="begin_episode"):
            writer.put(row_of(make_episode(2), 0))
        with pytest.raises(StoreError, match="without an open episode"):
            writer.end_episode()
        writer.begin_episode()
        with pytest.raises(StoreError, match="while an episode is open"):
            writer.begin_episode()
    with pytest.raises(StoreError, match="not running"):
        writer.put(row_of(make_episode(2), 0))


class Gate:
    """Holds the writer thread inside ``store.<method>`` until released."""

    def __init__(self, store, method):
        self.entered, self.release = threading.Event(), threading.Event()
        self.store, self.method, self._real = store, method, getattr(store, method)
        setattr(store, method, self)

    def __call__(self, *args):
        self.entered.set()
        assert self.release.wait(DEADLINE)
        return self._real(*args)

    def remove(self):
        setattr(self.store, self.method, self._real)


def test_overflow_never_blocks_and_cuts_the_episode(tmp_path, store, make_episode):
    cols = make_episode(20, seed=1)
    gate = Gate(store, "begin_episode")  # the writer thread stalls on its first store call
    writer = EpisodeWriter(store, queue_size=4).start()
    writer.begin_episode(seed=1)
    assert gate.entered.wait(DEADLINE)
    for t in range(4):
        assert writer.put(row_of(cols, t))  # the queue holds 4 rows
    start = time.perf_counter()
    assert writer.put(row_of(cols, 4)) is False  # full: told, not blocked
    assert time.perf_counter() - start < 0.05
    assert writer.put(row_of(cols, 5)) is False  # the episode is cut: no gap inside it
    writer.end_episode(success=True)  # commands are never refused
    assert writer.stats.rows_dropped == 2 and writer.queued_rows == 4
    gate.release.set()
    assert writer.flush(DEADLINE)
    gate.remove()
    other = make_episode(4, seed=2)
    assert all(record(writer, other))  # the next episode (fits the queue) is recorded normally
    writer.close()

    reader = ReplayStore.open(tmp_path / "rec.zarr", "r")
    assert_same_episode(reader.read_episode(0), cols, rows=4)
    meta = reader.episode_meta(0)
    assert meta.status == L.EpisodeStatus.overflow_cut and not meta.success and meta.seed == 1
    assert_same_episode(reader.read_episode(1), other)
    assert reader.episode_meta(1).status == L.EpisodeStatus.complete


def test_overflow_before_a_transition_discards_the_episode(tmp_path, store, make_episode):
    cols = make_episode(5)
    gate = Gate(store, "begin_episode")
    writer = EpisodeWriter(store, queue_size=1).start()
    writer.begin_episode()
    assert writer.put(row_of(cols, 0)) and not writer.put(row_of(cols, 1))
    writer.end_episode()
    gate.release.set()
    writer.close()
    assert writer.stats.episodes_discarded == 1
    assert ReplayStore.open(tmp_path / "rec.zarr", "r").n_episodes == 0


def test_blocking_put_waits_for_space(store, make_episode):
    cols = make_episode(30)
    with EpisodeWriter(store, queue_size=2) as writer:
        writer.begin_episode()
        assert all(writer.put(row_of(cols, t), block=True) for t in range(30))
        writer.end_episode()
        writer.flush(DEADLINE)
    assert store.n_rows == 30 and store.episode_meta(0).status == L.EpisodeStatus.complete


def test_abort_and_close_discard_the_open_episode(tmp_path, store, make_episode):
    with EpisodeWriter(store) as writer:
        writer.begin_episode()
        for t in range(10):
            writer.put(row_of(make_episode(10), t))
        writer.abort_episode()
        record(writer, make_episode(3, seed=3))
        writer.begin_episode()
        writer.put(row_of(make_episode(10), 0))
    reader = ReplayStore.open(tmp_path / "rec.zarr", "r")
    assert reader.n_episodes == 1 and reader.n_rows == 3
    assert set(reader.data_lengths().values()) == {3}


def test_a_failing_writer_surfaces_on_the_next_call(store, make_episode):
    def broken(cols):
        raise OSError("No space left on device")

    store.append_rows = broken
    writer = EpisodeWriter(store).start()
    record(writer, make_episode(3))
    with pytest.raises(WriterError, match="No space left"):
        writer.flush(DEADLINE)
    with pytest.raises(WriterError):
        writer.begin_episode()


def test_closing_a_failed_writer_mid_episode_still_releases_the_store(tmp_path, store, make_episode):
    """A full disk mid-episode: close() reports the failure (the actor node logs it once and exits 1) and the
    store's writer lock is released, so the next process can open it for writing (the committed episode stays)."""
    writer = EpisodeWriter(store).start()
    record(writer, make_episode(3))
    writer.flush(DEADLINE)

    def broken(cols):
        raise OSError("No space left on device")

    store.append_rows = broken
    writer.begin_episode()
    cols = make_episode(20)
    for t in range(20):  # more than a chunk: rows reach the store while the episode is open
        writer.put(row_of(cols, t))
    with pytest.raises(WriterError):
        writer.flush(DEADLINE)
    with pytest.raises(WriterError, match="No space left"):
        writer.close()
    with ReplayStore.open(tmp_path / "rec.zarr", "a") as again:  # the lock was released
        assert again.n_episodes == 1 and again.n_rows == 3
