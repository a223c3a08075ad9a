from __future__ import annotations

import numpy as np
import pytest
import zarr

from robot_rl.data import layout as L
from robot_rl.data.integrity import summarize, verify


@pytest.fixture
def path(tmp_path, store_with, make_episode):
    store, _ = store_with([10, 20], sources=["demo", "policy"], chunk_len=10)
    store.add_episode(make_episode(10, seed=2, takeover=(3, 8), success=False),
                      L.EpisodeMeta(source=L.EpisodeSource.policy))
    store.begin_episode(L.EpisodeMeta())  # a recorder mid-episode
    store.append_rows(make_episode(4))
    store._lock.release()
    return tmp_path / "store.zarr"


def test_summary(path, make_episode):
    s = summarize(path)
    assert (s.n_episodes, s.n_rows, s.lengths) == (3, 40, [10, 20, 10])
    assert s.sources == {"demo": 1, "policy": 2} and s.statuses == {"complete": 3}
    assert s.success_rate == pytest.approx(2 / 3)
    assert s.intervention_rate == pytest.approx(5 / 40) and s.episodes_with_intervention == 1
    assert s.uncommitted_rows == 4 and s.size_bytes > 0
    assert s.episodes[1]["source"] == "policy" and s.episodes[1]["length"] == 20


def test_verify_a_good_store(path):
    report = verify(path)
    assert report.ok and report.n_episodes == 3 and report.chunks_read == 4 * 14
    assert any("4 rows after the last committed episode" in n for n in report.notes)


def test_verify_finds_corruption_nan_and_bad_codes(path):
    (path / "data/obs/images/wrist/c/2/0/0/0").write_bytes(b"rot")  # rows 20..29: episode 1
    root = zarr.open_group(path, mode="r+")
    root["data/reward"][35] = np.nan  # written behind the recorder's back: episode 2
    root["meta/episode_source"][0] = 9
    problems = {p.where: p for p in verify(path).problems}
    assert problems["data/obs/images/wrist"].episodes == (1,)
    assert "episode 1" in str(problems["data/obs/images/wrist"])
    assert problems["data/reward"].episodes == (2,) and "NaN" in problems["data/reward"].message
    assert "unknown codes [9]" in str(problems["meta/episode_source"])


def test_verify_reports_what_is_not_a_store(tmp_path):
    report = verify(tmp_path / "nothing.zarr")
    assert not report.ok and "no replay store" in str(report.problems[0])
