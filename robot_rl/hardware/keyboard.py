"""Keyboard teleop events (``pynput``): take over / hand back, success, failure, reset, pause, quit, and
ack (let the policy go on after it asked for help).

The key map comes from ``teleop.keys`` (event -> key). pynput's listener runs in its own thread and
pushes :class:`KeyEvent` s onto a queue the control loop drains with :meth:`poll` (non-blocking), so a
key press is never lost between control ticks. pynput needs an X display (``DISPLAY``) on Linux.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from dataclasses import dataclass

from robot_rl.hardware.errors import DeviceError, require

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyEvent:
    event: str  # one of robot_rl.config.schema.TELEOP_EVENTS
    key: str
    stamp: float  # time.monotonic() when pynput delivered it


def key_name(key: object) -> str:
    """A pynput key as the config names it: its character ("t") or its ``Key`` name ("space", "esc")."""
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    name = getattr(key, "name", None)
    return name or str(key)


def _disable_record_context(listener: object) -> None:
    """Disable the X RECORD context a pynput xorg listener blocks on, from a connection of our own
    (pynput sends its own disable on the blocked connection, where it waits for the next event)."""
    context = getattr(listener, "_context", None)
    if context is None:
        return
    try:
        import Xlib.display

        display = Xlib.display.Display()
        try:
            display.record_disable_context(context)
            display.sync()
        finally:
            display.close()
    except Exception as exc:  # the listener then ends with the next key press or the display
        log.debug("keyboard: could not disable the X record context: %s", exc)


class KeyboardTeleop:
    """Lifecycle: ``start()`` ... ``stop()``, or a context manager."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.bindings = {k.lower(): event for event, k in keys.items()}
        self._events: queue.Queue[KeyEvent] = queue.Queue()
        self._listener = None

    def start(self) -> KeyboardTeleop:
        if not os.environ.get("DISPLAY"):
            raise DeviceError("keyboard teleop needs an X display: DISPLAY is not set. Fix: run in the robot PC's "
                              "desktop session (or export DISPLAY=:0), or start Xvfb for headless use")
        keyboard = require("pynput.keyboard", "teleop")
        self._listener = keyboard.Listener(on_press=self._on_press)
        self._listener.start()
        self._listener.wait()  # returns once the listener is receiving events
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            listener.join(timeout=0.2)
            if listener.is_alive():  # pynput's X listener only sees the stop at the next X event: end it now
                _disable_record_context(listener)
                listener.join(timeout=5.0)
            if listener.is_alive():
                log.warning("keyboard listener still running 5 s after stop (X server unresponsive?)")

    def __enter__(self) -> KeyboardTeleop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def poll(self) -> list[KeyEvent]:
        """Every event since the last poll, oldest first; never blocks."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def _on_press(self, key: object) -> None:
        name = key_name(key)
        event = self.bindings.get(name)
        if event is not None:
            self._events.put(KeyEvent(event=event, key=name, stamp=time.monotonic()))
