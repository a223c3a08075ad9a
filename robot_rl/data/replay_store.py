"""The replay store: a zarr v3 group of episodes, appended by one writer, read by many.

Commit protocol (what makes ``kill -9`` at any instant safe, see :mod:`robot_rl.data.layout`):

1. rows of the episode in progress are appended to ``data/<key>`` (the arrays grow ahead of the
   rows, ``GROW_CHUNKS`` chunks at a time, and are trimmed on close), and the ``recorder`` group
   records how many rows of the open episode are fully written;
2. the per-episode ``meta/episode_<field>`` arrays get the new entry;
3. ``meta/episode_ends`` gets the new end — the commit. An entry whose value is not larger than
   the previous one (a resize whose write never happened) is not committed.

Readers only look at rows below the last committed end, so they never see a partial episode.
Opening for writing repairs whatever a crash left behind (:mod:`robot_rl.data.recovery`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import zarr

from robot_rl.data import chunk_io
from robot_rl.data import layout as L
from robot_rl.data.errors import CorruptChunkError, LayoutVersionError, StoreError
from robot_rl.data.recovery import crash_policy, recover
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.storage import WriterLock, clear_store, open_zarr_store, store_exists

log = logging.getLogger(__name__)
_WRITE_CONFIG = {"write_empty_chunks": True}  # every chunk exists, so a deleted file is detectable
GROW_CHUNKS = 10  # data/ arrays grow this many chunks at a time while recording


class ReplayStore:
    """Episodes of rows in a zarr group. Open with :meth:`open`, :meth:`create` or :meth:`open_or_create`.

    Read side: :meth:`refresh` discovers newly committed episodes; :meth:`read_episode` returns
    ``{key: (T, *shape)}``; :meth:`meta` returns the per-episode metadata arrays.
    Write side (one process): :meth:`begin_episode`, :meth:`append_rows`, :meth:`commit_episode`
    (the :class:`~robot_rl.data.recorder.EpisodeWriter` calls these from its thread).
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool, fsync: bool = False) -> None:
        self.path = str(path)
        self.writable = writable
        self._store = open_zarr_store(path, read_only=not writable, fsync=fsync)
        self._lock: WriterLock | None = None
        self._arrays: dict[str, zarr.Array] = {}
        self._ends = np.zeros(0, dtype=np.int64)
        self._tail = 0  # rows in data/ (writer side: committed rows + rows of the open episode)
        self._capacity = 0  # rows the data/ arrays are sized to (grown ahead of _tail, trimmed on close)
        self._meta_capacity = 0  # entries the meta/episode_<field> arrays are sized to
        self._open: dict[str, Any] | None = None  # the open episode: start, rows_flushed, meta
        self.recovery: Any = None  # RecoveryReport of the last open for writing
        self._ready = False  # opened (and recovered) successfully
        self._recorder: zarr.Group | None = None  # the recorder group, cached on the writer side
        self.schema: RowSchema
        self.chunk_len: int

    # ----------------------------------------------------------------------------- open / create
    @classmethod
    def create(cls, path: str | os.PathLike[str], schema: RowSchema, *, chunk_len: int = 100,
               compression: str = "lz4", compression_level: int = 5, fsync: bool = False,
               overwrite: bool = False) -> ReplayStore:
        """Create an empty store (``overwrite`` replaces an existing one) and open it for writing."""
        self = cls(path, writable=True, fsync=fsync)
        self._lock = WriterLock(path)
        try:
            if store_exists(path):
                if not overwrite:
                    raise StoreError(f"a store already exists at {path} (open it, or pass overwrite=True)")
                clear_store(path)
            self._create_layout(schema, chunk_len, compression, compression_level)
            self._load_root()
        except BaseException:
            self.close()
            raise
        self._ready = True
        return self

    def _create_layout(self, schema: RowSchema, chunk_len: int, compression: str, level: int) -> None:
        root = zarr.open_group(self._store, mode="a", zarr_format=3)
        for key, spec in schema.fields.items():
            root.create_array(f"{L.DATA_GROUP}/{key}", shape=(0, *spec.shape), chunks=(chunk_len, *spec.shape),
                              dtype=spec.dtype, fill_value=0, config=_WRITE_CONFIG,
                              compressors=L.compressors(compression, level, spec.dtype))
        meta_fields = {L.EPISODE_ENDS: np.dtype(np.int64)}
        meta_fields |= {L.meta_array_name(k): v for k, v in L.META_FIELDS.items()}
        for name, dtype in meta_fields.items():
            root.create_array(f"{L.META_GROUP}/{name}", shape=(0,), chunks=(L.META_CHUNK,), dtype=dtype,
                              fill_value=0, config=_WRITE_CONFIG,
                              compressors=L.compressors(compression, level, dtype))
        root.create_group(L.RECORDER_GROUP, attributes={"open_episode": None})
        # The layout attributes go last, in one write (``attrs.update`` would write key by key): a store
        # without them was never finished.
        root.update_attributes({
            L.LAYOUT_ATTR: L.LAYOUT_VERSION, L.SCHEMA_ATTR: schema.to_json(), L.CHUNK_LEN_ATTR: chunk_len,
            L.SOURCE_CODES_ATTR: {s.name: int(s) for s in L.EpisodeSource},
            L.STATUS_CODES_ATTR: {s.name: int(s) for s in L.EpisodeStatus},
        })

    @classmethod
    def open(cls, path: str | os.PathLike[str], mode: str = "r", *, on_crash: str = "discard",
             fsync: bool = False) -> ReplayStore:
        """Open an existing store: ``mode="r"`` to read (any number of processes, while one writes),
        ``mode="a"`` to append (takes the writer lock and repairs a crashed tail per ``on_crash``)."""
        if mode not in ("r", "a"):
            raise ValueError(f"mode must be 'r' or 'a', got {mode!r}")
        if not store_exists(path):
            raise StoreError(f"no replay store at {path}" + (" (open_or_create makes one)" if mode == "a" else ""))
        on_crash = crash_policy(on_crash)  # a bad setting is a ValueError, before the store is touched
        self = cls(path, writable=mode == "a", fsync=fsync)
        try:
            if self.writable:
                self._lock = WriterLock(path)
            self._load_root()
            if self.writable:
                try:
                    self.recovery = recover(self, on_crash)
                except StoreError:
                    raise
                except Exception as exc:  # zarr's and numpy's errors on damaged metadata
                    raise StoreError(f"{path}: cannot repair the store for writing ({type(exc).__name__}: "
                                     f"{exc}); run `robot-rl buffer verify` on it") from exc
                if self.recovery.action != "none":
                    log.warning("%s: %s", path, self.recovery)
            self._ready = True
        except BaseException:
            self.close()
            raise
        return self

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], schema: RowSchema, *, chunk_len: int = 100,
                       compression: str = "lz4", compression_level: int = 5, on_crash: str = "discard",
                       fsync: bool = False) -> ReplayStore:
        """The recorder's entry point: append to the store at ``path`` (which must have ``schema``, the optional
        help and reward fields aside: a store keeps its own) or create it."""
        if not store_exists(path):
            return cls.create(path, schema, chunk_len=chunk_len, compression=compression,
                              compression_level=compression_level, fsync=fsync)
        self = cls.open(path, "a", on_crash=on_crash, fsync=fsync)
        if self.schema != schema and not self.schema.same_but_optional(schema):
            self.close()
            raise StoreError(f"{path} holds rows of {self.schema}, not the requested {schema}")
        return self

    @classmethod
    def from_config(cls, buffer_cfg: Any, schema: RowSchema, path: str | None = None) -> ReplayStore:
        """Open or create for writing from a :class:`~robot_rl.config.schema.BufferConfig`."""
        return cls.open_or_create(path or buffer_cfg.path, schema, chunk_len=buffer_cfg.chunk_len,
                                  compression=buffer_cfg.compression,
                                  compression_level=buffer_cfg.compression_level,
                                  on_crash=_enum_value(buffer_cfg.on_crash), fsync=buffer_cfg.fsync)

    def _load_root(self) -> None:
        try:
            root = zarr.open_group(self._store, mode="r" if not self.writable else "r+")
        except Exception as exc:
            raise StoreError(f"{self.path} is not a zarr group: {exc}") from exc
        attrs = dict(root.attrs)
        version = attrs.get(L.LAYOUT_ATTR)
        if version is None:
            raise StoreError(f"{self.path} is not a robot_rl replay store (no {L.LAYOUT_ATTR!r} attribute; "
                             "a Diffusion Policy zarr must be imported: robot_rl.data.dp_interop)")
        try:
            newer = int(version) > L.LAYOUT_VERSION
            schema = RowSchema.from_json(attrs[L.SCHEMA_ATTR])
            chunk_len = int(attrs[L.CHUNK_LEN_ATTR])
            if chunk_len < 1:
                raise ValueError(f"chunk length {chunk_len}")
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            raise StoreError(f"{self.path}: the store's layout attributes are damaged "
                             f"({type(exc).__name__}: {exc})") from None
        if newer:
            raise LayoutVersionError(
                f"{self.path} was written with replay store layout version {version}, newer than the "
                f"version {L.LAYOUT_VERSION} this robot_rl reads; upgrade robot_rl to open it")
        self._root = root
        self.schema = schema
        self.chunk_len = chunk_len
        self.refresh()
        self._tail = self.n_rows
        if self.writable:
            self._open = None
            self._capacity = max(self.data_lengths().values())
            self._meta_capacity = min(self.meta_array(L.meta_array_name(n)).shape[0] for n in L.META_FIELDS)

    def close(self) -> None:
        """Trim the arrays grown ahead of the data (writers) and release the writer lock."""
        try:
            if self.writable and self._lock is not None and self._ready:  # not after a failed open
                if self._capacity > self._tail:
                    self.truncate_data(self._tail)
                if self._meta_capacity > self.n_episodes:
                    self.resize_meta(self.n_episodes)
        finally:  # a trim that fails (a full disk) still lets the next writer in; its recovery trims instead
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> ReplayStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ arrays
    def _array(self, path: str, min_len: int = 0) -> zarr.Array:
        """The zarr array at ``path``, reopened when our cached metadata is older than ``min_len`` rows.
        :class:`StoreError` when it cannot be opened or its dtype or row shape is not the layout's: reading
        a float32 field as int32 would be silently wrong data."""
        arr = self._arrays.get(path)
        if arr is None or arr.shape[0] < min_len:
            mode = "r+" if self.writable else "r"
            try:
                arr = zarr.open_array(self._store, path=path, mode=mode).with_config(_WRITE_CONFIG)
            except Exception as exc:  # missing or undecodable zarr.json: zarr and json raise many kinds
                raise StoreError(f"{self.path}: cannot open array {path} ({type(exc).__name__}: {exc})") from None
            if arr.ndim < 1 or min(arr.chunks, default=0) < 1:
                raise StoreError(f"{self.path}: array {path} has shape {arr.shape} and chunks {arr.chunks} "
                                 "(damaged metadata?)")
            want = self._expected(path)
            if want is not None and (arr.dtype != want[0] or arr.shape[1:] != want[1] or arr.ndim != len(want[1]) + 1):
                raise StoreError(f"{self.path}: array {path} is {arr.dtype} with rows of shape {arr.shape[1:]}, "
                                 f"the store's layout says {want[0]} {want[1]} (damaged metadata?)")
            self._arrays[path] = arr
        return arr

    def _expected(self, path: str) -> tuple[np.dtype, tuple[int, ...]] | None:
        """(dtype, per-row shape) the layout prescribes for the array at ``path``."""
        group, _, name = path.partition("/")
        if group == L.DATA_GROUP and name in self.schema.fields:
            spec = self.schema.fields[name]
            return spec.dtype, spec.shape
        if group == L.META_GROUP:
            if name == L.EPISODE_ENDS:
                return np.dtype(np.int64), ()
            field = name.removeprefix("episode_")
            if field in L.META_FIELDS:
                return L.META_FIELDS[field], ()
        return None

    def read_checked(self, path: str, arr: zarr.Array, start: int, end: int, tolerate_last: bool = False
                      ) -> np.ndarray:
        """Entries ``[start, end)`` of a ``meta/`` array, every chunk checked (a missing chunk file would read
        as zeros). ``tolerate_last``: a missing last chunk holding one entry is a commit cut short."""
        if end <= start:
            return np.zeros(0, arr.dtype)
        res = chunk_io.read_rows(self._store, [arr], start, end)[0]
        if isinstance(res, chunk_io.MissingChunk) and tolerate_last:
            c = arr.chunks[0]
            if res.chunk == (arr.shape[0] - 1) // c and arr.shape[0] == res.chunk * c + 1:
                try:
                    ok = np.asarray(arr[start:end - 1]) if end - 1 > start else np.zeros(0, arr.dtype)
                except chunk_io.DATA_ERRORS as exc:
                    res = exc
                else:
                    return np.concatenate([ok, np.zeros(1, arr.dtype)])
        if isinstance(res, BaseException):
            raise StoreError(f"{self.path}: {path} is unreadable, a damaged chunk ({type(res).__name__}: {res})")
        return res

    def data_array(self, key: str, min_len: int = 0) -> zarr.Array:
        return self._array(f"{L.DATA_GROUP}/{key}", min_len)

    def meta_array(self, name: str, min_len: int = 0) -> zarr.Array:
        return self._array(f"{L.META_GROUP}/{name}", min_len)

    # -------------------------------------------------------------------------------- read side
    def refresh(self) -> int:
        """Re-read ``meta/episode_ends``; returns the number of committed episodes."""
        known = len(self._ends)
        path = f"{L.META_GROUP}/{L.EPISODE_ENDS}"
        try:
            arr = zarr.open_array(self._store, path=path, mode="r")
        except Exception as exc:  # missing or undecodable zarr.json
            raise StoreError(f"{self.path}: cannot open {path} ({type(exc).__name__}: {exc})") from None
        if arr.dtype != np.int64 or arr.ndim != 1:
            raise StoreError(f"{self.path}: {path} is {arr.dtype} {arr.shape}, the layout says int64 (E,)")
        if arr.shape[0] < known:
            raise StoreError(f"{self.path}: meta/episode_ends shrank from {known} to {arr.shape[0]} entries; "
                             "was the store replaced?")
        if arr.shape[0] > known:
            new = self.read_checked(path, arr, known, arr.shape[0], tolerate_last=True)
            prev = np.concatenate([self._ends[-1:] if known else np.zeros(1, np.int64), new[:-1]])
            bad = np.flatnonzero(new <= prev)  # an entry resized but not yet written is 0
            self._ends = np.concatenate([self._ends, new[: bad[0] if len(bad) else len(new)]])
        return len(self._ends)

    @property
    def n_episodes(self) -> int:
        return len(self._ends)

    @property
    def n_rows(self) -> int:
        """Rows of committed episodes."""
        return int(self._ends[-1]) if len(self._ends) else 0

    @property
    def episode_ends(self) -> np.ndarray:
        """``(E,) int64`` exclusive end row of each committed episode (a copy)."""
        return self._ends.copy()

    def episode_bounds(self, episode: int) -> tuple[int, int]:
        if not 0 <= episode < len(self._ends):
            raise IndexError(f"episode {episode} not committed (have {len(self._ends)})")
        return (int(self._ends[episode - 1]) if episode else 0), int(self._ends[episode])

    def episodes_in_rows(self, start: int, end: int) -> list[int]:
        """Committed episodes with rows in ``[start, end)``."""
        starts = np.concatenate([[0], self._ends[:-1]])
        return [int(i) for i in np.flatnonzero((starts < end) & (self._ends > start))]

    def read_episode(self, episode: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """``{key: (T, *shape)}`` rows of one committed episode. Raises :class:`CorruptChunkError`
        naming the array and episode when a chunk is missing or fails its checksum."""
        start, end = self.episode_bounds(episode)
        return self.read_rows(start, end, keys)

    def read_rows(self, start: int, end: int, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        keys = list(self.schema.keys if keys is None else keys)
        arrays = {k: self.data_array(k, end) for k in keys}
        for key, arr in arrays.items():
            if arr.shape[0] < end:
                raise StoreError(f"data/{key} has {arr.shape[0]} rows, committed episodes need {end}")
        results = chunk_io.read_rows(self._store, list(arrays.values()), start, end)
        out: dict[str, np.ndarray] = {}
        for key, res in zip(keys, results, strict=True):
            if isinstance(res, BaseException):
                raise self._corruption(f"{L.DATA_GROUP}/{key}", arrays[key], start, end, res)
            out[key] = res
        return out

    def _corruption(self, name: str, arr: zarr.Array, start: int, end: int, exc: BaseException) -> BaseException:
        """The :class:`CorruptChunkError` for a failed read, naming every episode in the bad chunk(s)."""
        if not isinstance(exc, (chunk_io.MissingChunk, *chunk_io.DATA_ERRORS)):
            return exc  # not a data problem
        c = arr.chunks[0]
        bad = [exc.chunk] if isinstance(exc, chunk_io.MissingChunk) else chunk_io.failing_chunks(arr, start, end)
        lo, hi = (bad[0] * c, (bad[-1] + 1) * c) if bad else (start, end)
        hi = min(hi, max(end, self.n_rows))
        cause = str(exc) if isinstance(exc, chunk_io.MissingChunk) else f"{type(exc).__name__}: {exc}"
        return CorruptChunkError(name, self.episodes_in_rows(lo, hi), (lo, hi), cause)

    def meta(self, first: int = 0) -> dict[str, np.ndarray]:
        """Per-episode metadata of committed episodes ``first..E-1``: ``{"episode_ends", "source", ...}``,
        each ``(E - first,)``."""
        n = self.n_episodes
        out = {"episode_ends": self._ends[first:].copy()}
        for name in L.META_FIELDS:
            out[name] = self._meta_values(name, first, n)
        return out

    def _meta_values(self, name: str, start: int, end: int) -> np.ndarray:
        """Entries ``[start, end)`` of ``meta/episode_<name>``; :class:`StoreError` for a damaged chunk, too few
        entries or an unknown source / status code."""
        path = f"{L.META_GROUP}/{L.meta_array_name(name)}"
        arr = self.meta_array(L.meta_array_name(name), end)
        if arr.shape[0] < end:
            raise StoreError(f"{self.path}: {path} has {arr.shape[0]} entries, committed episodes need {end}")
        values = self.read_checked(path, arr, start, end)
        enum = {"source": L.EpisodeSource, "status": L.EpisodeStatus}.get(name)
        if enum is not None:
            bad = np.flatnonzero(~np.isin(values, [int(e) for e in enum]))
            if len(bad):
                raise StoreError(f"{self.path}: {path} has unknown codes {values[bad].tolist()[:5]} "
                                 f"(episode {', '.join(str(start + int(i)) for i in bad[:5])})")
        return values

    def episode_meta(self, episode: int) -> L.EpisodeMeta:
        self.episode_bounds(episode)
        vals = {n: self._meta_values(n, episode, episode + 1)[0] for n in L.META_FIELDS}
        return L.EpisodeMeta(source=L.EpisodeSource(int(vals["source"])), success=bool(vals["success"]),
                             seed=int(vals["seed"]), policy_version=int(vals["policy_version"]),
                             wall_start=float(vals["wall_start"]), status=L.EpisodeStatus(int(vals["status"])))

    def set_recorder_state(self, state: dict[str, Any] | None) -> None:
        """Record the open episode's progress (one atomic metadata write)."""
        if self._recorder is None:
            self._recorder = zarr.open_group(self._store, path=L.RECORDER_GROUP, mode="r+")
        self._recorder.update_attributes({"open_episode": state})

    def recorder_state(self) -> dict[str, Any] | None:
        """The recorder's note on the episode being written: ``{"start", "rows_flushed", "meta"}``."""
        try:
            group = zarr.open_group(self._store, path=L.RECORDER_GROUP, mode="r")
            state = group.attrs.get("open_episode")
        except Exception as exc:  # missing or undecodable recorder/zarr.json
            raise StoreError(f"{self.path}: cannot read the recorder group ({type(exc).__name__}: {exc})") from None
        fields_ok = isinstance(state, dict) and isinstance(state.get("meta"), dict) and all(
            isinstance(state.get(k), int) for k in ("start", "rows_flushed"))
        if state is not None and not fields_ok:
            raise StoreError(f"{self.path}: the recorder's open_episode note is damaged: {str(state)[:200]}")
        return state

    def open_episode_rows_written(self) -> int:
        """Rows of an uncommitted episode known to be fully written (a live recorder's or a crash's)."""
        state = self.recorder_state()
        if not state or state["start"] != self.n_rows:
            return 0
        return max(0, state["rows_flushed"])

    def data_lengths(self) -> dict[str, int]:
        """Rows held by each ``data/<key>`` array, committed or not."""
        return {k: self.data_array(k, 0).shape[0] for k in self.schema.keys}

    # ------------------------------------------------------------------------------- write side
    def _require_writable(self) -> None:
        if not self.writable:
            raise StoreError(f"{self.path} is open read-only")

    @property
    def rows_written(self) -> int:
        """Rows in ``data/`` written by this writer: committed ones plus the open episode's."""
        return self._tail

    @property
    def open_episode_rows(self) -> int:
        """Rows written for the episode in progress."""
        return self._tail - self.n_rows

    def begin_episode(self, meta: L.EpisodeMeta) -> None:
        """Start an episode; rows appended before :meth:`commit_episode` belong to it."""
        self._require_writable()
        if self.open_episode_rows:
            raise StoreError(f"an episode with {self.open_episode_rows} rows is still open; commit or "
                             "discard it first")
        self._open = {"start": self.n_rows, "rows_flushed": 0, "meta": meta.to_json()}
        self.set_recorder_state(self._open)

    def append_rows(self, cols: Mapping[str, np.ndarray]) -> None:
        """Append ``{key: (n, *shape)}`` rows (already validated, stored dtypes) to the open episode."""
        self._require_writable()
        if self._open is None:
            raise StoreError("append_rows before begin_episode")
        n = len(next(iter(cols.values())))
        if n == 0:
            return
        start, end = self._tail, self._tail + n
        arrays = {k: self.data_array(k) for k in self.schema.keys}
        grow = None
        if end > self._capacity:  # grow ahead: one metadata rewrite per GROW_CHUNKS chunks, not per flush
            grow = -(-max(end, self._capacity + GROW_CHUNKS * self.chunk_len) // self.chunk_len) * self.chunk_len
        chunk_io.write_rows(arrays, cols, start, end, grow)
        self._capacity = grow or self._capacity
        self._tail = end
        self._open["rows_flushed"] = end - self._open["start"]
        self.set_recorder_state(self._open)

    def keep_committed(self, ends: np.ndarray) -> None:
        """Recovery: these are the committed episode ends (the prefix that survived a crash)."""
        self._ends = np.asarray(ends, dtype=np.int64).copy()

    def resume_interrupted(self, start: int, rows: int, meta: L.EpisodeMeta) -> None:
        """Recovery: rows ``[start, start + rows)`` of an interrupted episode are written and are kept as the
        open episode, so :meth:`commit_episode` commits them."""
        self._open = {"start": int(start), "rows_flushed": int(rows), "meta": meta.to_json()}

    def commit_episode(self, meta: L.EpisodeMeta | None = None) -> int:
        """Commit the open episode (``meta`` defaults to the one given to :meth:`begin_episode`);
        returns its index. Writes the per-episode metadata, then ``meta/episode_ends`` last."""
        self._require_writable()
        if self._open is None or self.open_episode_rows < 1:
            raise StoreError("no rows to commit (begin_episode + append_rows first)")
        meta = meta or L.EpisodeMeta.from_json(self._open["meta"])
        n = self.n_episodes
        values = meta.to_json()
        arrays = {L.meta_array_name(k): self.meta_array(L.meta_array_name(k)) for k in L.META_FIELDS}
        grow = None if n < self._meta_capacity else self._meta_capacity + L.META_CHUNK
        chunk_io.write_rows(arrays, {L.meta_array_name(k): np.array([values[k]]) for k in L.META_FIELDS},
                            n, n + 1, grow)
        self._meta_capacity = grow or self._meta_capacity
        ends = self.meta_array(L.EPISODE_ENDS)  # the commit: exact length, value written last
        chunk_io.write_rows({"e": ends}, {"e": np.array([self._tail], dtype=np.int64)}, n, n + 1, n + 1)
        self._ends = np.append(self._ends, np.int64(self._tail))
        self._open = None
        return n

    def discard_open_episode(self) -> int:
        """Drop the rows of the episode in progress; returns how many."""
        self._require_writable()
        dropped = self.open_episode_rows
        self.truncate_data(self.n_rows)
        self._open = None
        self.set_recorder_state(None)
        return dropped

    def add_episode(self, cols: Mapping[str, np.ndarray], meta: L.EpisodeMeta) -> int:
        """Write a whole episode ``{key: (T, *shape)}`` at once (imports, tests, benchmarks)."""
        n = self.schema.validate_columns(cols)
        if n < 1:
            raise StoreError("an episode needs at least one row")
        typed = {k: np.asarray(cols[k], dtype=s.dtype) for k, s in self.schema.fields.items()}
        self.begin_episode(meta)
        pos, lo = self._tail, 0
        while lo < n:  # pieces that end on chunk boundaries, so no chunk is rewritten
            hi = min(n, lo + self.chunk_len - (pos + lo) % self.chunk_len)
            self.append_rows({k: v[lo:hi] for k, v in typed.items()})
            lo = hi
        return self.commit_episode(meta)

    def truncate_data(self, n_rows: int) -> None:
        """Resize every ``data/<key>`` array to ``n_rows`` (recovery and discards; never below a commit)."""
        if n_rows < self.n_rows:
            raise StoreError(f"refusing to truncate below the committed {self.n_rows} rows")
        chunk_io.resize({k: self.data_array(k) for k in self.schema.keys}, n_rows)
        self._tail = self._capacity = n_rows

    def resize_meta(self, n: int) -> None:
        """Resize the per-episode ``meta/episode_<field>`` arrays (not ``episode_ends``) to ``n``."""
        chunk_io.resize({k: self.meta_array(L.meta_array_name(k)) for k in L.META_FIELDS}, n)
        self._meta_capacity = n


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value))
