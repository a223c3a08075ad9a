"""How new residual weights travel from the learner to the actor.

The actor only ever *polls* (never blocks): no learner, a slow learner or a dead one means it keeps
acting with the weights it has. Here: a directory on a shared file system (bundles written
atomically, then a ``LATEST`` pointer). The ROS 2 node layer offers the same two interfaces over a
transient-local DDS topic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class WeightsPublisher(Protocol):
    def publish(self, version: int, data: bytes) -> None: ...


class WeightsSubscriber(Protocol):
    def poll(self) -> tuple[int, bytes] | None:
        """The newest bundle if it is newer than the last one returned, else None. Never blocks."""
        ...


class FanOutPublisher:
    """Publishes every bundle on each of several channels (the ROS learner: DDS for the actor, and the
    directory in ``learner.dir`` so tools without ROS, such as ``robot-rl demo``'s evaluation, read the same)."""

    def __init__(self, *channels: WeightsPublisher) -> None:
        self.channels = channels

    def publish(self, version: int, data: bytes) -> None:
        for channel in self.channels:
            channel.publish(version, data)


class DirectoryWeightsChannel:
    """Publisher and subscriber over ``<dir>/residual-v<version>.pt`` + ``<dir>/LATEST``."""

    def __init__(self, directory: str | os.PathLike[str], keep: int = 5) -> None:
        self.dir = Path(directory)
        self.keep = keep
        self._seen = -1

    def publish(self, version: int, data: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"residual-v{version:08d}.pt"
        self._atomic_write(self.dir / name, data)
        self._atomic_write(self.dir / "LATEST", name.encode())
        for old in sorted(self.dir.glob("residual-v*.pt"))[: -self.keep]:
            old.unlink(missing_ok=True)

    def poll(self) -> tuple[int, bytes] | None:
        try:
            name = (self.dir / "LATEST").read_text().strip()
            version = int(name.removeprefix("residual-v").removesuffix(".pt"))
            if version <= self._seen:
                return None
            data = (self.dir / name).read_bytes()
        except (OSError, ValueError):
            return None  # nothing published yet, or pruned between the two reads: try next tick
        self._seen = version
        return version, data

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
