"""Shared fixtures. Importing robot_rl first selects a headless GL backend for MuJoCo."""

from __future__ import annotations

import pytest

import robot_rl  # noqa: F401
from robot_rl.config import Config, load_config


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config([])
