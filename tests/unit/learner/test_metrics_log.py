"""The learner's metrics sinks: a JSON line and the same finite numbers as TensorBoard scalars (read back with
TensorBoard's own reader) and as a W&B offline run (read back with W&B's own record schema); W&B refused with
the command that installs it when the package is missing."""

from __future__ import annotations

import importlib.util
import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from robot_rl.config import load_config
from robot_rl.config.loader import ConfigError
from robot_rl.learner.metrics_log import MetricsLog, MetricsUnavailable, ScalarLog
from tests.support import wandb_runs


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


def test_an_offline_wandb_run_holds_each_record_at_its_update_count(tmp_path):
    """Offline mode needs no network or account: the run folder (what ``wandb sync`` uploads) has the same numbers
    as the JSON lines, at the learner's update count, the config given, and the run closed."""
    scalars = ScalarLog(tmp_path, tensorboard=False, wandb="offline", name="learner-a",
                        config={"learner": {"utd": 4}, "seed": 3})
    log = MetricsLog(tmp_path, "metrics.jsonl", scalars)
    for i, loss in enumerate([1.0, 0.5, float("nan")]):
        log.write({"time": 0.0, "updates": 10 * (i + 1), "version": i + 1, "critic_loss": loss})
    log.close()
    [run] = wandb_runs.run_files(tmp_path)
    rows = wandb_runs.history(run)
    assert [r["_step"] for r in rows] == [10, 20, 30]
    assert [r.get("learner/critic_loss") for r in rows] == [1.0, 0.5, None], "a NaN is left out, not logged"
    assert [r["learner/version"] for r in rows] == [1, 2, 3]
    assert wandb_runs.config(run)["learner"] == {"utd": 4} and wandb_runs.config(run)["seed"] == 3
    assert wandb_runs.finished(run)


def test_two_wandb_runs_open_at_once_are_each_whole(tmp_path):
    """The learning bench holds the learner's run and its evaluation run in one process: closing the first leaves
    the second logging, and each folder holds its own rows once both are closed."""
    learner = ScalarLog(tmp_path / "learner", tensorboard=False, wandb="offline", name="learner")
    evals = ScalarLog(tmp_path / "eval", tensorboard=False, wandb="offline", name="eval")
    learner.log({"critic_loss": 1.0}, 5, prefix="learner/")
    evals.log({"success": 0.25}, 100, prefix="eval/")
    learner.close()
    evals.log({"success": 0.5}, 200, prefix="eval/")
    evals.close()
    [lrun], [erun] = wandb_runs.run_files(tmp_path / "learner"), wandb_runs.run_files(tmp_path / "eval")
    assert [(r["_step"], r["learner/critic_loss"]) for r in wandb_runs.history(lrun)] == [(5, 1.0)]
    assert [(r["_step"], r["eval/success"]) for r in wandb_runs.history(erun)] == [(100, 0.25), (200, 0.5)]
    assert wandb_runs.finished(lrun) and wandb_runs.finished(erun)


def test_wandb_without_its_package_is_refused_with_the_fix(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(MetricsUnavailable, match="pip install wandb"):
        ScalarLog(tmp_path, tensorboard=False, wandb="offline")


def test_a_bad_wandb_mode_names_the_key():
    with pytest.raises(ConfigError, match=r"learner\.wandb"):
        load_config(["learner.wandb=yes"])
