"""Fuzz the replay store reader against damage on disk: chunk files truncated, overwritten, deleted or
padded; ``zarr.json`` metadata deleted, garbled or edited (dtype, shape, chunking, codecs, layout
attributes); ``meta/episode_ends`` rewritten out of order, past the data, or with the wrong dtype.

After the damage the store is opened, read, sampled, verified and reopened for writing (recovery). The
properties: every failure is a :class:`StoreError` (or its :class:`CorruptChunkError`) naming what is
wrong; ``verify`` never raises and reports any damage to committed rows; whatever is read successfully is
bit-identical to what was written (never silently wrong data); recovery keeps exactly the provable prefix.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import zarr
from hypothesis import given
from hypothesis import strategies as st

from robot_rl.data.cache import ReplayCache
from robot_rl.data.errors import StoreError
from robot_rl.data.integrity import summarize, verify
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.sampler import Sampler
from robot_rl.data.synthetic import episode
from tests.fuzz.conftest import fuzz

SCHEMA = RowSchema(cameras=("wrist",), image_hw=(4, 4), state_dim=3, action_dim=7)
LENGTHS = (5, 3, 6)  # 14 rows in chunks of 4: episodes share chunks, and the last chunk is partial
CHUNK = 4


class Pristine(tuple):
    """(path, episodes written) with a short repr, so hypothesis' failure reports stay readable."""

    def __repr__(self) -> str:
        return f"Pristine({str(self[0])[:60]}, ...)"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict[str, np.ndarray]]]:
    """A small real store, written once; each example damages its own copy."""
    path = tmp_path_factory.mktemp("pristine") / "store.zarr"
    eps = []
    with ReplayStore.create(path, SCHEMA, chunk_len=CHUNK) as store:
        for i, n in enumerate(LENGTHS):
            cols = episode(SCHEMA, n, seed=i)
            store.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy if i else EpisodeSource.demo, seed=i))
            eps.append(cols)
    return Pristine((path, eps))


@pytest.fixture(scope="module")
def files(pristine) -> tuple[list[str], list[str]]:
    """(chunk files, zarr.json files) of the pristine store, relative to its root."""
    root = pristine[0]
    rel = sorted(str(f.relative_to(root)) for f in root.rglob("*") if f.is_file() and f.name != ".robot_rl_writer.lock")
    return Pristine(([f for f in rel if not f.endswith("zarr.json")], [f for f in rel if f.endswith("zarr.json")]))


def _copy(src: Path) -> Path:
    """A fresh copy beside the pristine store (pytest's tmp dir, cleaned with it)."""
    dst = Path(tempfile.mkdtemp(prefix="copy-", dir=src.parent.parent)) / "store.zarr"
    shutil.copytree(src, dst)
    return dst


