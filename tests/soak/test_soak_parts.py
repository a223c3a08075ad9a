"""The soak's parts that need no graph: the observer's event log, the RSS / FD trend, the supervisor's restart and
signal, filling a small file system, and the recorder's injected ENOSPC (the store stays clean)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.soak_report import FaultRecord, SoakReport, judge, summary_rows
from benchmarks.soak_watch import EventLog, ResourceSampler, fill, mount_small_fs, proc_sample, unmount
from robot_rl.cli.supervisor import NodeSpec, Supervisor
from robot_rl.config import ConfigError, load_config
from robot_rl.data.errors import WriterError
from robot_rl.data.integrity import verify
from robot_rl.data.layout import EpisodeMeta
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode
from robot_rl.hardware.deadline import wait_until
from robot_rl.testing.faults import FAULT_ENOSPC_ENV, install_enospc


def test_event_log_reads_incrementally_and_answers_queries(tmp_path):
    path = tmp_path / "events.jsonl"
    lines = [{"t": 1.0, "k": "cmd", "age": 0.05}, {"t": 2.0, "k": "halted", "v": False},
             {"t": 3.0, "k": "halted", "v": True}, {"t": 3.5, "k": "moved"}, {"t": 4.0, "k": "cmd", "age": 0.9},
             {"t": 4.1, "k": "exec", "age": 0.3, "send": 11}, {"t": 4.4, "k": "episode", "seed": -1, "w": 99.5},
             {"t": 4.5, "k": "episode", "seed": 7, "w": 100.0}, {"t": 4.6, "k": "intervening", "v": True},
             {"t": 4.7, "k": "exec", "age": 0.1, "send": 12}, {"t": 4.8, "k": "exec", "age": 0.1, "send": 11}]
    text = "".join(json.dumps(x) + "\n" for x in lines)
    path.write_text(text[:-10])  # the last line is half written
    log = EventLog(path)
    log.refresh()
    assert log.cmd_ages == [0.05, 0.9] and log.exec_sends == [11, 12], "the half-written echo waits"
    with open(path, "a") as f:
        f.write(text[-10:])
    log.refresh()
    assert log.exec_sends == [11, 12, 11] and log.episode_seeds == [-1, 7]
    assert log.seeds_between(99.0, 101.0) == {7}, "-1: a robot node started"
    assert not log.seeds_between(0, 1)
    assert log.first("cmd", 1.0) == 4.0 and log.first("cmd", 4.0) is None
    assert log.first_halt(0.0) == 3.0 and log.first_halt(3.0) is None
    assert log.count("moved", 3.0, 4.0) == 1 and log.count("moved", 3.6, 4.0) == 0
    assert log.max_exec_age == pytest.approx(0.3), "the age that counts is of what the robot executed"
    assert log.replayed_executions() == 1, "send time 11 was executed twice"
    assert log.value_at("intervening", 4.5) is None and log.value_at("intervening", 4.6) is True
    assert log.value_at("halted", 2.5) is False and log.value_at("halted", 9.0) is True
    assert log.acks(0.0, 5.0) == [7] and log.acks(4.5, 5.0) == []


def test_event_log_orders_each_kind_by_publication(tmp_path):
    """The observer may handle a sample after one published later (a retransmission); the log files each event
    at its publish time, with its value."""
    path = tmp_path / "events.jsonl"
    lines = [{"t": 4.0, "k": "halted", "v": False}, {"t": 3.0, "k": "halted", "v": True},
             {"t": 5.0, "k": "episode", "seed": 2, "w": 50.0}, {"t": 4.5, "k": "episode", "seed": 1, "w": 45.0}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    log = EventLog(path)
    log.refresh()
    assert log.times["halted"] == [3.0, 4.0] and log.halted == [True, False]
    assert log.first_halt(0.0) == 3.0 and log.first_unhalt(3.0) == 4.0
    assert log.episode_seeds == [1, 2] and log.episode_wall == [45.0, 50.0]


class _Sup:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def pid(self, name: str) -> int | None:
        return self.pids.get(name)


def test_a_kill_waits_until_its_target_lived_long_enough_to_judge():
    """Kills are deferred (other faults first) until the incarnation they end has been sampled warmup + track."""
    from benchmarks.soak_run import SoakRun

    run = SoakRun.__new__(SoakRun)  # only the schedule's choice: no graph
    run.sc = load_config(["bench.soak.warmup_s=10", "bench.soak.min_track_s=20", "bench.soak.sample_s=1"]).bench.soak
    run.sup = _Sup({"robot": 1, "actor": 2})
    run.sampler = ResourceSampler(lambda: {}, 1.0)
    run.sampler.samples = {("robot", 1): [(0.0, 1.0, 1), (40.0, 1.0, 1)], ("actor", 2): [(0.0, 1.0, 1), (5.0, 1, 1)]}
    order = ["kill_actor", "kill_robot", "pause"]
    assert run._next_fault(order) == "kill_robot" and order == ["kill_actor", "pause"], "robot: 40 s >= 31 s"
    assert run._next_fault(order) == "pause" and order == ["kill_actor"]
    assert run._next_fault(order) is None and order == ["kill_actor"], "actor: only 5 s of samples"
    run.sampler.samples[("actor", 2)].append((31.0, 1.0, 1))
    assert run._next_fault(order) == "kill_actor" and not order


def test_growth_compares_early_and_late_samples_of_each_incarnation():
    s = ResourceSampler(lambda: {}, 1.0)
    start_up = [(float(t), 50.0 + t, 3) for t in range(10)]  # imports and models: ignored
    s.samples[("actor", 1)] = start_up + [(float(t), 100.0 + (50.0 if t >= 90 else 0.0), 20 + (t >= 90) * 9)
                                          for t in range(10, 101)]
    s.samples[("robot", 2)] = [(float(t), 200.0, 15) for t in range(50)]
    grown, short = s.growth(min_track_s=60, warmup_s=10)
    assert grown.node == "actor" and grown.assessed and grown.rss_growth_mb == 50.0 and grown.fd_growth == 9
    assert short.node == "robot" and not short.assessed and short.rss_growth_mb == 0.0
    rss, fds = proc_sample(os.getpid())
    assert rss > 1 and fds >= 3
    assert proc_sample(2**22 + 12345) is None


def test_supervisor_restarts_a_killed_node_and_keeps_count(tmp_path):
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    sup = Supervisor([NodeSpec("a", sleeper), NodeSpec("b", sleeper)], output=open(os.devnull, "w"),  # noqa: SIM115
                     report=lambda m: None)
    try:
        sup.start()
        first = sup.pid("a")
        with pytest.raises(RuntimeError, match="still running"):
            sup.restart("a")
        assert sup.signal("a", signal.SIGKILL) == first
        assert wait_until(lambda: sup.pid("a") is None, 10.0)
        second = sup.restart("a")
        assert second != first and sup.pid("a") == second and sup.pid("b") is not None
        assert [(e.name, e.returncode) for e in sup.exits] == [("a", -signal.SIGKILL)]
        sup.signal("b", signal.SIGSTOP)  # a paused node still stops (continued first)
    finally:
        sup.stop()
    assert sup.pid("a") is None and sup.pid("b") is None and len(sup.exits) == 3


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root")
def test_fill_leaves_no_space_and_frees_it(tmp_path):
    mnt = tmp_path / "small"
    what = mount_small_fs(mnt, 16, tmp_path / "small.img")
    if not what:
        pytest.skip("no file system can be mounted here")
    try:
        assert os.path.ismount(mnt), what
        written = fill(mnt / "filler")
        assert written >= 8 << 20
        with pytest.raises(OSError, match="No space"), open(mnt / "more", "wb") as f:
            f.write(b"x" * 65536)
            f.flush()
            os.fsync(f.fileno())
        (mnt / "filler").unlink()
        (mnt / "more").write_bytes(b"x" * 65536)
    finally:
        unmount(mnt)
    assert not os.path.ismount(mnt)


def test_injected_enospc_fails_the_writer_and_the_store_stays_clean(tmp_path):
    schema = RowSchema(cameras=("wrist",), image_hw=(8, 8), state_dim=5, action_dim=7)
    path = tmp_path / "store.zarr"
    flag = tmp_path / "full"
    undo = install_enospc(flag)
    try:
        _fill_and_recover(schema, path, flag)
    finally:
        undo()


def _fill_and_recover(schema: RowSchema, path: Path, flag: Path) -> None:
    store = ReplayStore.create(path, schema, chunk_len=4)
    store.add_episode(episode(schema, 6, 0), EpisodeMeta(seed=0))
    writer = EpisodeWriter(store, queue_size=64).start()
    cols = episode(schema, 6, 1)
    writer.begin_episode(seed=1)
    flag.touch()  # the disk fills mid-episode
    for t in range(6):
        writer.put({k: v[t] for k, v in cols.items()})
    writer.end_episode()
    with pytest.raises(WriterError, match="No space left"):
        assert wait_until(lambda: writer.flush(0.1) and False, 10.0)
    flag.unlink()
    with pytest.raises(WriterError):
        writer.close()
    report = verify(path)
    assert report.ok and report.n_episodes == 1, report.problems
    with ReplayStore.open(path, "a") as again:  # the next writer repairs and goes on
        again.add_episode(cols, EpisodeMeta(seed=1))
    with ReplayStore.open(path, "r") as reader:
        assert reader.n_episodes == 2 and np.array_equal(reader.read_episode(1)["action"], cols["action"])


def test_the_soak_s_start_up_hook_fails_store_writes_in_a_graph_process(tmp_path):
    """What a soak without root puts on the graph's PYTHONPATH: a fresh process's store writes fail with ENOSPC
    while the flag exists, and work again once it is gone."""
    schema = RowSchema(cameras=(), state_dim=2, action_dim=7)
    ReplayStore.create(tmp_path / "s.zarr", schema, chunk_len=4).close()
    flag = tmp_path / "full"
    flag.touch()
    code = ("import sys, numpy as np\n"
            "from robot_rl.data.replay_store import ReplayStore\n"
            "from robot_rl.data.layout import EpisodeMeta\n"
            "s = ReplayStore.open(sys.argv[1], 'a')\n"
            "rows = {k: np.zeros((3, *f.shape), f.dtype) for k, f in s.schema.fields.items()}\n"
            "try:\n    s.add_episode(rows, EpisodeMeta(seed=0))\nexcept OSError as e:\n    print('ENOSPC', e.errno)\n"
            "else:\n    print('written', s.n_episodes)\n")
    inject = Path(__file__).resolve().parents[2] / "benchmarks" / "soak_inject"
    env = {**os.environ, FAULT_ENOSPC_ENV: str(flag),
           "PYTHONPATH": os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")])}
    run = [sys.executable, "-c", code, str(tmp_path / "s.zarr")]
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split() == ["ENOSPC", "28"]
    flag.unlink()
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.split() == ["written", "1"]


def test_soak_config_names_the_bad_key():
    assert load_config(["bench.soak.minutes=5"]).bench.soak.minutes == 5
    for bad, key in (("bench.soak.faults=[kill_everything]", "bench.soak.faults"),
                     ("bench.soak.minutes=0", "bench.soak.minutes"),
                     ("bench.soak.gap_min_s=30", "bench.soak.gap_min_s"),
                     ("bench.soak.drop_fraction=1.5", "bench.soak.drop_fraction")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config([bad])


def test_judge_names_each_broken_property_and_the_table_sums_up():
    cfg = load_config([])
    ok = FaultRecord("kill_actor", "actor", 10.0, stop_s=0.35, recover_s=12.0, survived=True)
    life = {"start_w": 0.0, "end_w": 1.0, "end": "SIGKILL", "started": 3, "committed": 2, "lost": 1}
    growth = {"node": "teleop", "pid": 1, "lifetime_s": 90.0, "samples": 45, "rss_early_mb": 300.0,
              "rss_late_mb": 301.0, "fd_early": 18, "fd_late": 18, "assessed": True, "rss_growth_mb": 1.0,
              "fd_growth": 0}
    good = SoakReport(1.0, faults=[ok], actor_lives=[life], growth=[growth], verify_ok=True, max_command_age_s=0.25,
                      learner_resumes=[{"checkpoint_floor": 100, "resumed_at": 100}])
    judge(good, cfg)
    assert good.ok, good.violations
    rows = {r["item"]: r for r in summary_rows(good)}
    assert rows["total"]["injected"] == rows["total"]["survived"] == 1 and rows["kill_actor"]["episodes_lost"] == 1
    assert rows["process teleop"]["rss_growth_mb"] == 1.0

    bad = SoakReport(1.0, faults=[FaultRecord("kill_actor", "actor", 10.0, stop_s=5.0, survived=False,
                                              moved_while_halted=2)],
                     actor_lives=[life | {"lost": 2}], growth=[growth | {"rss_growth_mb": 500.0}], verify_ok=False,
                     verify_problems=["data/action: bad chunk"], max_command_age_s=3.0, committed_lost=1,
                     learner_resumes=[{"checkpoint_floor": 100, "resumed_at": 0}],
                     unplanned_exits=["node camera died (signal 11)", "node actor died (exit code 1) during disk_full"],
                     executed_twice=3)
    bad.faults.append(FaultRecord("kill_robot", "robot", 20.0, survived=True, behaved=False,
                                  behaviour="the interrupted episode runs again", note=" seed 4 did NOT run again"))
    bad.growth.append(growth | {"node": "camera", "assessed": False})
    judge(bad, cfg)
    text = "\n".join(bad.violations)
    for expected in ("no command within", "arm halted after 5.0", "moved 2x while halted", "3.000 s old",
                     "1 committed episodes lost", "lost 2 episodes", "did not resume", "does not verify",
                     "grew 500.0 MB", "node camera died", "during disk_full", "3 commands were executed more than once",
                     "expected 'the interrupted episode runs again': seed 4 did NOT run again",
                     "no incarnation of camera lived"):
        assert expected in text, f"{expected!r} not in {bad.violations}"
