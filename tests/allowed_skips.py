"""The one place a test may skip under CI (``CI=true``, which CI sets). Everywhere else a skip means a missing
dependency or device turned a test off, so ``tests/conftest.py`` turns it into a failure there.

Each entry: a pattern matched (``fnmatch``) against the test's node id (or the module path for a skip at
collection), and why skipping it in CI is right. Keep the list short; an entry is a promise not kept yet."""

from __future__ import annotations

import fnmatch

ALLOWED_SKIPS: dict[str, str] = {
    # Nothing today: CI installs every extra and the system packages (tools/setup.sh, as root), and every test
    # that can skip on a developer's machine runs there. Example of an entry:
    # "tests/ros/test_x.py::test_y": "needs a second host on the network; CI has one machine",
}


def allowed(nodeid: str) -> str | None:
    """The reason ``nodeid`` may skip in CI, or None when it may not."""
    for pattern, reason in ALLOWED_SKIPS.items():
        if fnmatch.fnmatch(nodeid, pattern) or fnmatch.fnmatch(nodeid, pattern + "::*"):  # a module: its tests
            return reason
    return None
