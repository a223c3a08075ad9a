"""A fake HID device at the HID-read boundary (the ``easyhid.HIDDevice`` surface pyspacemouse uses):
raw reports go in through :meth:`feed`, pyspacemouse's real parsing runs on them. No virtual HID
device can be created on these machines; this is the seam the SpaceMouse tests and benchmark use.

:class:`SocketHIDDevice` is the same fake for a SpaceMouse in another process (the teleop node): its reports
arrive as datagrams on a Unix socket (one datagram = one report, as a hidraw read returns one), sent with
:func:`send_report`. ``teleop.spacemouse.fake_hid_socket`` selects it in place of the real device."""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import struct
import threading

SPACENAVIGATOR = (0x046D, 0xC626)  # vendor, product ids (pyspacemouse's devices.toml: "SpaceNavigator")


def axis_report(channel: int, a: int, b: int, c: int) -> bytes:
    """A SpaceNavigator report: channel 1 = translation x, y, z; channel 2 = rotation; raw int16 values."""
    return struct.pack("<Bhhh", channel, a, b, c)


def button_report(mask: int) -> bytes:
    return bytes([3, mask & 0xFF, 0, 0, 0, 0, 0])


class FakeHIDDevice:
    """Reports queue up and are returned one per ``read``; ``unplug()`` makes reads fail like hidapi does."""

    def __init__(self, vendor_id: int = SPACENAVIGATOR[0], product_id: int = SPACENAVIGATOR[1],
                 path: str = "/dev/hidraw-fake0") -> None:
        self.vendor_id, self.product_id, self.path = vendor_id, product_id, path
        self.product_string, self.manufacturer_string = "SpaceNavigator (fake)", "3Dconnexion"
        self.release_number, self.serial_number = 0x0100, "FAKE0001"
        self.plugged = True
        self.is_open = False
        self._reports: collections.deque[bytes] = collections.deque()
        self._lock = threading.Lock()

    def feed(self, report: bytes) -> None:
        with self._lock:
            self._reports.append(bytes(report))

    def unplug(self) -> None:
        self.plugged = False

    def replug(self) -> None:
        self.plugged = True

    # the easyhid surface ------------------------------------------------------------------------------
    def open(self) -> None:
        from easyhid import HIDException

        if not self.plugged:
            raise HIDException("Failed to open device")
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def set_nonblocking(self, enable: bool) -> None:
        pass

    def read(self, size: int = 64, timeout: int | None = None) -> bytearray:
        from easyhid import HIDException

        if not self.plugged or not self.is_open:
            raise HIDException("Failed to read from HID device: -1")
        with self._lock:
            return bytearray(self._reports.popleft()[:size]) if self._reports else bytearray()


class SocketHIDDevice(FakeHIDDevice):
    """A :class:`FakeHIDDevice` fed through a Unix datagram socket at ``socket_path``: bound on ``open()``
    (replacing a stale file), unbound on ``close()``; ``read`` returns the oldest queued datagram, or nothing."""

    def __init__(self, socket_path: str) -> None:
        super().__init__(path=f"/dev/hidraw-fake:{socket_path}")
        self.socket_path = socket_path
        self._sock: socket.socket | None = None

    def open(self) -> None:
        super().open()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.socket_path)
        sock.setblocking(False)
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
        super().close()

    def read(self, size: int = 64, timeout: int | None = None) -> bytearray:
        queued = super().read(size, timeout)  # raises while unplugged or closed, like hidapi
        if queued or self._sock is None:
            return queued
        try:
            return bytearray(self._sock.recv(size))
        except BlockingIOError:
            return bytearray()


def send_report(socket_path: str, report: bytes) -> None:
    """One raw HID report to the :class:`SocketHIDDevice` bound at ``socket_path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(bytes(report), socket_path)
