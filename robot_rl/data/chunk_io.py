"""Chunk-level I/O of the store: many arrays read or written concurrently on zarr's event loop, and
chunk files checked for existence and integrity.

zarr returns fill values for a chunk file that is missing, so reads check that every chunk they
touch exists (the store writes empty chunks too, so a missing file is always damage). A checksum
failure (``crc32c`` codec) or an undecodable chunk surfaces as an exception from zarr; the caller
narrows it down to the chunks that fail (:func:`failing_chunks`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import zarr
from zarr.abc.store import Store
from zarr.core.sync import sync

DATA_ERRORS = (ValueError, RuntimeError, OSError, TypeError)  # what damaged chunk bytes raise in zarr


class MissingChunk(Exception):
    """A chunk file that should exist does not."""

    def __init__(self, chunk: int, key: str) -> None:
        super().__init__(f"chunk file {key} is missing")
        self.chunk = chunk


def chunk_key(arr: zarr.Array, chunk: int) -> str:
    """Store key of chunk ``chunk`` (on the time axis) of ``arr``."""
    coords = (chunk,) + (0,) * (arr.ndim - 1)
    return f"{arr.path}/{arr.metadata.encode_chunk_key(coords)}"


def chunks_of(arr: zarr.Array, start: int, end: int) -> range:
    """Chunks holding rows ``[start, end)``."""
    c = arr.chunks[0]
    return range(start // c, (end - 1) // c + 1)


async def _read_checked(store: Store, arr: zarr.Array, start: int, end: int) -> np.ndarray:
    chunks = chunks_of(arr, start, end)
    keys = [chunk_key(arr, i) for i in chunks]
    exists = await asyncio.gather(*(store.exists(k) for k in keys))
    for chunk, key, ok in zip(chunks, keys, exists, strict=True):
        if not ok:
            raise MissingChunk(chunk, key)
    return np.asarray(await arr.async_array.getitem(slice(start, end)))


async def _gather_reads(store: Store, arrays: Sequence[zarr.Array], start: int, end: int) -> list[Any]:
    return await asyncio.gather(*(_read_checked(store, a, start, end) for a in arrays), return_exceptions=True)


def read_rows(store: Store, arrays: Sequence[zarr.Array], start: int, end: int) -> list[Any]:
    """Rows ``[start, end)`` of each array (concurrently): an ``(end - start, ...)`` array, or the
    exception reading it raised (:class:`MissingChunk`, checksum and decode errors)."""
    return sync(_gather_reads(store, arrays, start, end))


async def gather_resizes(arrays: Mapping[str, zarr.Array], n_rows: int) -> None:
    await asyncio.gather(*(a.async_array.resize((n_rows, *a.shape[1:])) for a in arrays.values()))


async def gather_writes(arrays: Mapping[str, zarr.Array], cols: Mapping[str, np.ndarray], start: int,
                        end: int, resize_to: int | None = None) -> None:
    """Resize every array to ``resize_to`` rows (if given), then write rows ``[start, end)`` of each
    from ``cols`` (same keys), concurrently."""
    if resize_to is not None:
        await gather_resizes(arrays, resize_to)
    await asyncio.gather(*(a.async_array.setitem(slice(start, end), cols[k]) for k, a in arrays.items()))


def write_rows(arrays: Mapping[str, zarr.Array], cols: Mapping[str, np.ndarray], start: int, end: int,
               resize_to: int | None = None) -> None:
    sync(gather_writes(arrays, cols, start, end, resize_to))


def resize(arrays: Mapping[str, zarr.Array], n_rows: int) -> None:
    sync(gather_resizes(arrays, n_rows))


def failing_chunks(arr: zarr.Array, start: int, end: int) -> list[int]:
    """Chunks among those holding rows ``[start, end)`` that cannot be read back."""
    c = arr.chunks[0]
    bad = []
    for chunk in chunks_of(arr, start, end):
        try:
            arr[chunk * c:min((chunk + 1) * c, arr.shape[0])]
        except Exception:
            bad.append(chunk)
    return bad
