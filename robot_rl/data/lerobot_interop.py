"""LeRobotDataset v3.0 interop: import a LeRobot dataset as demonstrations, export ours for LeRobot training.

The layout (LeRobot's ``codebase_version`` "v3.0", as its docs and ``lerobot.datasets.utils`` define it):
``meta/info.json`` (fps, features, path templates), ``meta/stats.json``, ``meta/tasks.parquet`` (task strings as
the pandas index, ``task_index``), ``meta/episodes/chunk-NNN/file-NNN.parquet`` (per episode: its length, its
rows ``dataset_from_index .. dataset_to_index`` in a data file, and per camera the video file and the time window
``from_timestamp .. to_timestamp`` in it), ``data/chunk-NNN/file-NNN.parquet`` (one row per frame:
``observation.state``, ``action``, ``timestamp``, ``frame_index``, ``episode_index``, ``index``, ``task_index``)
and ``videos/<key>/chunk-NNN/file-NNN.mp4``. Several episodes may share a data or video file.

LeRobot itself cannot be installed here (lerobot 0.4.4 pins torch < 2.11), so this reads and writes the layout
with pyarrow and PyAV. Exports are checked with Rerun's LeRobot reader, an independent implementation.

Export: every committed episode, all its rows (the last row of an episode is its final observation, kept as a
frame, as LeRobot has no other place for it). ``obs/images/<cam>`` -> video ``observation.images.<cam>`` (one
mp4 per episode and camera: H.264 without B-frames, a keyframe every 2 frames, yuv420p; lossy, see
:data:`VIDEO_TOLERANCE`), ``obs/state`` -> ``observation.state``, ``action`` -> ``action``, ``reward`` ->
``next.reward``, ``terminated | truncated`` -> ``next.done``, and every other field of ours as
``robot_rl.<field>``; the episode metadata rides along as ``robot_rl.episode_meta`` (JSON) in the episodes
table and our row schema in ``info.json``. Everything but the images comes back bit-exact.

Import: images from the video (or image) features named by ``interop.cameras`` (default: all of them), the state
from ``interop.state_keys`` (default ``observation.state``), the action from ``interop.action_key``. A
frame-synchronous dataset keeps its rows; the fields LeRobot does not have are filled as for Diffusion
Policy's (:func:`robot_rl.data.dp_interop.foreign_episode_columns`), and our own export's ``robot_rl.*``
columns are taken back as they were.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.config.interop import VIDEO_CODECS
from robot_rl.data import layout as L
from robot_rl.data.dp_interop import foreign_episode_columns
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import IMAGE_PREFIX, STATE_KEY, RowSchema

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder (LeRobot's default)
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
TASKS_PATH = "meta/tasks.parquet"
IMAGE_FEATURE = "observation.images."
STATE_FEATURE = "observation.state"
OURS = "robot_rl."  # our fields LeRobot has no name for
EPISODE_META = "robot_rl.episode_meta"
STANDARD = ("timestamp", "frame_index", "episode_index", "index", "task_index")
VIDEO_TOLERANCE = 12  # measured worst per-pixel error of a 128x128 round trip at crf 18 is below this (uint8)
WIDER = {np.dtype(np.int8): np.dtype(np.int64)}  # readers of LeRobot data (Rerun's) skip int8 and int32 columns
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)  # the quantile stats LeRobot 0.4 computes


def _pq():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - the interop extra installs it
        raise StoreError("LeRobot datasets need pyarrow: pip install -e '.[interop]'") from exc
    return pa, pq


def _av():
    try:
        import av
    except ImportError as exc:  # pragma: no cover - the interop extra installs it
        raise StoreError("LeRobot videos need PyAV: pip install -e '.[interop]'") from exc
    return av


def camera_feature(cam: str) -> str:
    return IMAGE_FEATURE + cam


def _field_feature(key: str) -> str:
    return {STATE_KEY: STATE_FEATURE, "action": "action", "reward": "next.reward"}.get(key, OURS + key)


def _chunk_file(i: int) -> dict[str, int]:
    return {"chunk_index": i // CHUNKS_SIZE, "file_index": i % CHUNKS_SIZE}


# ---------------------------------------------------------------- export
def export_lerobot(src: ReplayStore | str | os.PathLike[str], dst: str | os.PathLike[str], *, fps: float,
                   task: str, robot_type: str = "franka", codec: str = "libx264", crf: int = 18,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """Write the committed episodes of ``src`` as a LeRobotDataset v3.0 at ``dst`` (a new folder); returns the
    number of episodes. ``progress(done, total)`` is called after each episode."""
    pa, pq = _pq()
    if codec not in VIDEO_CODECS:
        raise StoreError(f"video codec {codec!r}: choose one of {', '.join(VIDEO_CODECS)}")
    if float(fps) != int(fps) or fps <= 0:
        raise StoreError(f"LeRobot datasets have a whole number of frames per second, not {fps}")
    fps = int(fps)
    store = src if isinstance(src, ReplayStore) else ReplayStore.open(src, "r")
    schema = store.schema
    h, w = schema.image_hw
    if schema.cameras and (h % 2 or w % 2):
        raise StoreError(f"images of {h}x{w}: yuv420p video needs an even height and width")
    root = Path(dst)
    root.mkdir(parents=True)
    fields = {k: s for k, s in schema.fields.items() if not k.startswith(IMAGE_PREFIX)}
    stats = _Stats()
    data_cols: dict[str, list[np.ndarray]] = {name: [] for name in (*STANDARD, "next.done",
                                                                     *(_field_feature(k) for k in fields))}
    episodes: list[dict[str, Any]] = []
    row = 0
    n = store.n_episodes
    for ep in range(n):
        cols = store.read_episode(ep)
        length = len(cols["action"])
        t = np.arange(length, dtype=np.float32) / np.float32(fps)
        standard = {"timestamp": t, "frame_index": np.arange(length, dtype=np.int64),
                    "episode_index": np.full(length, ep, np.int64),
                    "index": np.arange(row, row + length, dtype=np.int64), "task_index": np.zeros(length, np.int64)}
        for name, values in standard.items():
            data_cols[name].append(values)
        done = (np.asarray(cols["terminated"]) | np.asarray(cols["truncated"])).astype(bool)
        data_cols["next.done"].append(done)
        for key in fields:
            values = np.asarray(cols[key])
            data_cols[_field_feature(key)].append(values.astype(WIDER.get(values.dtype, values.dtype)))
            stats.add(_field_feature(key), np.asarray(cols[key]))
        stats.add("next.done", done)
        for name, values in standard.items():
            stats.add(name, values)
        entry: dict[str, Any] = {"episode_index": ep, "tasks": [task], "length": length,
                                 "data/chunk_index": 0, "data/file_index": 0,
                                 "dataset_from_index": row, "dataset_to_index": row + length,
                                 EPISODE_META: json.dumps(store.episode_meta(ep).to_json())}
        for cam in schema.cameras:
            key = camera_feature(cam)
            where = _chunk_file(ep)
            path = root / VIDEO_PATH.format(video_key=key, **where)
            images = np.asarray(cols[IMAGE_PREFIX + cam])
            _write_video(path, images, fps, codec, crf)
            stats.add_images(key, images)
            entry |= {f"videos/{key}/chunk_index": where["chunk_index"], f"videos/{key}/file_index":
                      where["file_index"], f"videos/{key}/from_timestamp": 0.0,
                      f"videos/{key}/to_timestamp": length / fps}
        entry |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        episodes.append(entry)
        row += length
        if progress is not None:
            progress(ep + 1, n)
    features = _features(schema, fields, fps, codec)
    arrays = {name: _arrow_column(pa, np.concatenate(parts) if parts else np.zeros(0), features.get(name))
              for name, parts in data_cols.items()}
    _write_parquet(pa, pq, root / DATA_PATH.format(chunk_index=0, file_index=0), arrays, features)
    _write_parquet(pa, pq, root / EPISODES_PATH.format(chunk_index=0, file_index=0),
                   {k: pa.array([e[k] for e in episodes]) for k in (episodes[0] if episodes else {})}, None)
    _write_tasks(pa, pq, root / TASKS_PATH, [task])
    info = {"codebase_version": CODEBASE_VERSION, "robot_type": robot_type, "total_episodes": n,
            "total_frames": row, "total_tasks": 1, "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200, "fps": fps, "splits": {"train": f"0:{n}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if schema.cameras else None, "features": features,
            "robot_rl": {"schema": schema.to_json(), "exported_at": time.time()}}
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    (root / "meta" / "stats.json").write_text(json.dumps(stats.result(), indent=2))
    return n


def _features(schema: RowSchema, fields: dict, fps: int, codec: str) -> dict[str, dict]:
    h, w = schema.image_hw
    out: dict[str, dict] = {}
    for cam in schema.cameras:
        out[camera_feature(cam)] = {
            "dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"],
            "info": {"video.height": h, "video.width": w, "video.codec": "h264" if codec == "libx264" else "av1",
                     "video.pix_fmt": "yuv420p", "video.is_depth_map": False, "video.fps": fps,
                     "video.channels": 3, "has_audio": False}}
    for key, spec in fields.items():
        dtype = WIDER.get(np.dtype(spec.dtype), np.dtype(spec.dtype))
        out[_field_feature(key)] = {"dtype": dtype.name, "shape": list(spec.shape) or [1],
                                    "names": None}
    out["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    for name in STANDARD:
        out[name] = {"dtype": "float32" if name == "timestamp" else "int64", "shape": [1], "names": None}
    return out


def _arrow_column(pa, values: np.ndarray, feature: dict | None):
    if values.ndim == 1:
        return pa.array(values)
    flat = pa.array(values.reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, int(np.prod(values.shape[1:])))


def _write_parquet(pa, pq, path: Path, columns: dict, features: dict | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(columns)
    if features is not None:  # what Hugging Face datasets reads the column types from (LeRobot loads through it)
        hf = {}
        for name in columns:
            ft = features[name]
            value = {"dtype": ft["dtype"], "_type": "Value"}
            hf[name] = value if ft["shape"] == [1] else {"feature": value, "length": ft["shape"][0],
                                                         "_type": "Sequence"}
        table = table.replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": hf}}).encode()})
    pq.write_table(table, path)


def _write_tasks(pa, pq, path: Path, tasks: Sequence[str]) -> None:
    """The task strings as the pandas index of a frame with one column, ``task_index`` (as LeRobot writes it)."""
    pandas_meta = {"index_columns": ["__index_level_0__"], "column_indexes": [],
                   "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                                "numpy_type": "int64", "metadata": None},
                               {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
                                "numpy_type": "object", "metadata": None}],
                   "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.3"}
    table = pa.table({"task_index": pa.array(np.arange(len(tasks), dtype=np.int64)),
                      "__index_level_0__": pa.array(list(tasks))})
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()}), path)


def _write_video(path: Path, images: np.ndarray, fps: int, codec: str, crf: int) -> None:
    av = _av()
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        options = {"crf": str(crf), "g": "2"}
        if codec == "libx264":
            options |= {"bf": "0", "preset": "veryfast"}  # no B-frames: Rerun plays it without re-encoding
        else:
            options |= {"preset": "10"}
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration otherwise (errors only)
        stream = container.add_stream(codec, rate=Fraction(fps), options=options)
        stream.width, stream.height, stream.pix_fmt = images.shape[2], images.shape[1], "yuv420p"
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class _Stats:
    """Per-feature min / max / mean / std / count and quantiles, as ``meta/stats.json`` holds them (images per
    channel, on [0, 1], shaped (3, 1, 1))."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}
        self.images: dict[str, list[np.ndarray]] = {}

    def add(self, name: str, values: np.ndarray) -> None:
        self.parts.setdefault(name, []).append(np.asarray(values, np.float64).reshape(len(values), -1))

    def add_images(self, name: str, images: np.ndarray) -> None:
        step = max(1, len(images) // 20)  # a sample of frames and pixels is enough for normalisation
        self.images.setdefault(name, []).append(images[::step, ::2, ::2].reshape(-1, 3).astype(np.float32) / 255)

    @staticmethod
    def _of(x: np.ndarray, shape: tuple[int, ...], nan: bool = True) -> dict[str, Any]:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column (a field never judged)
            if nan:
                out = {"min": np.nanmin(x, 0), "max": np.nanmax(x, 0), "mean": np.nanmean(x, 0),
                       "std": np.nanstd(x, 0)}
                qs = np.nanquantile(x, QUANTILES, axis=0)
            else:
                out = {"min": x.min(0), "max": x.max(0), "mean": x.mean(0, dtype=np.float64), "std": x.std(0)}
                qs = np.quantile(x, QUANTILES, axis=0)
        out |= {f"q{round(q * 100):02d}": v for q, v in zip(QUANTILES, qs, strict=True)}
        res: dict[str, Any] = {k: np.nan_to_num(np.asarray(v, np.float64)).reshape(shape).tolist()
                               for k, v in out.items()}
        res["count"] = [len(x)]
        return res

    def result(self) -> dict[str, dict]:
        out = {}
        for name, parts in self.parts.items():
            x = np.concatenate(parts)
            if x.size:
                out[name] = self._of(x, (x.shape[1],))
        for name, parts in self.images.items():
            out[name] = self._of(np.concatenate(parts), (3, 1, 1), nan=False)
        return out


# ---------------------------------------------------------------- import
class LeRobotDataset:
    """A LeRobotDataset v3.0 on disk, read with pyarrow and PyAV: its info, its episodes table, and each
    episode's columns and frames."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.root = Path(path)
        info_path = self.root / "meta" / "info.json"
        try:
            self.info = json.loads(info_path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{info_path}: cannot read the dataset's info ({exc})") from None
        version = str(self.info.get("codebase_version", ""))
        if not version.startswith("v3"):
            raise StoreError(f"{self.root}: a LeRobotDataset {version or '(no codebase_version)'}; this reads v3.0 "
                             f"(LeRobot's convert_dataset_v21_to_v30 converts older ones)")
        for key in ("fps", "features", "data_path"):
            if key not in self.info:
                raise StoreError(f"{info_path}: no {key!r}")
        self.fps = float(self.info["fps"])
        self.features: dict[str, dict] = self.info["features"]
        self.episodes = self._episodes()
        self._data: dict[tuple[int, int], Any] = {}

    @property
    def cameras(self) -> list[str]:
        return [k for k, f in self.features.items() if f.get("dtype") in ("video", "image")]

    def _episodes(self) -> list[dict[str, Any]]:
        _, pq = _pq()
        files = sorted((self.root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
        if not files:
            raise StoreError(f"{self.root}: no meta/episodes/chunk-*/file-*.parquet")
        rows: list[dict[str, Any]] = []
        for f in files:
            rows += self._read_table(pq, f).to_pylist()
        rows.sort(key=lambda r: r["episode_index"])
        return rows

    def _read_table(self, pq, path: Path, columns: Sequence[str] | None = None):
        try:
            return pq.read_table(path, columns=list(columns) if columns is not None else None)
        except Exception as exc:
            raise StoreError(f"{path}: cannot read this parquet file ({type(exc).__name__}: {exc}); is it "
                             f"truncated?") from None

    def episode_data(self, i: int, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The non-image columns ``keys`` of episode ``i`` (its ``length`` rows)."""
        _, pq = _pq()
        ep = self.episodes[i]
        where = (int(ep["data/chunk_index"]), int(ep["data/file_index"]))
        if where not in self._data:
            path = self.root / self.info["data_path"].format(chunk_index=where[0], file_index=where[1])
            self._data = {where: self._read_table(pq, path)}  # episodes come in order: keep one file open
        table = self._data[where]
        lo, hi = int(ep["dataset_from_index"]), int(ep["dataset_to_index"])
        index = table.column("index").to_numpy()
        start = int(np.searchsorted(index, lo))
        if hi - lo != int(ep["length"]) or start + (hi - lo) > len(index) or index[start] != lo:
            raise StoreError(f"{self.root}: episode {ep['episode_index']} rows {lo}..{hi} are not in its data file "
                             f"(it has {len(index)} rows): truncated?")
        part = table.slice(start, hi - lo)
        out = {}
        for key in keys:
            col = part.column(key)
            shape = self.features[key]["shape"]
            values = np.asarray(col.combine_chunks().flatten() if shape != [1] else col.to_numpy(zero_copy_only=False))
            out[key] = values.reshape(hi - lo, *([] if shape == [1] else shape))
        return out

    def episode_frames(self, i: int, key: str, timestamps: np.ndarray) -> np.ndarray:
        """Frames of camera ``key`` for episode ``i`` at ``timestamps`` (s from the episode's start)."""
        ep = self.episodes[i]
        feature = self.features[key]
        if feature["dtype"] == "image":
            return self._image_frames(i, key)
        chunk, file = int(ep[f"videos/{key}/chunk_index"]), int(ep[f"videos/{key}/file_index"])
        path = self.root / self.info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
        start = float(ep[f"videos/{key}/from_timestamp"])
        return _decode_window(path, start + np.asarray(timestamps, np.float64), 0.5 / self.fps)

    def _image_frames(self, i: int, key: str) -> np.ndarray:
        from io import BytesIO

        from PIL import Image

        _, pq = _pq()
        ep = self.episodes[i]
        path = self.root / self.info["data_path"].format(chunk_index=int(ep["data/chunk_index"]),
                                                         file_index=int(ep["data/file_index"]))
        table = self._read_table(pq, path, [key, "index"])
        index = table.column("index").to_numpy()
        start = int(np.searchsorted(index, int(ep["dataset_from_index"])))
        cells = table.column(key).slice(start, int(ep["length"])).to_pylist()
        return np.stack([np.asarray(Image.open(BytesIO(c["bytes"])).convert("RGB")) for c in cells])


def _decode_window(path: Path, times: np.ndarray, tolerance: float) -> np.ndarray:
    """The decoded frame nearest each time in ``times`` (s in the file); an error when one is farther than
    ``tolerance`` (a truncated or shorter video)."""
    av = _av()
    if not path.is_file():
        raise StoreError(f"{path}: the video is missing")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            lo, hi = float(times.min()), float(times.max())
            if lo > 0:
                container.seek(int(lo / stream.time_base), stream=stream, backward=True)
            got_t: list[float] = []
            got: list[np.ndarray] = []
            for frame in _frames(container, stream):
                t = float(frame.pts * stream.time_base)
                if t < lo - tolerance:
                    continue
                if t > hi + tolerance:
                    break
                got_t.append(t)
                got.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as exc:
        raise StoreError(f"{path}: cannot decode the video ({exc}); is it truncated?") from None
    if not got:
        raise StoreError(f"{path}: no frames between {lo:.3f} s and {hi:.3f} s (truncated?)")
    ts = np.asarray(got_t)
    idx = np.clip(np.searchsorted(ts, times), 1, len(ts) - 1) if len(ts) > 1 else np.zeros(len(times), int)
    if len(ts) > 1:
        idx = np.where(np.abs(ts[idx - 1] - times) <= np.abs(ts[idx] - times), idx - 1, idx)
    worst = float(np.max(np.abs(ts[idx] - times)))
    if worst > tolerance:
        missing = float(times[int(np.argmax(np.abs(ts[idx] - times)))])
        raise StoreError(f"{path}: no frame at {missing:.3f} s (the video has {len(ts)} frames from {ts[0]:.3f} to "
                         f"{ts[-1]:.3f} s in this window): truncated?")
    return np.stack([got[j] for j in idx])


def _frames(container, stream) -> Iterator:
    for packet in container.demux(stream):
        yield from packet.decode()


def import_lerobot(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                   cameras: Sequence[str] | None = None, state_keys: Sequence[str] | None = None,
                   action_key: str = "action", source: str = "demo", success: bool = True, chunk_len: int = 100,
                   action_dim: int | None = None, progress: Callable[[int, int], None] | None = None) -> ReplayStore:
    """Create a store at ``dst`` from the LeRobotDataset ``src``; returns it open for writing. ``cameras`` are
    feature keys (``observation.images.<cam>``, or just ``<cam>``); ``action_dim``, when given, is what the
    action must have."""
    ds = LeRobotDataset(src)
    ours = ds.info.get("robot_rl", {}).get("schema")
    keys = _mapping(ds, cameras, state_keys, action_key, action_dim)
    cams, state_keys, action_key = keys
    names = [c.removeprefix(IMAGE_FEATURE) for c in cams]
    h, w = ds.features[cams[0]]["shape"][:2] if cams else (1, 1)
    state_dim = sum(int(np.prod(ds.features[k]["shape"])) for k in state_keys)
    extra = [k for k in ds.features if k.startswith(OURS)]
    if ours:  # our own export: the same schema (joints, help and reward fields included)
        schema = RowSchema.from_json({**ours, "cameras": names})
    else:
        schema = RowSchema(cameras=tuple(names), image_hw=(int(h), int(w)), state_dim=state_dim,
                           action_dim=int(np.prod(ds.features[action_key]["shape"])))
    store = ReplayStore.create(dst, schema, chunk_len=chunk_len)
    numeric = [*state_keys, action_key, "timestamp", *extra, *(["next.reward"] if ours else [])]
    n = len(ds.episodes)
    for i, ep in enumerate(ds.episodes):
        data = ds.episode_data(i, list(dict.fromkeys(numeric)))
        arrays: dict[str, np.ndarray] = {k.removeprefix(OURS): v for k, v in data.items()}
        if "next.reward" in data:
            arrays["reward"] = data["next.reward"]
        for cam, name in zip(cams, names, strict=True):
            arrays[name] = ds.episode_frames(i, cam, data["timestamp"])
        cols = foreign_episode_columns(arrays, 0, int(ep["length"]), schema, names, state_keys, action_key,
                                       success, ds.fps)
        for key in schema.fields:  # our own export: every field comes back as it was
            if f"{OURS}{key}" in data and key not in cols:
                cols[key] = data[f"{OURS}{key}"].astype(schema.fields[key].dtype)
        meta = L.EpisodeMeta(source=L.EpisodeSource.parse(source), success=success)
        if ep.get(EPISODE_META):
            meta = L.EpisodeMeta.from_json(json.loads(ep[EPISODE_META]))
        store.add_episode(cols, meta)
        if progress is not None:
            progress(i + 1, n)
    return store


def _mapping(ds: LeRobotDataset, cameras: Sequence[str] | None, state_keys: Sequence[str] | None,
             action_key: str, action_dim: int | None) -> tuple[list[str], list[str], str]:
    have = ds.cameras
    if cameras:
        cams = [c if c in ds.features else camera_feature(c) for c in cameras]
        missing = [c for c, k in zip(cameras, cams, strict=True) if k not in have]
        if missing:
            raise StoreError(f"{ds.root}: no camera {missing} (its image and video features: {have}); map them "
                             f"with interop.cameras=[...]")
    else:
        cams = have
    state_keys = list(state_keys or [STATE_FEATURE])
    for key in [*state_keys, action_key]:
        if key not in ds.features:
            numeric = [k for k, f in ds.features.items() if f.get("dtype") not in ("video", "image", "string")]
            option = "interop.action_key" if key == action_key else "interop.state_keys"
            raise StoreError(f"{ds.root}: no feature {key!r} (it has {numeric}); map it with {option}=...")
    got = int(np.prod(ds.features[action_key]["shape"]))
    if action_dim is not None and got != action_dim:
        raise StoreError(f"{ds.root}: its {action_key!r} has {got} dimensions, the robot's action has {action_dim}; "
                         f"map another feature with interop.action_key=... (features: {list(ds.features)})")
    return cams, state_keys, action_key
