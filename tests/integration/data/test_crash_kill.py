"""kill -9 of a recording process, at random moments and at the worst ones: every committed episode
survives bit for bit, and nothing the writer reported committed is lost."""

from __future__ import annotations

import random
import signal
import time

import pytest

from robot_rl.data.integrity import verify
from robot_rl.data.layout import EpisodeMeta, EpisodeStatus
from robot_rl.data.replay_store import ReplayStore

from .conftest import Child
from .episodes import episode_of, matches


def check_store(path, reported: set[int]) -> dict[int, EpisodeStatus]:
    """Every episode is intact; every reported commit is there. Returns {seed: status}."""
    reader = ReplayStore.open(path, "r")
    found = {}
    for i in range(reader.n_episodes):
        meta = reader.episode_meta(i)
        lo, hi = reader.episode_bounds(i)
        got = reader.read_episode(i)
        if meta.status == EpisodeStatus.crash_recovered:
            assert matches(got, meta.seed, rows=hi - lo), f"salvaged episode {i} (seed {meta.seed}) differs"
        else:
            assert meta.status == EpisodeStatus.complete and matches(got, meta.seed), f"episode {i} differs"
        assert meta.seed not in found, f"seed {meta.seed} stored twice"
        found[meta.seed] = meta.status
    complete = {s for s, st in found.items() if st == EpisodeStatus.complete}
    assert reported <= complete, f"committed episodes lost: {sorted(reported - complete)}"
    report = verify(path)
    assert report.ok, report.problems
    return found


def test_kill_9_at_random_points(tmp_path):
    rng = random.Random(1234)
    path = tmp_path / "store.zarr"
    reported: set[int] = set()
    for round_ in range(5):
        policy = "keep_truncated" if round_ % 2 else "discard"
        child = Child("writer_child", path, policy, 1000 * round_, 50)
        k = rng.randint(1, 3)
        child.wait_for(lambda child=child, k=k: len(child.committed()) >= k)
        time.sleep(rng.uniform(0.0, 0.15))  # not synchronisation: picks a random moment to kill at
        child.proc.send_signal(signal.SIGKILL)
        assert child.finish() == -signal.SIGKILL
        reported |= set(child.committed())
        before = check_store(path, reported)  # a reader copes before any repair...
        store = ReplayStore.open(path, "a", on_crash=policy)  # ...and the next writer repairs
        assert store.recovery.committed_episodes == len(before)
        store.close()
        after = check_store(path, reported)
        assert set(before) <= set(after)
    assert len(reported) >= 5


@pytest.mark.parametrize(("die", "policy"), [("data", "discard"), ("data", "keep_truncated"),
                                             ("commit", "discard"), ("commit", "keep_truncated")])
def test_kill_9_at_the_worst_moments(tmp_path, die, policy):
    path = tmp_path / "store.zarr"
    child = Child("writer_child", path, policy, 0, 5, die)
    assert child.finish() == -signal.SIGKILL, child.stderr()
    reported = set(child.committed())
    assert reported  # it died after committing something
    check_store(path, reported)
    store = ReplayStore.open(path, "a", on_crash=policy)
    rep = store.recovery
    store.close()
    if die == "commit":
        assert rep.dropped_end_entries == 1  # the resized, unwritten episode_ends entry
    if policy == "keep_truncated" and rep.interrupted_rows >= 2:
        assert rep.salvaged_rows == rep.interrupted_rows
    else:
        assert rep.salvaged_rows == 0
    found = check_store(path, reported)
    assert max(found) == max(reported) + (1 if rep.salvaged_rows else 0)
    with ReplayStore.open(path, "a", on_crash=policy) as store:  # the repaired store takes new episodes
        store.add_episode(episode_of(100), EpisodeMeta(seed=100))
    assert 100 in check_store(path, reported | {100})
