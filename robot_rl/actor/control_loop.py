"""The actor's fixed-rate control loop: one place for the actor node and the in-process pipeline.

A thread of its own rather than an executor timer: a timer callback waits for whatever callback the executor
is running (image conversions, events), and a sleeping thread wakes up late on a loaded machine. So the loop
sleeps to ``spin_s`` before each deadline, then spins on the clock to it (``spin_s`` of CPU per period: 2% at
10 Hz). Other threads of the process (the executor's callbacks, a camera thread) hold the GIL for up to
Python's switch interval (5 ms by default) before a waiting thread gets it, so :meth:`ControlLoop.start`
lowers the process's interval to ``GIL_SWITCH_S``. A tick that overruns skips the deadlines it missed rather
than bunching the next ticks (counted in ``missed``). Deadlines are on the monotonic clock; what ``step`` does
with the time is its own business.

The clock and the sleep are injectable (``clock``, ``sleep``; ``time.monotonic`` and a wait that :meth:`stop`
interrupts by default), so a test drives the loop on a simulated clock and checks the rate, the skipping and
the ``missed`` count exactly instead of against a loaded machine's scheduler.
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
    ``on_error`` is told). ``periods_s`` holds the measured periods of the last ``KEPT_TICKS`` ticks.

    ``clock`` (seconds, monotonic) sets the deadlines and measures the periods; ``sleep(seconds)`` waits before
    each deadline's final spin. The defaults are ``time.monotonic`` and a wait on the stop event (so
    :meth:`stop` ends a sleep at once); an injected ``sleep`` is not interrupted by :meth:`stop`, which the loop
    checks when it returns."""

    def __init__(self, hz: float, step: Callable[[], None], *, spin_s: float = 0.002,
                 on_error: Callable[[BaseException], None] | None = None, name: str = "control-loop",
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None) -> None:
        if not hz > 0:
            raise ValueError(f"control rate must be > 0, got {hz}")
        self.period = 1.0 / hz
        self.step, self.spin_s, self.on_error = step, min(spin_s, 0.5 / hz), on_error
        self.missed = 0
        self.periods_s: deque[float] = deque(maxlen=KEPT_TICKS)
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._clock = clock
        self._sleep: Callable[[float], object] = self._stop.wait if sleep is None else sleep
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
        clock = self._clock
        deadline = clock() + self.period
        last = None
        while not self._stop.is_set():
            self._sleep(max(0.0, deadline - clock() - self.spin_s))
            if self._stop.is_set():
                return
            while (now := clock()) < deadline:
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
            late = clock() - deadline
            if late > 0:  # overran one or more periods: skip them, keep the phase
                skipped = int(late // self.period) + 1
                self.missed += skipped
                deadline += skipped * self.period