def _rows(eps: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """All rows as written, episode after episode."""
    return {k: np.concatenate([e[k] for e in eps]) for k in eps[0]}


def _assert_names_where(exc: StoreError, path: Path) -> None:
    """A store error names where the damage is: the store (its path) or the array (``data/<key>``,
    ``meta/<name>``), and says something beyond that."""
    message = str(exc)
    assert str(path) in message or re.search(r"\b(data|meta)/\w+", message), f"names neither store nor array: {exc}"


def _check_reads(path: Path, eps: list[dict[str, np.ndarray]]) -> bool:
    """Open and read everything a consumer reads. Only StoreError may escape any step; every value read
    must be the value written. True when the whole store read back cleanly."""
    rows = _rows(eps)
    clean = True
    try:
        store = ReplayStore.open(path, "r")
    except StoreError as exc:
        _assert_names_where(exc, path)
        return False
    ends = store.episode_ends
    assert np.all(np.diff(np.concatenate([[0], ends])) > 0)  # only increasing ends are ever committed
    for i in range(store.n_episodes):
        start, end = store.episode_bounds(i)
        try:
            got = store.read_episode(i)
        except StoreError as exc:  # CorruptChunkError included
            _assert_names_where(exc, path)
            clean = False
            continue
        for key, value in got.items():
            assert np.array_equal(value, rows[key][start:end]), f"episode {i} {key}: silently wrong data"
    try:
        meta = store.meta()
        assert meta["seed"].tolist() == list(range(store.n_episodes))
        assert meta["source"].tolist() == [int(EpisodeSource.policy if i else EpisodeSource.demo)
                                           for i in range(store.n_episodes)]
        store.episode_meta(store.n_episodes - 1) if store.n_episodes else None
    except StoreError as exc:
        _assert_names_where(exc, path)
        clean = False
    try:  # the learner's path
        cache = ReplayCache(SCHEMA, capacity=64, n_step=2)
        cache.refresh(store)
        if cache.n_transitions:
            batch = Sampler(cache, batch_size=4, seed=0).sample()
            assert all(np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in batch.values()
                       if np.asarray(v).dtype.kind == "f")
    except StoreError as exc:
        _assert_names_where(exc, path)
        clean = False
    store.close()
    return clean


def _intact_episodes(path: Path, eps: list[dict[str, np.ndarray]]) -> list[tuple[int, int]]:
    """The row bounds of the committed episodes that read back exactly as written (none if the store does not
    open): what recovery must keep."""
    rows = _rows(eps)
    try:
        store = ReplayStore.open(path, "r")
    except StoreError:
        return []
    intact = []
    with store:
        for i in range(store.n_episodes):
            start, end = store.episode_bounds(i)
            try:
                got = store.read_episode(i)
            except StoreError:
                continue
            if end <= len(rows["action"]) and all(np.array_equal(v, rows[k][start:end]) for k, v in got.items()):
                intact.append((start, end))
    return intact


def _check_verify(path: Path, damaged: bool) -> None:
    report = verify(path)  # never raises
    for problem in report.problems:  # each names where: an array (data/<key>, meta/<name>) or the store
        assert problem.where == "store" or problem.where.startswith(("data/", "meta/", "recorder")), str(problem)
        assert problem.message, str(problem)
    if damaged:
        assert not report.ok, "damage to committed rows went unreported"


# ------------------------------------------------------------------------------------------ chunk files
def _damage_chunk(path: Path, rel: str, how: str, data: st.DataObject) -> bool:
    """Damage one chunk file; True when its bytes changed."""
    f = path / rel
    if not f.exists() or not f.stat().st_size:  # deleted or emptied by an earlier step
        return False
    before = f.read_bytes()
    if how == "delete":
        f.unlink()
        return True
    if how == "truncate":
        f.write_bytes(before[: data.draw(st.integers(0, len(before) - 1), label="keep")])
    elif how == "flip":
        i = data.draw(st.integers(0, len(before) - 1), label="at")
        bit = data.draw(st.integers(0, 7), label="bit")
        f.write_bytes(before[:i] + bytes([before[i] ^ (1 << bit)]) + before[i + 1:])
    elif how == "garbage":
        f.write_bytes(data.draw(st.binary(max_size=300), label="bytes"))
    elif how == "append":
        f.write_bytes(before + data.draw(st.binary(min_size=1, max_size=16), label="tail"))
    return f.read_bytes() != before


@fuzz(25)
@given(data=st.data())
def test_damaged_chunk_files_are_detected_never_read_as_data(pristine, files, data):
    src, eps = pristine
    chunks, _ = files
    path = _copy(src)
    damaged = False
    for _ in range(data.draw(st.integers(1, 3), label="n")):
        rel = data.draw(st.sampled_from(chunks), label="file")
        how = data.draw(st.sampled_from(["delete", "truncate", "flip", "garbage", "append"]), label="how")
        damaged |= _damage_chunk(path, rel, how, data)
    clean = _check_reads(path, eps)
    _check_verify(path, damaged)
    assert not (damaged and clean), "damaged chunk read back without an error"
    # Not tried: a chunk file replaced by another *valid* chunk of the same array. Its CRC32C covers the
    # bytes, not the chunk's position, so that reads back as wrong rows; only a position-bound checksum
    # (a layout change) would catch it.


# ------------------------------------------------------------------------------------------ zarr.json
JSON_EDITS = {
    "data_type": ["int32", "float64", "uint8", "bool", "int8", "complex128", "nonsense", 7, None],
    "shape": [[0], [1], [2, 3], [13], [15], [100], [-1], "x", None, [14, 4, 4, 3], [14, 3, 4, 4]],
    "chunk_grid": [{"name": "regular", "configuration": {"chunk_shape": [2]}},
                   {"name": "regular", "configuration": {"chunk_shape": [0]}}, {"name": "irregular"}, None],
    "codecs": [[], [{"name": "bytes", "configuration": {"endian": "little"}}], [{"name": "nope"}], None],
    "fill_value": [1, "NaN", None, "x", [1, 2]],
    "zarr_format": [2, 4, "3", None],
    "node_type": ["group", "array", "x", None],
    "chunk_key_encoding": [{"name": "v2", "configuration": {"separator": "."}}, None],
}
ATTR_EDITS = {
    "robot_rl_layout_version": [2, 0, "1", "x", None, 1.5, [1]],
    "robot_rl_row_schema": [None, {}, "x", {"cameras": ["wrist"], "image_hw": [4, 4], "state_dim": 4, "action_dim": 7},
                            {"cameras": ["wrist", "front"], "image_hw": [4, 4], "state_dim": 3, "action_dim": 7},
                            {"cameras": ["wrist"], "image_hw": [8, 2], "state_dim": 3, "action_dim": 7},
                            {"cameras": ["wrist"], "image_hw": [4, 4], "state_dim": 0, "action_dim": 7},
                            {"cameras": "wrist", "image_hw": [4, 4], "state_dim": 3, "action_dim": 7}],
    "robot_rl_chunk_len": [0, -4, 2, 1000, "x", None],
    "open_episode": [{"start": 14, "rows_flushed": 3, "meta": {}}, {"start": "x"}, 5, "x"],
}


def _damage_json(path: Path, rel: str, data: st.DataObject) -> None:
    f = path / rel
    how = data.draw(st.sampled_from(["delete", "truncate", "garbage", "edit", "edit", "attrs", "drop_key"]),
                    label="how")
    if not f.exists():  # deleted by an earlier step
        return
    text = f.read_bytes().decode(errors="replace")
    if how in ("edit", "attrs", "drop_key"):
        try:
            doc = json.loads(text)
        except ValueError:
            return  # garbled by an earlier step
        if not isinstance(doc, dict) or not doc:
            return
    if how == "delete":
        f.unlink()
    elif how == "truncate":
        if text:  # already emptied by an earlier step: nothing left to cut
            f.write_text(text[: data.draw(st.integers(0, len(text) - 1), label="keep")])
    elif how == "garbage":
        f.write_bytes(data.draw(st.one_of(st.binary(max_size=40), st.just(b"[]"), st.just(b"null"),
                                          st.just(b'{"zarr_format": 3}')), label="bytes"))
    else:
        if how == "edit":
            key = data.draw(st.sampled_from(sorted(JSON_EDITS)), label="key")
            doc[key] = data.draw(st.sampled_from(JSON_EDITS[key]), label="value")
        elif how == "attrs":
            key = data.draw(st.sampled_from(sorted(ATTR_EDITS)), label="attr")
            doc.setdefault("attributes", {})[key] = data.draw(st.sampled_from(ATTR_EDITS[key]), label="value")
        else:
            doc.pop(data.draw(st.sampled_from(sorted(doc)), label="dropped"))
        f.write_text(json.dumps(doc))


@fuzz(30)
@given(data=st.data())
def test_damaged_metadata_fails_clearly_never_reads_wrong_data(pristine, files, data):
    src, eps = pristine
    _, jsons = files
    path = _copy(src)
    for _ in range(data.draw(st.integers(1, 2), label="n")):
        _damage_json(path, data.draw(st.sampled_from(jsons), label="file"), data)
    _check_reads(path, eps)
    _check_verify(path, damaged=False)  # some edits (e.g. a fill value) are harmless: only "never raises"
    try:
        summarize(path)
    except StoreError as exc:
        _assert_names_where(exc, path)
    _check_recovery(path, eps, intact=_intact_episodes(path, eps))


# ------------------------------------------------------------------------------------ episode_ends
def _rewrite_ends(path: Path, values: list[int], dtype: str) -> None:
    """Replace meta/episode_ends as a (buggy or hostile) writer would: through zarr, checksums valid."""
    root = zarr.open_group(path, mode="r+")
    old = root["meta/episode_ends"]
    if dtype == "int64":
        old.resize((len(values),))
        if values:
            old[:] = np.asarray(values, dtype=np.int64)
        return
    del root["meta/episode_ends"]
    arr = root.create_array("meta/episode_ends", shape=(len(values),), chunks=(4096,), dtype=dtype, fill_value=0)
    if values:
        arr[:] = np.asarray(values).astype(dtype)


def _committed_prefix(values: list[int]) -> list[int]:
    """What the reader commits: the strictly increasing prefix starting above 0."""
    out: list[int] = []
    for v in values:
        if v <= (out[-1] if out else 0):
            break
        out.append(v)
    return out


@fuzz(25)
@given(values=st.one_of(st.lists(st.integers(-3, 20), max_size=6),
                        st.lists(st.integers(1, 5), max_size=6).map(lambda d: np.cumsum(d).tolist()),
                        st.sampled_from([[5, 8, 14, 0], [5, 8, 14, 20], [5, 8, 14, 14], [5, 8], [5, 3, 14],
                                         [2**62], [5, 8, 14, 2**63 - 1]])),
       dtype=st.sampled_from(["int64", "int64", "int64", "float64", "int32", "uint64", "bool"]))
def test_inconsistent_episode_ends_never_expose_wrong_rows(pristine, values, dtype):
    src, eps = pristine
    path = _copy(src)
    _rewrite_ends(path, values, dtype)
    rows = _rows(eps)
    n_rows = len(rows["action"])
    try:
        store = ReplayStore.open(path, "r")
    except StoreError as exc:
        assert dtype != "int64" and "int64" in str(exc)  # the wrong dtype is named, never reinterpreted
        return
    assert dtype == "int64"
    assert store.episode_ends.tolist() == _committed_prefix(values)
    for i in range(store.n_episodes):
        start, end = store.episode_bounds(i)
        try:
            got = store.read_episode(i, ["action", "t_obs"])
        except StoreError as exc:
            assert end > n_rows and "rows" in str(exc)  # past the data: named, not zero-filled
            continue
        assert end <= n_rows
        for key, value in got.items():
            assert np.array_equal(value, rows[key][start:end])
    store.close()
    _check_verify(path, damaged=False)
    _check_recovery(path, eps, ends=values)


def _check_recovery(path: Path, eps: list[dict[str, np.ndarray]], ends: list[int] | None = None,
                    intact: list[tuple[int, int]] | None = None) -> None:
    """Open for writing (recovery). It fails with StoreError, or leaves a store whose committed episodes are a
    readable, exact prefix of the rows written that keeps every episode in ``intact`` (the row bounds of the
    committed episodes that read back exactly before: provably undamaged); a new episode can then be appended.
    With ``ends`` (only the commit record was damaged) the repair must be complete: exactly the provable prefix,
    verify clean; refusing is allowed only where the record commits rows or episodes the data and metadata do
    not have."""
    rows = _rows(eps)
    n_rows = len(rows["action"])
    try:
        store = ReplayStore.open(path, "a")
    except StoreError as exc:
        if ends is not None:  # data and metadata are intact: only a record past them is a reason not to repair
            committed = _committed_prefix(ends)
            assert any(e > n_rows for e in committed) or len(committed) > len(eps), f"refused an intact store: {exc}"
            assert "damaged" in str(exc), str(exc)
        _assert_names_where(exc, path)
        return
    with store:
        bounds = [store.episode_bounds(i) for i in range(store.n_episodes)]
        if ends is not None:  # the provable prefix (increasing, backed by data): every episode of it kept
            want = [e for e in _committed_prefix(ends) if e <= n_rows][: len(eps)]  # each needs its metadata
            assert store.episode_ends.tolist() == want, "recovery dropped (or invented) committed episodes"
        for kept in intact or ():
            assert kept in bounds, f"recovery dropped the intact episode (rows {kept}): kept {bounds}"
        assert store.n_rows <= n_rows
        for key, arr_len in store.data_lengths().items():
            assert arr_len == store.n_rows, f"data/{key} not trimmed to the committed rows"
        if store.n_episodes:
            try:
                got = store.read_rows(0, store.n_rows, ["action", "reward"])
            except StoreError as exc:
                assert ends is None  # damage recovery does not (and cannot) undo
                _assert_names_where(exc, path)
                return
            for key, value in got.items():
                assert np.array_equal(value, rows[key][: store.n_rows])
        if ends is None:
            return
        store.add_episode(episode(SCHEMA, 3, seed=9), EpisodeMeta(seed=store.n_episodes))
    report = verify(path)
    assert report.ok, [str(p) for p in report.problems]

