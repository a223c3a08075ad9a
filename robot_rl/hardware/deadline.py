"""Waiting on a real condition with a deadline (never a bare sleep): device start-up, tests, benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The condition did not hold in time; the message says what was awaited and the last value seen."""


def wait_until(probe: Callable[[], T], timeout_s: float, poll_s: float = 0.002) -> T:
    """Call ``probe`` until it returns a truthy value or ``timeout_s`` passes; the last value either way (falsy:
    timed out), for callers that measure whether something happened in time. Exceptions propagate."""
    deadline = time.monotonic() + timeout_s
    last: T = probe()
    while not last and time.monotonic() <= deadline:
        time.sleep(poll_s)  # a polling interval: the condition is re-checked every time
        last = probe()
    return last


def wait_for(probe: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.002) -> T:
    """Call ``probe`` until it returns a truthy value and return that value, or raise
    :class:`DeadlineExceeded` after ``timeout_s``. Exceptions from ``probe`` propagate."""
    last = wait_until(probe, timeout_s, poll_s)
    if not last:
        raise DeadlineExceeded(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")
    return last
