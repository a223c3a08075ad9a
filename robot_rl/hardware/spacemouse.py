"""The 3Dconnexion SpaceMouse (``pyspacemouse`` over hidapi) as a 6-DoF twist plus buttons.

A reader thread polls the HID device at ``teleop.spacemouse.poll_hz`` (>= 100 Hz), lets pyspacemouse
parse every report, and keeps only the newest :class:`TwistSample`: deadband and scaling from the
config turn raw axes into an action-scaled twist in [-1, 1] (right-handed, z up: pyspacemouse's
``HID_Z_UP`` convention). Unplugging is reported (``status``) and the thread reopens the device when it
is back; readers see stale samples in the meantime (:meth:`latest` raises). The HID device itself is
pluggable (``hid_devices``, or ``teleop.spacemouse.fake_hid_socket`` from another process) so tests feed raw
reports through a fake at the HID-read boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_rl.config.schema import SpaceMouseConfig
from robot_rl.hardware.camera import StaleFrameError
from robot_rl.hardware.errors import DeviceNotFoundError, require

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TwistSample:
    twist: np.ndarray  # (6,) float32 in [-1, 1]: vx, vy, vz, wx, wy, wz (action units)
    buttons: tuple[int, ...]  # 0/1 per button
    stamp: float  # time.monotonic() when the report that made it was read
    reports: int  # HID reports parsed so far


def apply_deadband(x: np.ndarray, deadband: float) -> np.ndarray:
    """Zero below ``deadband``; rescaled above it so the output is continuous and reaches 1 at 1."""
    mag = np.clip((np.abs(x) - deadband) / (1.0 - deadband), 0.0, None)
    return np.sign(x) * mag


def default_hid_devices() -> list:
    return list(require("easyhid", "teleop").Enumeration().find())


def hid_devices_for(cfg: SpaceMouseConfig) -> Callable[[], list]:
    """The HID enumeration ``cfg`` asks for: the real devices (hidapi), or with ``fake_hid_socket`` set, one
    :class:`~robot_rl.testing.fake_hid.SocketHIDDevice` fed raw reports through that socket."""
    if not cfg.fake_hid_socket:
        return default_hid_devices
    from robot_rl.testing.fake_hid import SocketHIDDevice

    device = SocketHIDDevice(cfg.fake_hid_socket)
    return lambda: [device]


class SpaceMouse:
    """Lifecycle: ``start()`` (opens the device, raising if none, and takes the first sample) ... ``stop()``, or
    a context manager."""

    def __init__(self, cfg: SpaceMouseConfig, hid_devices: Callable[[], list] | None = None) -> None:
        self.cfg = cfg
        self._hid_devices = hid_devices or hid_devices_for(cfg)
        self._mouse = None
        self._latest: TwistSample | None = None
        self._reports = 0
        self._last_t = -1.0  # pyspacemouse's state.t of the last parsed report (-1.0: none yet)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = "stopped"
        self.reconnects = 0
        self.polls = 0

    def start(self) -> SpaceMouse:
        self._open()
        self._drain()  # a first sample before returning: latest() right after start() is not "no data yet"
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="spacemouse", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._thread = None
        self._close()
        self.status = "stopped"

    def __enter__(self) -> SpaceMouse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def latest(self, max_age_s: float | None = None) -> TwistSample:
        """The newest sample; :class:`StaleFrameError` while unplugged or before the first report.
        A SpaceMouse sends reports only on change, so age counts from the last successful poll."""
        sample = self._latest
        max_age = self.cfg.max_age_s if max_age_s is None else max_age_s
        if sample is None:
            raise StaleFrameError(f"SpaceMouse: no data yet ({self.status})")
        if time.monotonic() - sample.stamp > max_age:
            raise StaleFrameError(f"SpaceMouse: newest sample {time.monotonic() - sample.stamp:.3f} s old "
                                  f"({self.status})")
        return sample

    # internals -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        psm = require("pyspacemouse", "teleop")
        from pyspacemouse.config_helpers import apply_axis_convention
        from pyspacemouse.loader import get_device_specs
        from pyspacemouse.types import AxisConvention

        specs = get_device_specs()
        wanted = {self.cfg.device: specs[self.cfg.device]} if self.cfg.device else specs
        found = [(name, spec, dev) for dev in self._hid_devices() for name, spec in wanted.items()
                 if (dev.vendor_id, dev.product_id) == (spec.vendor_id, spec.product_id)]
        if not found:
            raise DeviceNotFoundError(f"no SpaceMouse{' ' + repr(self.cfg.device) if self.cfg.device else ''} found. "
                                      "Fix: plug it in; give this user access to /dev/hidraw* (udev rule); "
                                      "apt install libhidapi-hidraw0")
        name, spec, dev = found[0]
        mouse = psm.SpaceMouseDevice(info=apply_axis_convention(spec, AxisConvention.HID_Z_UP), device=dev)
        mouse.open()
        dev.set_nonblocking(True)
        self._mouse = mouse
        self._last_t = -1.0  # a freshly opened device has parsed nothing
        self.status = f"connected: {name}"

    def _close(self) -> None:
        mouse, self._mouse = self._mouse, None
        if mouse is not None:
            try:
                mouse.close()
            except Exception as exc:
                log.debug("SpaceMouse close: %s", exc)

    def _run(self) -> None:
        period = 1.0 / self.cfg.poll_hz
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                self._drain()
            except Exception as exc:  # hidapi reports an unplugged device as a read error
                self.status = f"lost: {exc}; reconnecting"
                log.warning("SpaceMouse %s", self.status)
                self._close()
                self._reconnect()
                continue
            self._stop.wait(max(0.0, period - (time.monotonic() - t0)))

    def _drain(self) -> None:
        """Parse every queued report, then publish one sample (at least once per poll: it also keeps the
        stamp fresh while the user holds still, since the device only reports changes)."""
        mouse = self._mouse
        n = 0
        for _ in range(256):  # bounded: a device flooding reports cannot starve the publish below
            st = mouse.read()  # parses at most one queued report, stamping st.t when it does
            if st.t == self._last_t:
                break
            self._last_t, n = st.t, n + 1
        self._reports += n
        self.polls += 1
        raw = np.array([st.x, st.y, st.z, st.roll, st.pitch, st.yaw], dtype=np.float64)
        twist = apply_deadband(np.clip(raw, -1.0, 1.0), self.cfg.deadband)
        twist[:3] *= self.cfg.translation_scale
        twist[3:] *= self.cfg.rotation_scale
        self._latest = TwistSample(twist=np.clip(twist, -1.0, 1.0).astype(np.float32),
                                   buttons=tuple(int(b) for b in st.buttons), stamp=time.monotonic(),
                                   reports=self._reports)

    def _reconnect(self) -> None:
        while not self._stop.wait(self.cfg.reconnect_s):
            try:
                self._open()
                self.reconnects += 1
                return
            except Exception as exc:
                self.status = f"lost: {exc}"
