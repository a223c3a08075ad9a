"""Diffusion Policy interop: import a DP replay zarr as demonstrations, export ours for DP training.

Diffusion Policy's ``ReplayBuffer`` (zarr 2.x) reads a group with flat ``data/<key>`` arrays
concatenated on time and ``meta/episode_ends``. Export writes exactly that (zarr format 2, Blosc
LZ4), with our keys flattened: ``obs/images/<cam>`` -> ``<cam>``, ``obs/state`` -> ``state``, other
fields unchanged; the per-episode ``meta/episode_<field>`` arrays ride along (DP ignores them).

Import reads such a group (format 2 or 3, a directory or a ``.zip``): images are the
``(T, H, W, 3)`` arrays (float images in [0, 1] or [0, 255] become uint8), the state is ``state``
(or the concatenation of ``state_keys``), the action is ``action``. Fields DP does not have are
filled as a demonstration would have them: ``base_action = policy_action = action``, zero
residual, no intervention, and the last transition (row T-2) flagged ``success`` and
``terminated`` (or ``truncated`` when ``success=False``). A DP episode's last row becomes its final
observation (its action is not a transition of ours).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.storage import ZipStore

from robot_rl.data import layout as L
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import IMAGE_PREFIX, STATE_KEY, RowSchema
from robot_rl.data.storage import open_zarr_store


def dp_key(key: str) -> str:
    """Our field name -> the flat DP ``data/`` name."""
    if key.startswith(IMAGE_PREFIX):
        return key[len(IMAGE_PREFIX):]
    return "state" if key == STATE_KEY else key


def export_diffusion_policy(src: ReplayStore | str | os.PathLike[str], dst: str | os.PathLike[str], *,
                            overwrite: bool = False, block_rows: int = 1000) -> int:
    """Write the committed episodes of ``src`` to a DP-layout zarr (format 2) at ``dst``.
    Copies ``block_rows`` rows at a time (bounded memory); returns the number of episodes."""
    store = src if isinstance(src, ReplayStore) else ReplayStore.open(src, "r")
    n_rows, chunk = store.n_rows, store.chunk_len
    root = zarr.open_group(open_zarr_store(dst, read_only=False), mode="w" if overwrite else "w-",
                           zarr_format=2)
    lz4 = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)
    data = root.create_group("data")
    out = {}
    for key, spec in store.schema.fields.items():
        out[key] = data.create_array(dp_key(key), shape=(n_rows, *spec.shape), chunks=(chunk, *spec.shape),
                                     dtype=spec.dtype, compressors=lz4, fill_value=0)
    block = max(chunk, block_rows // chunk * chunk)
    for lo in range(0, n_rows, block):
        hi = min(n_rows, lo + block)
        for key, values in store.read_rows(lo, hi).items():
            out[key][lo:hi] = values
    meta = root.create_group("meta")
    for name, values in store.meta().items():
        arr_name = name if name == L.EPISODE_ENDS else L.meta_array_name(name)
        meta.create_array(arr_name, data=np.asarray(values), chunks=(max(1, len(values)),), compressors=lz4)
    root.update_attributes({"exported_by": "robot_rl", L.SCHEMA_ATTR: store.schema.to_json(),
                       "exported_at": time.time()})
    return store.n_episodes


def _open_source(src: str | os.PathLike[str]) -> zarr.Group:
    if str(src).endswith(".zip"):
        return zarr.open_group(ZipStore(str(src), mode="r"), mode="r")
    return zarr.open_group(open_zarr_store(src, read_only=True), mode="r")


def _to_uint8_images(values: np.ndarray, key: str) -> np.ndarray:
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind != "f":
        raise StoreError(f"data/{key}: images of dtype {values.dtype} are not supported (uint8 or float)")
    scale = 255.0 if values.size and float(np.nanmax(values)) <= 1.0 else 1.0
    return np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)


def import_diffusion_policy(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                            image_keys: Sequence[str] | None = None, state_keys: Sequence[str] | None = None,
                            action_key: str = "action", source: str = "demo", success: bool = True,
                            control_hz: float = 10.0, chunk_len: int = 100, overwrite: bool = False) -> ReplayStore:
    """Create a store at ``dst`` from the DP zarr ``src``; returns it open for writing."""
    root = _open_source(src)
    if "data" not in root or "meta" not in root or "episode_ends" not in root["meta"]:
        raise StoreError(f"{src} is not a Diffusion Policy replay zarr (needs data/ and meta/episode_ends)")
    data: Any = root["data"]
    arrays = {k: data[k] for k in sorted(data.array_keys())}
    if action_key not in arrays:
        raise StoreError(f"{src}: no data/{action_key} (arrays: {list(arrays)})")
    if image_keys is None:
        image_keys = [k for k, a in arrays.items() if a.ndim == 4 and a.shape[-1] == 3]
        ours = dict(root.attrs).get(L.SCHEMA_ATTR) or {}  # our export: keep the camera order
        if sorted(ours.get("cameras", [])) == sorted(image_keys):
            image_keys = list(ours["cameras"])
    if not image_keys:
        raise StoreError(f"{src}: no (T, H, W, 3) image arrays among {list(arrays)}; pass image_keys")
    if state_keys is None:
        if "state" not in arrays:
            raise StoreError(f"{src}: no data/state; pass state_keys (arrays: {list(arrays)})")
        state_keys = ["state"]
    h, w = arrays[image_keys[0]].shape[1:3]
    state_dim = sum(int(np.prod(arrays[k].shape[1:])) for k in state_keys)
    schema = RowSchema(cameras=tuple(image_keys), image_hw=(h, w), state_dim=state_dim,
                       action_dim=int(np.prod(arrays[action_key].shape[1:])))
    ends = np.asarray(root["meta"]["episode_ends"][:], dtype=np.int64)
    dp_meta = {n: np.asarray(root["meta"][L.meta_array_name(n)][:]) for n in L.META_FIELDS
               if L.meta_array_name(n) in root["meta"] and root["meta"][L.meta_array_name(n)].shape == ends.shape}
    store = ReplayStore.create(dst, schema, chunk_len=chunk_len, overwrite=overwrite)
    start = 0
    for i, end in enumerate(ends):
        cols = foreign_episode_columns(arrays, int(start), int(end), schema, image_keys, state_keys, action_key,
                                success, control_hz)
        meta = L.EpisodeMeta(source=L.EpisodeSource.parse(source), success=success)
        if dp_meta:
            meta = L.EpisodeMeta.from_json({**meta.to_json(), **{k: v[i].item() for k, v in dp_meta.items()}})
        store.add_episode(cols, meta)
        start = end
    return store


def foreign_episode_columns(arrays: dict[str, Any], start: int, end: int, schema: RowSchema,
                            image_keys: Sequence[str], state_keys: Sequence[str], action_key: str, success: bool,
                            control_hz: float) -> dict[str, np.ndarray]:
    """Rows ``start .. end`` of a foreign dataset's ``arrays`` (named as DP names them: cameras by name,
    :func:`dp_key` for our fields) as our episode columns, the fields it lacks filled as a demonstration has them."""
    n = end - start
    cols: dict[str, np.ndarray] = {}
    for cam in image_keys:
        cols[IMAGE_PREFIX + cam] = _to_uint8_images(np.asarray(arrays[cam][start:end]), cam)
    cols[STATE_KEY] = np.concatenate([np.asarray(arrays[k][start:end], np.float32).reshape(n, -1)
                                      for k in state_keys], axis=1)
    action = np.asarray(arrays[action_key][start:end], np.float32).reshape(n, -1)
    last = np.zeros(n, dtype=bool)
    last[max(n - 2, 0)] = n >= 2
    defaults = {
        "action": action, "base_action": action, "policy_action": action,
        "residual_action": np.zeros_like(action), "intervened": np.zeros(n, bool),
        "reward": np.zeros(n, np.float32), "success": last & success, "terminated": last & success,
        "truncated": last & (not success),
    }
    t = (np.asarray(arrays["timestamp"][start:end], np.float64) if "timestamp" in arrays
         else np.arange(n) / control_hz)
    defaults |= {"t_obs": t, "t_action": t}
    for key, value in defaults.items():  # our own export carries the real values: prefer them
        spec = schema.fields[key]
        ours = arrays.get(dp_key(key))
        if key != "action" and ours is not None and ours.shape[1:] == spec.shape:
            value = np.asarray(ours[start:end])
        cols[key] = np.asarray(value, dtype=spec.dtype)
    return cols

