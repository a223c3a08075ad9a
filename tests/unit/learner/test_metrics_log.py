"""The learner's metrics sinks: a JSON line and the same finite numbers as TensorBoard scalars (read back with
TensorBoard's own reader); W&B refused with the command that installs it when the package is missing."""

from __future__ import annotations

import importlib.util
import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from robot_rl.config import load_config
from robot_rl.config.loader import ConfigError
from robot_rl.learner.metrics_log import MetricsLog, MetricsUnavailable, ScalarLog


def test_each_record_reaches_the_jsonl_and_tensorboard(tmp_path):
    log = MetricsLog(tmp_path, "metrics.jsonl", ScalarLog(tmp_path))
    for i, loss in enumerate([1.0, 0.5, None]):
        log.write({"time": 0.0, "updates": 10 * (i + 1), "version": i + 1, "critic_loss": loss, "flag": True})
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["version"] for x in lines] == [1, 2, 3]
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("learner/critic_loss")] == [(10, 1.0), (20, 0.5)], \
        "a missing value is left out, not logged as 0"
    assert [e.value for e in events.Scalars("learner/version")] == [1, 2, 3]
    assert "learner/flag" not in events.Tags()["scalars"] and "learner/updates" not in events.Tags()["scalars"]


def test_wandb_without_its_package_is_refused_with_the_fix(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(MetricsUnavailable, match="pip install wandb"):
        ScalarLog(tmp_path, tensorboard=False, wandb="offline")


def test_a_bad_wandb_mode_names_the_key():
    with pytest.raises(ConfigError, match=r"learner\.wandb"):
        load_config(["learner.wandb=yes"])
