"""A full disk, where none can be made: while a flag file exists, the replay store's writes (appending rows,
committing an episode) fail with ENOSPC, as they would on a full file system. The soak uses it when it cannot
loop-mount a small file system to fill (not root); it reaches the graph's processes through
``benchmarks/soak_inject/sitecustomize.py`` and ``ROBOT_RL_FAULT_ENOSPC``, so the product has no hook for it."""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path

FAULT_ENOSPC_ENV = "ROBOT_RL_FAULT_ENOSPC"  # the flag file's path, for the processes of a soak's graph


def install_enospc(flag: str | os.PathLike[str]) -> Callable[[], None]:
    """Make :class:`~robot_rl.data.replay_store.ReplayStore` writes fail while ``flag`` exists; returns the undo."""
    from robot_rl.data.replay_store import ReplayStore

    flag = Path(flag)
    originals = {name: getattr(ReplayStore, name) for name in ("append_rows", "commit_episode")}

    def failing(method):
        @functools.wraps(method)
        def wrapped(self, *args, **kwargs):
            if flag.exists():
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + " (injected)", str(flag))
            return method(self, *args, **kwargs)
        return wrapped

    for name, method in originals.items():
        setattr(ReplayStore, name, failing(method))

    def undo() -> None:
        for name, method in originals.items():
            setattr(ReplayStore, name, method)

    return undo


def install_from_env() -> None:
    """:func:`install_enospc` on ``$ROBOT_RL_FAULT_ENOSPC`` when it is set."""
    if flag := os.environ.get(FAULT_ENOSPC_ENV):
        install_enospc(flag)
