"""The value checks every config group's ``validate`` uses: a failed check names the dotted key."""

from __future__ import annotations


class ConfigValueError(ValueError):
    """A config value is out of range; the message starts with the dotted key."""


def check(ok: bool, key: str, msg: str) -> None:
    if not ok:
        raise ConfigValueError(f"{key}: {msg}")


def check_box(low: list[float], high: list[float], key: str) -> None:
    check(len(low) == len(high), key, f"low and high differ in length ({len(low)} vs {len(high)})")
    check(all(lo < hi for lo, hi in zip(low, high, strict=False)), key, f"low {list(low)} must be < high {list(high)}")
