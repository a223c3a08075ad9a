"""How new residual weights travel from the learner to the actor.

The actor only ever *polls* (never blocks): no learner, a slow learner or a dead one means it keeps
acting with the weights it has. Here: a directory on a shared file system (bundles written
atomically, then a ``LATEST`` pointer). The ROS 2 node layer offers the same two interfaces over a
transient-local DDS topic.

Given the deployment key, a channel signs what it publishes and verifies what it receives
(:class:`WeightsGuard`, shared by this channel and the DDS one): an unsigned or wrongly signed bundle is
refused with a throttled warning before anything is unpickled, it does not count as "newest", and the actor
keeps the weights it has. Without a key (``key=None``) the channel is unauthenticated: for a learner and an
actor in one process (the benches), never across processes that others could write to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from robot_rl.atomic import write_atomic
from robot_rl.config.schema import Config
from robot_rl.security import DeploymentKey, RefusalLog, SignatureError, key_from_config

log = logging.getLogger(__name__)


class WeightsPublisher(Protocol):
    def publish(self, version: int, data: bytes) -> None: ...


class WeightsSubscriber(Protocol):
    def poll(self) -> tuple[int, bytes] | None:
        """The newest bundle if it is newer than the last one returned, else None. Never blocks."""
        ...


class WeightsGuard:
    """Signs bundles on the way out, verifies them on the way in (the one place both channels do it).

    ``check`` returns the bundle bytes, or None after a throttled warning naming the source and why
    (``unsigned`` / ``bad signature``); ``refusals`` counts them per reason."""

    def __init__(self, key: DeploymentKey, source: str, warn: Callable[[str], None] | None = None,
                 period_s: float = 2.0) -> None:
        self.key, self.source = key, source
        self.refusals = RefusalLog(warn or log.warning, period_s)

    @property
    def refused(self) -> int:
        return self.refusals.total

    def sign(self, version: int, data: bytes) -> bytes:
        return self.key.sign_weights(version, data)

    def check(self, version: int, data: bytes) -> bytes | None:
        try:
            return self.key.open_weights(version, data)
        except SignatureError as exc:
            self.refusals.refuse(exc.reason, f"refused residual weights v{version} on {self.source}: {exc} (not signed "
                                      f"with this deployment's key {self.key.path}); keeping the current weights")
            return None


class FanOutPublisher:
    """Publishes every bundle on each of several channels (the ROS learner: DDS for the actor, and the
    directory in ``learner.dir`` so tools without ROS, such as ``robot-rl demo``'s evaluation, read the same)."""

    def __init__(self, *channels: WeightsPublisher) -> None:
        self.channels = channels

    def publish(self, version: int, data: bytes) -> None:
        for channel in self.channels:
            channel.publish(version, data)


class DirectoryWeightsChannel:
    """Publisher and subscriber over ``<dir>/residual-v<version>.pt`` + ``<dir>/LATEST``; signed and verified
    with ``key`` when given."""

    def __init__(self, directory: str | os.PathLike[str], keep: int = 5, key: DeploymentKey | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.dir = Path(directory)
        self.keep = keep
        self._seen = -1
        self.guard = WeightsGuard(key, str(self.dir), warn) if key is not None else None
        self._refused: tuple[str, int, int] | None = None  # (name, mtime ns, size) of the last refused file

    def publish(self, version: int, data: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"residual-v{version:08d}.pt"
        if self.guard is not None:
            data = self.guard.sign(version, data)
        write_atomic(self.dir / name, data)
        write_atomic(self.dir / "LATEST", name.encode())
        for old in sorted(self.dir.glob("residual-v*.pt"))[: -self.keep]:
            old.unlink(missing_ok=True)

    def poll(self) -> tuple[int, bytes] | None:
        try:
            name = (self.dir / "LATEST").read_text().strip()
            version = int(name.removeprefix("residual-v").removesuffix(".pt"))
            if version <= self._seen:
                return None
            path = self.dir / name
            st = path.stat()
            if self._refused == (name, st.st_mtime_ns, st.st_size):
                return None  # refused already: do not re-read (and re-warn) every tick
            data = path.read_bytes()
        except (OSError, ValueError):
            return None  # nothing published yet, or pruned between the two reads: try next tick
        if self.guard is not None:
            opened = self.guard.check(version, data)
            if opened is None:
                self._refused = (name, st.st_mtime_ns, st.st_size)
                return None  # not marked seen: a refused bundle never blocks a genuine later one
            data = opened
        self._seen = version
        return version, data



def weights_channel(cfg: Config, warn: Callable[[str], None] | None = None, *,
                    signed: bool = True) -> DirectoryWeightsChannel:
    """``learner.dir/weights``, signed and verified with the deployment key (``security.key_path``); unsigned
    only for a learner and an actor in one process (``signed=False``: the learning bench)."""
    return DirectoryWeightsChannel(Path(cfg.learner.dir) / "weights", key=key_from_config(cfg) if signed else None,
                                   warn=warn)
