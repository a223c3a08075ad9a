"""Which format a dataset on disk is in, and moving whole datasets in and out of our store without half-written
results (``robot-rl buffer import`` / ``export``).

Detected from what is on disk, never from the name alone: our store (zarr 3 group with the row schema
attribute), a Diffusion Policy replay zarr (``data/`` and ``meta/episode_ends``, zarr format 2 or 3, a directory
or a ``.zip``), a LeRobotDataset (``meta/info.json``) or a ROS 2 bag (``.mcap``, or a rosbag2 folder with
``metadata.yaml``). Formats recognised but not read yet get an error saying so, rather than "no replay store".

Every conversion writes into a hidden sibling (``.<name>.partial/<name>``) and moves it into place only when it is
complete, so the destination appears whole or not at all; an interrupted conversion leaves only the hidden
folder, which the next one replaces.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from robot_rl.data import layout as L
from robot_rl.data.errors import StoreError

OURS, DP, LEROBOT, MCAP = "robot_rl", "dp", "lerobot", "mcap"
FORMATS = (OURS, DP, LEROBOT, MCAP)
READABLE = (DP, LEROBOT, MCAP)  # what import reads
WRITABLE = (DP, LEROBOT, MCAP)  # what export writes


def _zarr_attrs(meta: dict) -> dict:
    return meta.get("attributes", {}) if "zarr_format" in meta else meta


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _dp_in_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n in names for n in ("meta/episode_ends/.zarray", "meta/episode_ends/zarr.json"))


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of :data:`FORMATS`; :class:`StoreError` naming what is there when it is none of them."""
    p = Path(path)
    if not p.exists():
        raise StoreError(f"{p}: no such file or folder")
    if p.is_file():
        if p.suffix == ".mcap":
            return MCAP
        if p.suffix == ".zip" and _dp_in_zip(p):
            return DP
        raise StoreError(f"{p}: not a dataset this reads (a Diffusion Policy .zip, or a .mcap bag)")
    root = _read_json(p / "zarr.json")
    if root is not None and L.SCHEMA_ATTR in _zarr_attrs(root) and _zarr_attrs(root).get("exported_by") is None:
        return OURS
    ends = p / "meta" / "episode_ends"
    if (p / "data").is_dir() and ((ends / ".zarray").is_file() or (ends / "zarr.json").is_file()):
        return DP
    if (p / "meta" / "info.json").is_file():
        return LEROBOT
    if (p / "metadata.yaml").is_file() or any(p.glob("*.mcap")):
        return MCAP
    listing = sorted(x.name for x in p.iterdir())[:12]
    raise StoreError(f"{p}: not a dataset this reads: no robot_rl store, Diffusion Policy zarr (data/ + "
                     f"meta/episode_ends), LeRobotDataset (meta/info.json) or rosbag2 here (it has {listing})")


def check_readable(fmt: str, path: str | os.PathLike[str]) -> None:
    if fmt not in READABLE:
        raise StoreError(f"{path} is a {fmt} dataset: robot-rl buffer import reads {', '.join(READABLE)} so far")


def _partial(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.partial")


def write_atomically(dst: str | os.PathLike[str], write: Callable[[Path], object], *, overwrite: bool = False
                     ) -> object:
    """Run ``write(tmp)``, then move ``tmp`` to ``dst``. ``tmp`` has ``dst``'s name, inside a hidden sibling
    folder (a writer that names its files after their folder, as rosbags does for a bag's ``.mcap``, names them
    right). Refuses an existing ``dst`` unless ``overwrite`` (which replaces it only once the new one is
    complete)."""
    dst = Path(dst)
    if dst.exists() and not overwrite:
        raise StoreError(f"{dst} exists: choose another destination, or pass --overwrite")
    box = _partial(dst)
    _remove(box)
    box.mkdir(parents=True)
    tmp = box / dst.name
    try:
        out = write(tmp)
    except BaseException:
        _remove(box)
        raise
    if dst.exists() and (tmp.is_dir() or (dst.is_dir() and not dst.is_symlink())):
        _remove(dst)  # os.replace swaps a file for a file in one step; only a folder has to go first
    os.replace(tmp, dst)
    _remove(box)
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
