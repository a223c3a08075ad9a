"""Read a W&B offline run back as W&B stores it: ``run-<id>.wandb`` is a LevelDB-style record log (a 7-byte
``:W&B`` header, then 32 KiB blocks of checksummed chunks) whose records are W&B's own ``Record`` protobufs.
wandb 0.31 no longer ships a Python reader for it (its Go core reads it for ``wandb sync``), so the framing is
undone here and every record is decoded with the schema from the installed ``wandb`` package."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

BLOCK = 32 * 1024
HEADER = struct.Struct("<4sHB")  # ident, magic, version
CHUNK = struct.Struct("<IHB")  # crc32, length, type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def run_files(root: str | Path) -> list[Path]:
    """Every offline run's transaction log under ``root`` (a ``dir`` given to ``wandb.init``)."""
    return sorted(Path(root).glob("wandb/offline-run-*/run-*.wandb"))


def records(path: str | Path) -> list:
    """Every record in the log, in order, as ``wandb_internal_pb2.Record``; a bad checksum raises."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw = Path(path).read_bytes()
    ident, magic, _ = HEADER.unpack_from(raw)
    assert ident == b":W&B" and magic == 0xBEE1, f"{path} is not a W&B run log"
    out, pos, pending = [], HEADER.size, b""
    while pos + CHUNK.size <= len(raw):
        left = BLOCK - pos % BLOCK
        if left < CHUNK.size:  # the block's tail is padding
            pos += left
            continue
        crc, length, kind = CHUNK.unpack_from(raw, pos)
        if kind == 0:
            pos += left
            continue
        data = raw[pos + CHUNK.size:pos + CHUNK.size + length]
        if zlib.crc32(bytes([kind]) + data) & 0xFFFFFFFF != crc:
            raise ValueError(f"{path}: bad checksum at byte {pos}")
        pending = data if kind in (FULL, FIRST) else pending + data
        pos += CHUNK.size + length
        if kind in (FULL, LAST):
            rec = pb.Record()
            rec.ParseFromString(pending)
            out.append(rec)
    return out


def history(path: str | Path) -> list[dict]:
    """The rows logged with ``run.log``, each ``{key: value}`` with W&B's ``_step``."""
    rows = []
    for rec in records(path):
        if rec.WhichOneof("record_type") == "history":
            rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                         for item in rec.history.item})
    return rows


def config(path: str | Path) -> dict:
    """The run's config as given to ``wandb.init`` (the last value of each key)."""
    out: dict = {}
    for rec in records(path):
        if rec.WhichOneof("record_type") in ("run", "config"):
            cfg = rec.run.config if rec.WhichOneof("record_type") == "run" else rec.config
            for item in cfg.update:
                out[item.key] = json.loads(item.value_json)
    return out


def finished(path: str | Path) -> bool:
    """Whether the run was closed (its exit record is in the log)."""
    return any(rec.WhichOneof("record_type") == "exit" for rec in records(path))
