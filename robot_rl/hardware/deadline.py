"""Waiting on a real condition with a deadline (never a bare sleep): device start-up, tests, benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The condition did not hold in time; the message says what was awaited and the last value seen."""


def wait_for(probe: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.002) -> T:
    """Call ``probe`` until it returns a truthy value and return that value, or raise
    :class:`DeadlineExceeded` after ``timeout_s``. Exceptions from ``probe`` propagate."""
    deadline = time.monotonic() + timeout_s
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise DeadlineExceeded(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")
        time.sleep(poll_s)
        last = probe()
    return last
