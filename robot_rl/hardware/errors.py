"""Errors every hardware backend raises, each carrying the fix in its message."""

from __future__ import annotations


class DeviceError(RuntimeError):
    """A device cannot be used; the message says what is wrong and how to fix it."""


class DeviceNotFoundError(DeviceError):
    """A configured device is not connected (the message lists what is)."""


class DeviceFaultError(DeviceError):
    """A device failed while running and could not be recovered automatically: stop the stack."""


class MissingDriverError(DeviceError):
    """The Python package (or system library) a backend needs is not installed."""


def require(module: str, extra: str):
    """Import a driver module lazily, turning ImportError into a message naming the pip extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDriverError(f"{module} is not importable ({exc}); install it with: "
                                 f"pip install -e '.[{extra}]' (or make setup EXTRAS=dev,{extra})") from exc
