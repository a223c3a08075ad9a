"""``robot-rl buffer inspect|verify`` end to end (in-process and through the console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore

from .episodes import CHUNK_LEN, SCHEMA, episode_of, length_of


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "replay.zarr"
    store = ReplayStore.create(path, SCHEMA, chunk_len=CHUNK_LEN)
    for seed, source in enumerate(["demo", "demo", "policy", "policy"]):
        store.add_episode(episode_of(seed), EpisodeMeta(source=EpisodeSource.parse(source), seed=seed,
                                                        success=seed != 3))
    store.close()
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("robot-rl")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_inspect(store_path, capsys):
    assert main(["buffer", "inspect", str(store_path)]) == 0
    out = capsys.readouterr().out
    rows = sum(length_of(s) for s in range(4))
    assert f"4 committed, {rows} rows" in out
    assert "demo 2, policy 2" in out
    assert "success     75.0% of episodes" in out
    assert "episode(s) with human steps" in out and "MB on disk" in out
    assert "wrist, front 32x32" in out


def test_inspect_json(store_path, capsys):
    assert main(["buffer", "inspect", str(store_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_episodes"] == 4 and data["sources"] == {"demo": 2, "policy": 2}
    interventions = sum(length_of(s) // 2 - length_of(s) // 3 for s in (1, 3))
    assert data["intervention_rate"] == pytest.approx(interventions / data["n_rows"])


def test_verify_through_the_console_script(store_path):
    ok = run_cli("buffer", "verify", str(store_path))
    assert ok.returncode == 0, ok.stderr
    assert "OK (4 episodes" in ok.stdout
    # damage the chunk holding rows 16..23 of data/action: episodes 1 and 2 (ends 5, 17, 36, 62)
    (store_path / "data/action/c/2/0").write_bytes(b"bitrot")
    bad = run_cli("buffer", "verify", str(store_path))
    assert bad.returncode == 1
    assert "data/action" in bad.stdout and "episode 1, 2" in bad.stdout and "1 problem(s)" in bad.stdout


def test_verify_json_and_missing_store(tmp_path, capsys):
    assert main(["buffer", "verify", str(tmp_path / "none.zarr"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    assert main(["buffer", "inspect", str(tmp_path / "none.zarr")]) == 1
