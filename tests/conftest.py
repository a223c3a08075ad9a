"""Shared fixtures, and the CI skip guard. Importing robot_rl first selects a headless GL backend for MuJoCo.

Under ``CI=true`` (CI sets it) a skipped test fails the run unless :mod:`tests.allowed_skips` lists it: a skip
never fails on its own, so a dependency missing in CI would otherwise turn a test off silently."""

from __future__ import annotations

import os

import pytest

import robot_rl  # noqa: F401
from robot_rl.config import Config, load_config
from tests.allowed_skips import allowed


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config([])


@pytest.fixture(scope="session", autouse=True)
def _wandb_home(tmp_path_factory) -> None:
    """W&B keeps a cache, settings and staging files in the home folder even offline: the tests' go to a
    temporary folder instead (the run itself goes where ``learner.dir`` says)."""
    home = tmp_path_factory.mktemp("wandb-home")
    for var in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        os.environ.setdefault(var, str(home / var.lower()))


def _fail_unallowed_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail") or allowed(report.nodeid) is not None:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"skipped under CI=true, and {report.nodeid!r} is not in tests/allowed_skips.py: "
                       f"{reason}\nInstall what it needs (tools/setup.sh), or add it there with the reason.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    _fail_unallowed_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    _fail_unallowed_skip(outcome.get_result())  # a module-level importorskip
