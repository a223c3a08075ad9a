"""The actor's fixed-rate control loop: one place for the actor node and the in-process pipeline.

A thread of its own rather than an executor timer: a timer callback waits for whatever callback the executor
is running (image conversions, events), and a sleeping thread wakes up late on a loaded machine. So the loop
sleeps to ``spin_s`` before each deadline, then spins on the clock to it (``spin_s`` of CPU per period: 2% at
10 Hz). Other threads of the process (the executor's callbacks, a camera thread) hold the GIL for up to
Python's switch interval (5 ms by default) before a waiting thread gets it, so :meth:`ControlLoop.start`
lowers the process's interval to ``GIL_SWITCH_S``. A tick that overruns skips the deadlines it missed rather
than bunching the next ticks (counted in ``missed``). Deadlines are on the monotonic clock; what ``step`` does
with the time is its own business.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable

GIL_SWITCH_S = 0.0005
KEPT_TICKS = 36_000  # an hour at 10 Hz: timing kept for reports, bounded for a node that runs for days


class ControlLoop:
    """Calls ``step()`` at ``hz`` in a thread until :meth:`stop` or until ``step`` raises (kept in ``error``;
    ``on_error`` is told). ``periods_s`` holds the measured periods of the last ``KEPT_TICKS`` ticks."""

    def __init__(self, hz: float, step: Callable[[], None], *, spin_s: float = 0.002,
                 on_error: Callable[[BaseException], None] | None = None, name: str = "control-loop") -> None:
        if hz <= 0:
            raise ValueError(f"control rate must be > 0, got {hz}")
        self.period = 1.0 / hz
        self.step, self.spin_s, self.on_error = step, min(spin_s, 0.5 / hz), on_error
        self.missed = 0
        self.periods_s: deque[float] = deque(maxlen=KEPT_TICKS)
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> ControlLoop:
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the loop to end and wait for the tick in progress (if any) to finish."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        deadline = time.monotonic() + self.period
        last = None
        while not self._stop.is_set():
            if self._stop.wait(max(0.0, deadline - time.monotonic() - self.spin_s)):
                return
            while (now := time.monotonic()) < deadline:
                pass  # the last spin_s: on the CPU at the deadline instead of waiting to be scheduled
            if last is not None:
                self.periods_s.append(now - last)
            last = now
            try:
                self.step()
            except BaseException as exc:  # handed to on_error: the loop must not die silently
                self.error = exc
                if self.on_error is not None:
                    self.on_error(exc)
                return
            deadline += self.period
            late = time.monotonic() - deadline
            if late > 0:  # overran one or more periods: skip them, keep the phase
                skipped = int(late // self.period) + 1
                self.missed += skipped
                deadline += skipped * self.period
