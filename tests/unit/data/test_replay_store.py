from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from robot_rl.data import layout as L
from robot_rl.data.errors import CorruptChunkError, LayoutVersionError, StoreError, StoreLockedError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema

from .helpers import assert_same_episode


def test_episodes_read_back_bit_identical(tmp_path, store_with):
    store, eps = store_with([7, 13, 25, 1], chunk_len=8)
    store.close()
    reader = ReplayStore.open(tmp_path / "store.zarr", "r")
    assert reader.n_episodes == 4 and reader.n_rows == 46
    np.testing.assert_array_equal(reader.episode_ends, [7, 20, 45, 46])
    for i, want in enumerate(eps):
        assert_same_episode(reader.read_episode(i), want)
    meta = reader.meta()
    np.testing.assert_array_equal(meta["seed"], [0, 1, 2, 3])
    assert meta["success"].all() and (meta["source"] == int(L.EpisodeSource.policy)).all()
    assert reader.episode_meta(2).seed == 2


def test_layout_on_disk(tmp_path, store_with):
    store, _ = store_with([10, 10], chunk_len=8)
    store.close()
    root = zarr.open_group(tmp_path / "store.zarr", mode="r")
    assert root.metadata.zarr_format == 3
    assert root.attrs[L.LAYOUT_ATTR] == L.LAYOUT_VERSION
    ends = root["meta/episode_ends"]
    assert ends.dtype == np.int64 and list(ends[:]) == [10, 20]
    img = root["data/obs/images/wrist"]
    assert img.shape == (20, 16, 16, 3) and img.chunks == (8, 16, 16, 3)
    codecs = json.loads((tmp_path / "store.zarr/data/obs/images/wrist/zarr.json").read_text())["codecs"]
    names = [c["name"] for c in codecs]
    assert "blosc" in names and names[-1] == "crc32c"
    assert next(c for c in codecs if c["name"] == "blosc")["configuration"]["cname"] == "lz4"


def test_closed_store_is_trimmed_to_its_rows(tmp_path, store_with):
    store, _ = store_with([30], chunk_len=8)
    assert store.data_array("action").shape[0] > 30  # grown ahead while recording
    store.close()
    assert all(n == 30 for n in ReplayStore.open(tmp_path / "store.zarr", "r").data_lengths().values())


def test_a_reader_never_sees_a_half_created_store(tmp_path, schema, monkeypatch):
    """Every write of the root metadata either lacks the layout version or has everything with it."""
    from robot_rl.data import replay_store
    from robot_rl.data.storage import open_zarr_store

    root_writes = []

    def recording_store(path, **kw):
        store = open_zarr_store(path, **kw)
        real_set = store.set

        async def set_(key, value):
            if key == "zarr.json":
                root_writes.append(json.loads(value.to_bytes()).get("attributes", {}))
            await real_set(key, value)

        store.set = set_
        return store

    monkeypatch.setattr(replay_store, "open_zarr_store", recording_store)
    ReplayStore.create(tmp_path / "s.zarr", schema).close()
    with_version = [a for a in root_writes if L.LAYOUT_ATTR in a]
    assert with_version and all(L.SCHEMA_ATTR in a and L.CHUNK_LEN_ATTR in a for a in with_version)


def test_newer_layout_version_is_refused(tmp_path, store_with):
    store, _ = store_with([5])
    store.close()
    root = zarr.open_group(tmp_path / "store.zarr", mode="r+")
    root.attrs[L.LAYOUT_ATTR] = L.LAYOUT_VERSION + 1
    for mode in ("r", "a"):
        with pytest.raises(LayoutVersionError, match=r"layout version 2.*upgrade robot_rl"):
            ReplayStore.open(tmp_path / "store.zarr", mode)


def test_a_plain_zarr_group_is_not_a_store(tmp_path):
    zarr.open_group(tmp_path / "dp.zarr", mode="w")
    with pytest.raises(StoreError, match="not a robot_rl replay store"):
        ReplayStore.open(tmp_path / "dp.zarr")
    with pytest.raises(StoreError, match="no replay store"):
        ReplayStore.open(tmp_path / "missing.zarr")


