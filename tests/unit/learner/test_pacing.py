"""Pacing the twin to the learner (robot_rl.learner.pacing; the learner's side in tests/integration/learner) and
the demo's paired difference (robot_rl.sim.harness.evaluate)."""

from __future__ import annotations

import pytest

from robot_rl.learner.pacing import PROGRESS, LearnerPace, LearnerProgress, read_progress, write_progress
from robot_rl.sim.harness.evaluate import success_difference


def test_progress_round_trips_and_a_damaged_file_reads_as_none(tmp_path):
    assert read_progress(tmp_path) is None
    write_progress(tmp_path, LearnerProgress(updates=390, online=97, episodes=7, caught_up=True))
    p = read_progress(tmp_path)
    assert p == LearnerProgress(390, 97, 7, True) and p.utd == pytest.approx(390 / 97)
    (tmp_path / PROGRESS).write_text('{"updates": 9')
    assert read_progress(tmp_path) is None
    assert [f.name for f in tmp_path.iterdir()] == [PROGRESS], "no temporary file left behind"


def test_wait_returns_once_the_learner_ingested_and_caught_up(tmp_path):
    write_progress(tmp_path, LearnerProgress(400, 100, 7, caught_up=True))
    pace = LearnerPace(tmp_path, timeout_s=30.0)
    assert pace.wait(7).updates == 400 and pace.wait(5).updates == 400 and pace.timeouts == 0


@pytest.mark.parametrize("progress", [LearnerProgress(400, 100, 6, True),  # the last episode not ingested yet
                                      LearnerProgress(250, 100, 7, False)])  # ingested, still training
def test_wait_gives_up_on_a_learner_that_is_behind(tmp_path, progress):
    write_progress(tmp_path, progress)
    pace = LearnerPace(tmp_path, timeout_s=0.2)
    assert pace.wait(7, poll_s=0.01) == progress and pace.timeouts == 1 and pace.waited_s >= 0.2


def test_no_wait_on_a_dead_learner(tmp_path):
    pace = LearnerPace(tmp_path, timeout_s=30.0)
    assert pace.wait(7, alive=lambda: False) is None and pace.timeouts == 0


def test_paired_difference_and_its_interval():
    before = [False] * 30 + [True] * 20
    after = [True] * 40 + [False] * 10
    d, lo, hi = success_difference(before, after)
    assert d == pytest.approx(0.4) and lo < 0.4 < hi and hi - lo < 0.5
    assert success_difference(after, after) == (0.0, 0.0, 0.0), "no seed changed: no spread"
    with pytest.raises(ValueError, match="same, non-zero number"):
        success_difference(before, after[:10])
