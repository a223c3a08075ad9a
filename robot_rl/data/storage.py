"""Where a store lives: a local directory or any fsspec URL, and the single-writer lock.

Crash safety rests on each object write being atomic (a reader or a reopened store sees the old
file or the new one, never half of one). zarr's ``LocalStore`` writes to a temporary file and
renames it; object stores (s3, gcs, ...) replace whole objects. A POSIX-like remote file system
mounted through fsspec without atomic renames does not give this guarantee.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
from pathlib import Path
from typing import IO

import fsspec
from zarr.abc.store import Store
from zarr.core.buffer import Buffer
from zarr.storage import FsspecStore, LocalStore

from robot_rl.data.errors import StoreLockedError

LOCK_FILE = ".robot_rl_writer.lock"


def is_local(path: str | os.PathLike[str]) -> bool:
    text = str(path)
    return "://" not in text or text.startswith("file://")


def local_root(path: str | os.PathLike[str]) -> Path:
    text = str(path)
    return Path(text[len("file://"):] if text.startswith("file://") else text).expanduser()


class DurableLocalStore(LocalStore):
    """``LocalStore`` that also fsyncs each written file and its directory: survives power loss,
    not only a killed process (which the atomic rename alone already survives)."""

    async def set(self, key: str, value: Buffer) -> None:
        await super().set(key, value)
        await asyncio.to_thread(_fsync_file_and_dir, self.root / key)


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Free space on the file system a local store lives on (its nearest existing parent); None for a URL."""
    if not is_local(path):
        return None
    p = local_root(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def _fsync_file_and_dir(path: Path) -> None:
    for target, flags in ((path, os.O_RDONLY), (path.parent, os.O_RDONLY | os.O_DIRECTORY)):
        fd = os.open(target, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def open_zarr_store(path: str | os.PathLike[str], *, read_only: bool, fsync: bool = False) -> Store:
    """A zarr store for a local directory (``/x/replay.zarr``, ``file:///x``) or an fsspec URL."""
    if is_local(path):
        root = local_root(path)
        if not read_only:
            root.mkdir(parents=True, exist_ok=True)
        cls = DurableLocalStore if fsync and not read_only else LocalStore
        return cls(root, read_only=read_only)
    return FsspecStore.from_url(str(path), read_only=read_only)


def store_exists(path: str | os.PathLike[str]) -> bool:
    """Whether a zarr group's metadata is at ``path``."""
    if is_local(path):
        return (local_root(path) / "zarr.json").is_file()
    fs, root = fsspec.core.url_to_fs(str(path))
    return bool(fs.exists(f"{root.rstrip('/')}/zarr.json"))


def store_size_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes on disk (or in the object store) under ``path``."""
    if is_local(path):
        return sum(f.stat().st_size for f in local_root(path).rglob("*") if f.is_file())
    fs, root = fsspec.core.url_to_fs(str(path))
    return int(fs.du(root))


def clear_store(path: str | os.PathLike[str]) -> None:
    """Delete everything under ``path`` except the writer lock (which the caller holds)."""
    if is_local(path):
        root = local_root(path)
        for child in root.iterdir() if root.is_dir() else ():
            if child.name == LOCK_FILE:
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        return
    fs, root_path = fsspec.core.url_to_fs(str(path))
    if fs.exists(root_path):
        fs.rm(root_path, recursive=True)


class WriterLock:
    """An exclusive ``flock`` on ``<store>/.robot_rl_writer.lock`` (local stores only), so two
    recorders never append to one store. The kernel drops it when the process dies, even on kill -9."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file: IO[str] | None = None
        if not is_local(path):
            return
        lock_path = local_root(path) / LOCK_FILE
        f = open(lock_path, "a+")  # noqa: SIM115 - held open for the lifetime of the lock
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            f.close()
            raise StoreLockedError(f"{path} is open for writing by another process (pid {holder})") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
