"""Fuzz suite: property-based tests (hypothesis) that feed malformed input to every boundary where data
enters the stack (ROS messages, actions, observations, config overrides, the replay store on disk).

The property is always the same: a bad input ends in one of the project's own errors with a message
naming what is wrong (or a dropped message), never an unhandled exception and never a command outside
the limits.

Profile ``fuzz`` (registered here, applied per test with :func:`fuzz` so tests outside this folder keep
their own settings): derandomized, so a CI run is reproducible, no example database, no deadline, and
sized to keep the whole folder near a minute on a 2-core machine. ``ROBOT_RL_FUZZ_SCALE=20`` multiplies
every test's example count for a deeper local run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

PACKAGE = Path(__file__).resolve().parents[2] / "ros_ws" / "src" / "robot_rl_ros"
if str(PACKAGE) not in sys.path:  # robot_rl_ros.conversions, as in tests/ros/conftest.py
    sys.path.insert(0, str(PACKAGE))

SCALE = float(os.environ.get("ROBOT_RL_FUZZ_SCALE", "1"))
settings.register_profile("fuzz", max_examples=100, derandomize=True, database=None, deadline=None,
                          print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large])


def fuzz(max_examples: int) -> settings:
    """The ``fuzz`` profile with this test's example count (times ``ROBOT_RL_FUZZ_SCALE``).
    ``ROBOT_RL_FUZZ_NO_SHRINK=1`` reports failures unshrunk (faster triage on a slow machine)."""
    extra = {}
    if os.environ.get("ROBOT_RL_FUZZ_NO_SHRINK"):
        extra["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(settings.get_profile("fuzz"), max_examples=max(1, int(max_examples * SCALE)), **extra)
