"""``robot-rl view``: an episode of a real zarr store as an .rrd, read back with Rerun's own reader: every camera
frame, the actions per dimension, take-overs, and the reward classifier's probability where the store has it."""

from __future__ import annotations

import numpy as np
from rerun.chunk import RrdReader

from robot_rl.cli.main import main
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode

SCHEMA = RowSchema(cameras=("wrist", "front"), image_hw=(16, 16), state_dim=10, action_dim=7, reward=True)


def _store(path):
    store = ReplayStore.create(path, SCHEMA, chunk_len=8)
    eps = []
    for seed, n in enumerate((6, 9)):
        cols = episode(SCHEMA, n, seed, takeover=(2, 4))
        cols |= {"success_prob": np.linspace(0, 1, n).astype(np.float32), "success_detected": np.arange(n) == n - 1,
                 "success_label": np.full(n, -1, np.int8)}
        store.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy, seed=seed, success=True))
        eps.append(cols)
    store.close()
    return eps


def _series(path) -> dict[str, list]:
    """entity path -> the rows' (step, values) as Rerun stored them."""
    out: dict[str, list] = {}
    for chunk in RrdReader(str(path)).stream().to_chunks():
        batch = chunk.to_record_batch()
        if "step" not in batch.schema.names:
            continue
        value_col = next(n for n in batch.schema.names if n.endswith((":scalars", ":buffer", ":text")))
        steps = batch.column("step").to_pylist()
        values = batch.column(value_col).to_pylist()
        out.setdefault(chunk.entity_path, []).extend(zip(steps, values, strict=True))
    return out


def test_view_writes_an_rrd_that_rerun_reads_back(tmp_path, capsys):
    eps = _store(tmp_path / "replay.zarr")
    out = tmp_path / "ep1.rrd"
    assert main(["view", str(tmp_path / "replay.zarr"), "--episode", "-1", "--out", str(out)]) == 0
    assert f"rerun {out}" in capsys.readouterr().out
    series = _series(out)
    want = eps[1]
    n = len(want["t_obs"])
    front = sorted(series["/cameras/front"])
    assert [s for s, _ in front] == list(range(n))
    np.testing.assert_array_equal(np.frombuffer(bytes(front[3][1][0]), np.uint8).reshape(16, 16, 3),
                                  want["obs/images/front"][3])
    dz = sorted(series["/action/action/dz"])
    assert len(dz) == n - 1, "no action from the final observation"
    np.testing.assert_allclose([v[0] for _, v in dz], want["action"][:-1, 2], rtol=1e-6)
    assert [v[0] for _, v in sorted(series["/intervened"])] == [float(x) for x in want["intervened"][:-1]]
    probs = [v[0] for _, v in sorted(series["/reward_classifier/p_success"])]
    np.testing.assert_allclose(probs, want["success_prob"], rtol=1e-6)
    assert "source policy, seed 1" in series["/episode"][0][1][0]
    assert not list(tmp_path.glob(".*partial"))


def test_view_names_what_is_there_when_asked_for_what_is_not(tmp_path, capsys):
    _store(tmp_path / "replay.zarr")
    assert main(["view", str(tmp_path / "replay.zarr"), "--episode", "5", "--out", str(tmp_path / "x.rrd")]) == 2
    assert "2 episodes: 0-1" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "replay.zarr"), "--camera", "side", "--out", str(tmp_path / "x.rrd")]) == 2
    assert "it has ['wrist', 'front']" in capsys.readouterr().err
    assert not (tmp_path / "x.rrd").exists()
