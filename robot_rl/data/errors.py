"""Exceptions of the replay store. Each names what is wrong (a row key, an array, an episode) so the
message alone tells a user where to look."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The replay store cannot be opened or used as asked."""


class LayoutVersionError(StoreError):
    """The store was written with a layout this version of robot_rl does not understand."""


class StoreLockedError(StoreError):
    """Another process holds the store open for writing."""


class RowError(ValueError):
    """A row handed to the writer has a missing, unknown, misshapen, mistyped or non-finite field.

    ``key`` is the offending field (e.g. ``obs/images/wrist``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class CorruptChunkError(StoreError):
    """A chunk of ``array`` could not be read back (missing file, checksum mismatch, undecodable).

    ``episodes`` are the committed episodes whose rows live in the bad chunk(s)."""

    def __init__(self, array: str, episodes: list[int], rows: tuple[int, int], cause: str) -> None:
        eps = ", ".join(map(str, episodes)) if episodes else "none committed"
        super().__init__(f"corrupted chunk in array {array!r}, episode {eps} (rows {rows[0]}..{rows[1] - 1}): "
                         f"{cause}")
        self.array = array
        self.episodes = episodes
        self.rows = rows


class WriterError(StoreError):
    """The background writer failed; the message carries the original error."""