@pytest.mark.parametrize("damage", ["garbage", "truncate", "delete"])
def test_corrupted_chunk_names_array_and_episode(tmp_path, store_with, damage):
    store, _ = store_with([8, 8, 8], chunk_len=8)  # episode i == chunk i
    store.close()
    chunk = tmp_path / "store.zarr/data/obs/images/front/c/1/0/0/0"
    if damage == "garbage":
        chunk.write_bytes(b"\x00garbage" * 10)
    elif damage == "truncate":
        chunk.write_bytes(chunk.read_bytes()[:-10])
    else:
        chunk.unlink()
    reader = ReplayStore.open(tmp_path / "store.zarr", "r")
    reader.read_episode(0)
    reader.read_episode(2)
    with pytest.raises(CorruptChunkError) as err:
        reader.read_episode(1)
    assert err.value.array == "data/obs/images/front" and err.value.episodes == [1]
    assert "'data/obs/images/front', episode 1" in str(err.value)


def test_corrupted_chunk_shared_by_two_episodes_names_both(tmp_path, store_with):
    store, _ = store_with([5, 6], chunk_len=8)  # chunk 0 holds rows 0..7: episodes 0 and 1
    store.close()
    (tmp_path / "store.zarr/data/action/c/0/0").write_bytes(b"broken")
    with pytest.raises(CorruptChunkError, match=r"'data/action', episode 0, 1"):
        ReplayStore.open(tmp_path / "store.zarr", "r").read_episode(1)


def test_readers_ignore_uncommitted_rows_and_unwritten_ends(tmp_path, store_with, make_episode):
    store, _ = store_with([6], chunk_len=8)
    reader = ReplayStore.open(tmp_path / "store.zarr", "r")
    store.begin_episode(L.EpisodeMeta())
    store.append_rows(make_episode(4, seed=9))  # rows written, no commit
    ends = store.meta_array(L.EPISODE_ENDS)
    ends.resize((2,))  # a commit cut between the resize and the write: the entry reads 0
    assert reader.refresh() == 1 and reader.n_rows == 6
    ends[1] = 10
    assert reader.refresh() == 2 and reader.episode_bounds(1) == (6, 10)


def test_one_writer_at_a_time(tmp_path, store_with):
    store, _ = store_with([3])
    with pytest.raises(StoreLockedError, match="open for writing by another process"):
        ReplayStore.open(tmp_path / "store.zarr", "a")
    ReplayStore.open(tmp_path / "store.zarr", "r")  # readers are welcome
    store.close()
    ReplayStore.open(tmp_path / "store.zarr", "a").close()


def test_open_or_create_checks_the_schema(tmp_path, schema):
    ReplayStore.open_or_create(tmp_path / "s.zarr", schema).close()
    ReplayStore.open_or_create(tmp_path / "s.zarr", schema).close()
    other = RowSchema(cameras=("wrist",), image_hw=(16, 16), state_dim=5)
    with pytest.raises(StoreError, match="holds rows of"):
        ReplayStore.open_or_create(tmp_path / "s.zarr", other)
    with pytest.raises(StoreError, match="already exists"):
        ReplayStore.create(tmp_path / "s.zarr", schema)


def test_fsspec_url(schema, make_episode):
    url = "memory://robot_rl_test/replay.zarr"
    store = ReplayStore.create(url, schema, chunk_len=8, overwrite=True)
    want = make_episode(12, seed=3)
    store.add_episode(want, L.EpisodeMeta(seed=3))
    store.close()
    reader = ReplayStore.open(url, "r")
    assert reader.n_episodes == 1
    assert_same_episode(reader.read_episode(0), want)


def test_fsync_store_round_trip(tmp_path, schema, make_episode):
    from robot_rl.data.storage import DurableLocalStore

    store = ReplayStore.create(tmp_path / "durable.zarr", schema, chunk_len=8, fsync=True)
    assert isinstance(store._store, DurableLocalStore)
    want = make_episode(10)
    store.add_episode(want, L.EpisodeMeta())
    store.close()
    assert_same_episode(ReplayStore.open(tmp_path / "durable.zarr").read_episode(0), want)


def test_appending_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="open_or_create"):
        ReplayStore.open(tmp_path / "missing.zarr", "a")
    assert not (tmp_path / "missing.zarr").exists()


def test_read_only_store_refuses_writes(tmp_path, store_with):
    store_with([3])[0].close()
    reader = ReplayStore.open(tmp_path / "store.zarr", "r")
    with pytest.raises(StoreError, match="read-only"):
        reader.begin_episode(L.EpisodeMeta())
