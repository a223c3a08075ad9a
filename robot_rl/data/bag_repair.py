"""A ROS 2 bag whose recorder was killed, made whole again.

An MCAP bag gets its summary, footer and ``metadata.yaml`` only when its writer closes it. A recorder killed by
SIGKILL, a power cut or an OOM kill leaves a data section of complete chunks (and perhaps a torn last one) that
``rosbags``, Foxglove and ``robot-rl buffer import`` refuse to open. Every chunk before the cut still holds its
messages: :func:`repair_bag` reads them with the MCAP project's own stream reader (which needs no index) and
writes them, unchanged, into a new, closed bag. The torn tail is dropped and counted. Our recorder closes a chunk
every ``ros.bag_chunk_s`` seconds, so a kill loses at most that much.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from robot_rl.data.errors import StoreError

MCAP_MAGIC = b"\x89MCAP0\r\n"


@dataclass(frozen=True)
class RepairReport:
    """What a repair kept: messages per topic, the last message's log time (ns), and the bytes after the cut."""

    messages: dict[str, int]
    last_ns: int
    dropped_bytes: int

    @property
    def total(self) -> int:
        return sum(self.messages.values())


def mcap_file(bag: str | os.PathLike[str]) -> Path:
    """The bag's ``.mcap`` (a rosbag2 folder holding one, or the file itself)."""
    p = Path(bag)
    if p.is_file():
        return p
    files = sorted(p.glob("*.mcap"))
    if len(files) != 1:
        raise StoreError(f"{p}: expected one .mcap file in the bag's folder, found {[f.name for f in files]}")
    return files[0]


def has_footer(bag: str | os.PathLike[str]) -> bool:
    """Whether the bag's MCAP ends with the footer's magic: its writer finished it (the index is there)."""
    path = mcap_file(bag)
    if path.stat().st_size < 2 * len(MCAP_MAGIC):
        return False
    with path.open("rb") as f:
        f.seek(-len(MCAP_MAGIC), os.SEEK_END)
        return f.read() == MCAP_MAGIC


def is_closed(bag: str | os.PathLike[str]) -> bool:
    """Whether the bag was closed by its writer: its MCAP has its footer and, in a rosbag2 folder,
    ``metadata.yaml`` is there."""
    return has_footer(bag) and (Path(bag).is_file() or (Path(bag) / "metadata.yaml").is_file())


def _register_bag_types(schemas: dict, ts) -> None:
    """Add to ``ts`` every message type the bag defines that it lacks (from the bag's own schemas)."""
    from rosbags.typesys import get_types_from_idl, get_types_from_msg

    extra: dict = {}
    for schema in schemas.values():
        if schema.name in ts.types or schema.name in extra:
            continue
        text = schema.data.decode()
        idl = schema.encoding == "ros2idl"
        extra.update(get_types_from_idl(text) if idl else get_types_from_msg(text, schema.name))
    if extra:
        ts.register(extra)


def repair_bag(src: str | os.PathLike[str], dst: str | os.PathLike[str],
               progress: Callable[[int, int], None] | None = None) -> RepairReport:
    """Copy every message of the unclosed bag ``src`` that lies in a complete record into a new, closed bag at
    ``dst`` (a rosbag2 folder, MCAP storage); ``progress(bytes_read, bytes_total)``. A closed bag is refused:
    there is nothing to repair."""
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    path = mcap_file(src)
    if is_closed(src):
        raise StoreError(f"{src}: this bag was closed by its writer; nothing to repair (robot-rl buffer import it)")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(len(MCAP_MAGIC))
    if head != MCAP_MAGIC:
        raise StoreError(f"{path}: not an MCAP file (it starts with {head!r}); nothing of it can be recovered")
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    counts: dict[str, int] = {}
    conns: dict[int, object] = {}
    last_ns, good_end = 0, len(MCAP_MAGIC)
    ts = get_typestore(Stores.ROS2_JAZZY)
    writer = Writer(Path(dst), version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    try:
        with path.open("rb") as f:
            records = StreamReader(f, skip_magic=False, emit_chunks=False).records
            while True:
                try:
                    record = next(records)
                except Exception:  # StopIteration at a whole end; at a cut the torn record: EndOfFile, a short read
                    break
                if isinstance(record, Schema):
                    schemas[record.id] = record
                elif isinstance(record, Channel):
                    channels[record.id] = record
                elif isinstance(record, Message):
                    cid = record.channel_id
                    if cid not in conns:
                        ch = channels[cid]
                        msgtype = schemas[ch.schema_id].name
                        if msgtype not in ts.types:
                            _register_bag_types(schemas, ts)
                        conns[cid] = writer.add_connection(ch.topic, msgtype, typestore=ts)
                    writer.write(conns[cid], record.log_time, record.data)
                    counts[channels[cid].topic] = counts.get(channels[cid].topic, 0) + 1
                    last_ns = max(last_ns, record.log_time)
                if f.tell() != good_end:  # a whole record (a chunk's messages come once all of it is read)
                    good_end = f.tell()
                    if progress is not None:
                        progress(good_end, size)
    except BaseException:
        writer.close()
        raise
    writer.close()
    if progress is not None:
        progress(size, size)
    return RepairReport(messages=counts, last_ns=last_ns, dropped_bytes=max(0, size - good_end))
