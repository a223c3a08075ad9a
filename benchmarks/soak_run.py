"""The soak's run (see :mod:`benchmarks.soak` for what it injects and checks): the graph under a
:class:`~robot_rl.cli.supervisor.Supervisor`, the observer and relay processes, the fault schedule, and the
accounting at the end (store, episodes per actor life, learner resumes, RSS / FD growth, violations)."""

from __future__ import annotations

import bisect
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.soak_report import FaultRecord, SoakReport, judge
from benchmarks.soak_watch import EventLog, ResourceSampler, fill
from robot_rl.cli.supervisor import NodeSpec, Supervisor, graph_env, graph_specs
from robot_rl.config import Config
from robot_rl.hardware.deadline import wait_until
from robot_rl.testing.faults import FAULT_ENOSPC_ENV

PAUSE_TARGETS = ("camera", "robot", "actor")
HEALTHY_WINDOW_S = 2.0  # healthy: a command reached the robot within this long, and every node runs
RESTART_BACKOFF_S = 2.0
RESET_STATE_S = 0.1  # the robot publishes the state a reset moved it to this close before its acknowledgement
STEPS_LEFT = 8  # the robot is killed mid-episode: at least this many of the episode's steps still to run

INJECT_DIR = Path(__file__).resolve().parent / "soak_inject"  # sitecustomize.py: the store's ENOSPC stand-in


class SoakRun:
    """One soak: start the observer (and the frame relay), the graph, a /proc sampler; inject faults until
    ``bench.soak.minutes`` are over; stop everything; account and judge. :meth:`run` returns the report."""

    def __init__(self, cfg: Config, overrides: list[str], work: Path, mounted: str, log) -> None:
        self.cfg, self.sc, self.work, self.mounted, self._print = cfg, cfg.bench.soak, work, mounted, log
        self.rng = random.Random(self.sc.seed)
        self.store_path = cfg.buffer.path
        self.store_dir = Path(self.store_path).parent
        self.learner_dir = Path(cfg.learner.dir)
        self.relay_on = any(f in self.sc.faults for f in ("delay_frames", "drop_frames"))
        env = {**graph_env(cfg.ros.discovery_range, cfg.ros.package_path), "PYTHONUNBUFFERED": "1"}
        env["ROS_DOMAIN_ID"] = os.environ.get("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
        self.enospc_flag = work / "enospc"
        if "disk_full" in self.sc.faults and not mounted:  # no file system to fill: fail the store's writes
            env[FAULT_ENOSPC_ENV] = str(self.enospc_flag)
            env["PYTHONPATH"] = os.pathsep.join([str(INJECT_DIR), env["PYTHONPATH"]])
        self.env = {**os.environ, **env}
        specs = graph_specs(cfg.ros.nodes, overrides)
        if self.relay_on:  # the camera publishes to the relay, the relay on the topics the actor reads
            remaps = [a for n in cfg.camera.names
                      for a in ("-r", f"/cameras/{n}/image_raw:=/soak/cameras/{n}/image_raw")]
            specs = [NodeSpec(s.name, [*s.argv, "--ros-args", *remaps], s.hardware, s.required)
                     if s.name == "camera" else s for s in specs]
        self.graph_log = open(work / "graph.log", "a")  # noqa: SIM115 - closed in run()
        self.sup = Supervisor(specs, env=env, output=self.graph_log, stop_grace_s=cfg.ros.stop_grace_s,
                              report=lambda m: self.graph_log.write(f"[soak] {m}\n"))
        self.events = EventLog(work / "events.jsonl")
        self.helpers: dict[str, subprocess.Popen] = {}
        self.report = SoakReport(self.sc.minutes)
        self.names = [s.name for s in specs]
        self._last_restart: dict[str, float] = {}
        self._planned: dict[str, int] = {}  # node -> exits we caused and have not seen yet
        self._lives: list[dict] = []
        self._seen_exits = 0

    def log(self, msg: str) -> None:
        """To the caller, and into graph.log beside the nodes' output (one timeline to read after a failure)."""
        self._print(msg)
        self.graph_log.write(f"[soak] {msg}\n")
        self.graph_log.flush()

    # ------------------------------------------------------------------ processes
    def _helper(self, mode: str, *args: str, stdin: bool = False) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "robot_rl_ros.soak_nodes", mode, *args, *self._overrides_for_helpers()]
        return subprocess.Popen(cmd, env=self.env, stdout=self.graph_log, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.PIPE if stdin else None, start_new_session=True)

    def _overrides_for_helpers(self) -> list[str]:
        return [f"camera.names=[{','.join(self.cfg.camera.names)}]", f"bench.soak.seed={self.sc.seed}"]

    def pids(self) -> dict[str, int | None]:
        out = {n: self.sup.pid(n) for n in self.names}
        out |= {f"soak_{k}": (p.pid if p.poll() is None else None) for k, p in self.helpers.items()}
        return out

    def _life_start(self) -> None:
        self._lives.append({"start_w": time.time(), "end_w": None, "end": ""})

    def _life_end(self, reason: str) -> None:
        if self._lives and self._lives[-1]["end_w"] is None:
            self._lives[-1].update(end_w=time.time(), end=reason)

    def _tend(self, during: str = "", restart: bool = True) -> None:
        """Account for every node exit since the last call (exits the soak caused are expected; others are
        recorded as unplanned) and restart any node that is down (unless ``restart`` is false)."""
        self.sup.poll()
        for e in self.sup.exits[self._seen_exits:]:
            if self._planned.get(e.name, 0) > 0:
                self._planned[e.name] -= 1
                continue
            what = e.describe() + (f" during {during}" if during else "")
            self.report.unplanned_exits.append(what)
            self.log(f"soak: unplanned: {what}")
            if e.name == "actor":
                self._life_end(f"died ({e.returncode})" + (f" during {during}" if during else ""))
        self._seen_exits = len(self.sup.exits)
        if not restart:
            return
        for name in self.names:
            if self.sup.pid(name) is None and time.monotonic() - self._last_restart.get(name, -1e9) > RESTART_BACKOFF_S:
                self._last_restart[name] = time.monotonic()
                self.sup.restart(name)
                if name == "actor":
                    self._life_start()

    def healthy(self) -> bool:
        self._tend()
        self.events.refresh()
        last = self.events.first("cmd", time.monotonic() - HEALTHY_WINDOW_S)
        return last is not None and all(self.sup.pid(n) is not None for n in self.names)

    def _hold(self, seconds: float, until=lambda: False) -> None:
        """Keep a fault in place for ``seconds`` (its duration, not synchronisation), or until ``until()``."""
        wait_until(lambda: until(), seconds, poll_s=0.1)

    # ------------------------------------------------------------------ the run
    def run(self) -> SoakReport:
        r = self.report
        r.shm_files.append(_shm_files())
        try:
            (self.work / "events.jsonl").unlink(missing_ok=True)
            self.helpers["observer"] = self._helper("observer", str(self.work / "events.jsonl"))
            if self.relay_on:
                self.helpers["relay"] = self._helper("relay", stdin=True)
            self.sup.start()
            self._life_start()
            sampler = self.sampler = ResourceSampler(self.pids, self.sc.sample_s).start()
            try:
                if not wait_until(self.healthy, self.cfg.ros.startup_timeout_s * 3, poll_s=0.2):
                    raise RuntimeError(f"the graph never became healthy; see {self.work / 'graph.log'}")
                self.log(f"soak: graph healthy; {self.sc.minutes} min of faults from {self.sc.faults}")
                self._schedule()
            finally:
                sampler.stop()
                self._life_end("stopped at the end of the soak")
                self.sup.stop()
                for p in self.helpers.values():
                    if p.poll() is None:
                        p.send_signal(signal.SIGINT)
                for p in self.helpers.values():
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        p.kill()
            self.events.refresh()
            r.growth = [asdict(g) | {"rss_growth_mb": g.rss_growth_mb, "fd_growth": g.fd_growth}
                        for g in sampler.growth(self.sc.min_track_s, self.sc.warmup_s)]
            self._account()
        finally:
            self.graph_log.close()
        r.load = list(os.getloadavg())
        r.shm_files.append(_shm_files())
        judge(r, self.cfg)
        return r

    def _schedule(self) -> None:
        t0 = time.monotonic()
        deadline = t0 + self.sc.minutes * 60
        order: list[str] = []
        failed_in_a_row = 0
        self.first_ends = self._ends()
        while time.monotonic() < deadline:
            if not order:
                order = self.rng.sample(list(self.sc.faults), len(self.sc.faults))
            gap = self.rng.uniform(self.sc.gap_min_s, self.sc.gap_max_s)
            wait_until(lambda: self._tend() or time.monotonic() >= deadline, gap, poll_s=0.2)  # the random moment
            kind = wait_until(lambda o=order: self._tend() or self._next_fault(o) or time.monotonic() >= deadline,
                              deadline - time.monotonic(), poll_s=0.5)
            if time.monotonic() >= deadline or not isinstance(kind, str):
                break
            if not wait_until(self.healthy, self.sc.recover_timeout_s, poll_s=0.2):
                self.log("soak: graph not healthy before the next fault; stopping the schedule")
                break
            rec = self._inject(kind, t0)
            self.report.faults.append(rec)
            self.log(f"soak: {rec.kind}({rec.target}) at {rec.at_s:.0f}s: stop {rec.stop_s}, recovered "
                     f"{rec.recover_s}, {'survived' if rec.survived else 'NOT SURVIVED'} {rec.note}")
            failed_in_a_row = 0 if rec.survived else failed_in_a_row + 1
            if failed_in_a_row >= 2:
                break

    def _next_fault(self, order: list[str]) -> str | None:
        """Take the first fault in ``order`` that may come now. A kill waits until its target's incarnation has been
        sampled for ``warmup_s + min_track_s`` (and a sample to spare), so every incarnation a kill ends is long
        enough to judge its RSS / FD growth; other faults go first meanwhile. None while every one must wait."""
        need = self.sc.warmup_s + self.sc.min_track_s + self.sc.sample_s
        for i, kind in enumerate(order):
            target = kind.removeprefix("kill_")
            pid = self.sup.pid(target) if kind.startswith("kill_") else None
            if not kind.startswith("kill_") or (pid is not None and self.sampler.tracked_s(target, pid) >= need):
                return order.pop(i)
        return None

    def _inject(self, kind: str, t0: float) -> FaultRecord:
        sc, ev = self.sc, self.events
        target = {"pause": self.rng.choice(PAUSE_TARGETS)}.get(kind, kind.removeprefix("kill_"))
        if kind == "kill_learner":  # a checkpoint to resume from first
            wait_until(lambda: (self.learner_dir / "checkpoint.pt").exists(), sc.recover_timeout_s, poll_s=0.2)
        learner_before = self._learner_records()  # read before the moment is awaited: the kill follows it at once
        ends_before = self._ends()
        if kind == "kill_actor":  # mid-episode, so the watchdog's stop is what gets measured
            wait_until(self._commanding, sc.recover_timeout_s, poll_s=0.02)
        if kind == "kill_robot":  # mid-episode with steps to go: the actor must run that episode again
            wait_until(lambda: self._commanding(steps_left=STEPS_LEFT), sc.recover_timeout_s, poll_s=0.02)
        took_over = False
        if kind == "kill_teleop":  # during a take-over: the arm must hold until a new teleop node says who drives
            took_over = bool(wait_until(lambda: self._commanding(steps_left=STEPS_LEFT) and ev.value_at(
                "intervening", time.monotonic()), sc.recover_timeout_s, poll_s=0.02))
        t = time.monotonic()
        rec = FaultRecord(kind, target, at_s=t - t0, at_wall=time.time())
        grace = 0.0
        if kind.startswith("kill_"):
            self._planned[target] = self._planned.get(target, 0) + 1
            self.sup.signal(target, signal.SIGKILL)
            wait_until(lambda: self.sup.pid(target) is None, 10.0, poll_s=0.02)
            if target == "actor":
                self._life_end("SIGKILL")
            self._tend(during=kind, restart=False)
            if target == "actor":  # the watchdog's stop, before the new actor can command
                wait_until(lambda: (ev.refresh(), ev.first_halt(t))[1],
                           self.cfg.robot.watchdog_s + sc.stop_slack_s + 5.0, poll_s=0.02)
            self._last_restart[target] = time.monotonic()
            self.sup.restart(target)
            if target == "actor":
                self._life_start()
            grace = self.cfg.camera.max_age_s + 0.5 if target == "camera" else 0.0
        elif kind == "pause":
            self.sup.signal(target, signal.SIGSTOP)
            self._hold(sc.fault_s)
            self.sup.signal(target, signal.SIGCONT)
        elif kind in ("delay_frames", "drop_frames"):
            relay = self.helpers["relay"]
            assert relay.stdin is not None
            relay.stdin.write(f"delay {sc.delay_s}\n" if kind == "delay_frames" else f"drop {sc.drop_fraction}\n")
            relay.stdin.flush()
            self._hold(sc.fault_s)
            relay.stdin.write("pass\n")
            relay.stdin.flush()
        elif kind == "disk_full":
            rec.note = self._disk_full()
        t_lift, t_lift_wall = time.monotonic(), time.time()

        def recovered() -> float | None:
            self._tend(during=kind)
            ev.refresh()
            after = t_lift + grace
            if kind == "kill_robot":  # commands count once the new robot publishes (none can come from the dead one)
                after = ev.first("state", t) or float("inf")
            return ev.first("cmd", after)

        t_cmd = wait_until(recovered, sc.recover_timeout_s, poll_s=0.05)
        if kind == "kill_learner":
            resumed = wait_until(lambda: [x for x in self._learner_records() if x["time"] >= t_lift_wall],
                                 sc.recover_timeout_s, poll_s=0.2)
            self._learner_resume(learner_before, resumed[0] if resumed else None, rec)
            if resumed and t_cmd is not None:  # recovered: the learner published again, from its checkpoint
                t_cmd = max(t_cmd, t_lift + resumed[0]["time"] - t_lift_wall)
        ev.refresh()
        halt = ev.first_halt(t)
        if kind == "kill_actor" and halt is None and self._between_episodes(t):
            rec.stop_s, rec.note = 0.0, "killed between episodes: the reset had disarmed the watchdog, the arm was idle"
        if halt is not None and t_cmd is not None and halt < t_cmd and target != "robot":
            rec.stop_s = halt - t
            # Held until the robot runs a command again (it reports halted=False; the observer may see a fresh
            # actor's first commands late: discovery matches peers one pair at a time) or resets the episode
            # (a reset moves the arm home on purpose; the robot publishes that state just before its ack).
            ends = (ev.first("cmd", halt), ev.first("reset", halt), ev.first_unhalt(halt), t_cmd,
                    None if (ack := ev.first("episode", halt)) is None else ack - RESET_STATE_S)
            end = min(x for x in ends if x is not None)
            rec.moved_while_halted = ev.count("moved", halt, end)
        if t_cmd is not None:
            rec.recover_s = t_cmd - t
        rec.survived = t_cmd is not None
        if kind == "kill_teleop":
            rec.behaviour = "the arm halts and holds after the teleop node dies during a take-over"
            if took_over:
                self._judge_teleop_hold(rec, t)
            else:
                rec.note += f" no take-over within {sc.recover_timeout_s} s: killed anyway"
        if kind == "kill_robot":
            ev.refresh()
            n = bisect.bisect_right(ev.times["episode"], t)
            before = [(s, w) for s, w in zip(ev.episode_seeds[:n], ev.episode_wall[:n], strict=True) if s >= 0]
            rec.behaviour = "the episode the robot restart interrupted runs again"
            rec.interrupted = before[-1] if before else None  # whether it ran again is judged at the end
        ends_after = self._ends()
        if ends_before is not None and ends_after is not None and list(ends_after[:len(ends_before)]) != list(
                ends_before):
            self.report.committed_lost += len(ends_before)
            rec.note += f" committed episodes changed: {list(ends_before)} -> {list(ends_after)}"
        return rec

    def _judge_teleop_hold(self, rec: FaultRecord, t: float) -> None:
        """The human's last command goes stale (``teleop.spacemouse.max_age_s``), the actor holds, the watchdog
        halts the arm; it must not move until commands come again (the new teleop node says nobody intervenes)."""
        ev, limit = self.events, (self.cfg.teleop.spacemouse.max_age_s + self.cfg.robot.watchdog_s
                                  + self.sc.stop_slack_s)
        halt = wait_until(lambda: (ev.refresh(), ev.first_halt(t))[1], t + limit + 1.0 - time.monotonic(), 0.02)
        if halt is None or halt - t > limit:
            rec.behaved = False
            rec.note += f" no halt within {limit:.2f} s of the kill (first: {None if halt is None else halt - t})"
            return

        def resumed() -> float | None:  # the first sign of commands again (each event is timed by its publication,
            ev.refresh()                # so the command comes before its echo, the halted=False and the motion)
            signs = [x for x in (ev.first("cmd", halt), ev.first("exec", halt), ev.first_unhalt(halt)) if x]
            return min(signs) if signs else None

        back = wait_until(resumed, self.sc.recover_timeout_s, 0.05)
        rec.stop_s, rec.recover_s = halt - t, None if back is None else back - t
        rec.moved_while_halted = ev.count("moved", halt, back if back is not None else time.monotonic())
        rec.behaved = rec.moved_while_halted == 0 and back is not None

    def _commanding(self, steps_left: int = 0) -> bool:
        """The actor is mid-episode: its last command is recent and came after its last reset; with ``steps_left``,
        at most ``task.max_steps - steps_left`` commands of the episode have been seen."""
        ev = self.events
        ev.refresh()
        now = time.monotonic()
        last = {k: max(ev.times[k], default=-1.0) for k in ("cmd", "reset", "episode")}
        start = max(last["reset"], last["episode"])
        if not (last["cmd"] > start and now - last["cmd"] < 0.2):
            return False
        return not steps_left or ev.count("cmd", start, now + 1.0) <= self.cfg.task.max_steps - steps_left

    def _between_episodes(self, t: float) -> bool:
        """The actor was resetting at ``t``: its last command came before its last reset request / acknowledgement
        (the robot disarms its watchdog on a reset, so no halt follows; nothing moves the arm)."""
        ev = self.events
        last = {k: max((x for x in ev.times[k] if x <= t), default=-1.0) for k in ("cmd", "reset", "episode")}
        return max(last["reset"], last["episode"]) > last["cmd"] and ev.count("moved", t, t + 5.0) == 0

    def _disk_full(self) -> str:
        filler = self.store_dir / "soak-filler"
        if self.mounted:
            written = fill(filler)
            how = f"{self.mounted} filled ({written >> 20} MB filler)"
        else:
            self.enospc_flag.touch()
            how = "injected ENOSPC (recorder hook)"
        def holding() -> bool:  # the actor's recording failed: it publishes nothing until the store opens again
            self.events.refresh()
            return self.events.first("cmd", time.monotonic() - 1.0) is None

        self._hold(3 * self.sc.fault_s, until=lambda: self.sup.pid("actor") is None or holding())
        if self.sup.pid("actor") is not None and holding():
            self._hold(self.sc.fault_s)  # full a while longer: the actor keeps holding, retrying the store
        held, actor_died = holding(), self.sup.pid("actor") is None
        filler.unlink(missing_ok=True)
        self.enospc_flag.unlink(missing_ok=True)
        if actor_died:
            return how + "; the actor exited on it"
        return how + ("; the actor held (no commands) and kept running" if held else
                      "; the actor kept commanding (no write failed while the disk was full)")

    # ------------------------------------------------------------------ learner and store
    def _learner_records(self) -> list[dict]:
        path = self.learner_dir / "metrics.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line being written
                out.append(json.loads(line))
        return out

    def _learner_resume(self, before: list[dict], first_after: dict | None, rec: FaultRecord) -> None:
        every = self.cfg.learner.checkpoint_every
        last = before[-1]["updates"] if before else 0
        floor = last // every * every
        res = {"updates_before_kill": last, "checkpoint_floor": floor,
               "resumed_at": None if first_after is None else first_after["updates"],
               "version_before": before[-1]["version"] if before else 0,
               "version_after": None if first_after is None else first_after["version"]}
        self.report.learner_resumes.append(res)
        rec.note = f"learner {last} updates before the kill, resumed at {res['resumed_at']}"

    def _ends(self) -> list[int] | None:
        from robot_rl.data.replay_store import ReplayStore

        for _ in range(20):
            try:
                with ReplayStore.open(self.store_path, "r") as store:
                    return [int(x) for x in store.episode_ends]
            except Exception:  # the writer between two writes of its metadata: read again
                time.sleep(0.05)
        return None

    def _policy_episodes(self) -> list[float]:
        """wall_start of every committed policy episode."""
        from robot_rl.data.layout import EpisodeSource
        from robot_rl.data.replay_store import ReplayStore

        with ReplayStore.open(self.store_path, "r") as store:
            meta = store.meta()
        return [float(w) for w, s in zip(meta["wall_start"], meta["source"], strict=True)
                if int(s) == int(EpisodeSource.policy)]

    def _account(self) -> None:
        from robot_rl.data.integrity import verify

        r = self.report
        v = verify(self.store_path)
        r.verify_ok, r.verify_problems = v.ok, [str(p) for p in v.problems]
        ends = self._ends() or []
        if self.first_ends is not None and ends[:len(self.first_ends)] != self.first_ends:
            r.committed_lost += len(self.first_ends)
        try:
            starts = self._policy_episodes()
        except Exception as exc:  # a store that does not open: verify said why; count nothing as committed
            starts = []
            r.verify_problems.append(f"reading episode metadata: {exc!r}")
        r.episodes_committed = len(starts)
        for life in self._lives:
            hi = life["end_w"] or time.time()
            started = self.events.seeds_between(life["start_w"], hi)
            committed = sum(life["start_w"] <= w <= hi for w in starts)
            disk = sum(f.kind == "disk_full" and life["start_w"] <= f.at_wall <= hi for f in r.faults)
            life |= {"started": len(started), "committed": committed, "lost": max(0, len(started) - committed),
                     "disk_full": disk, "allowed": 1 + 2 * disk}
            r.in_progress_lost += life["lost"]
        r.actor_lives = self._lives
        self._judge_reruns(r)
        ev, limit = self.events, self.cfg.robot.max_command_age_s
        r.commands, r.executed, r.max_command_age_s = len(ev.cmd_ages), len(ev.times["exec"]), ev.max_exec_age
        r.executed_twice = ev.replayed_executions()
        r.stale_on_wire = sum(a > limit for a in ev.cmd_ages) if limit else 0
        r.disk = self.mounted or "injected ENOSPC (robot_rl.testing.faults)"


    def _judge_reruns(self, r) -> None:
        """Each robot kill's interrupted episode (seed s, acknowledged at wall time w): it either had finished before
        the kill (committed with a start before it) or it was acknowledged again after the restart; not both."""
        from robot_rl.data.layout import EpisodeSource
        from robot_rl.data.replay_store import ReplayStore

        try:
            with ReplayStore.open(self.store_path, "r") as store:
                meta = store.meta()
        except Exception:  # verify has said why
            return
        policy = [(int(s), float(w)) for s, w, src in zip(meta["seed"], meta["wall_start"], meta["source"],
                                                         strict=True) if int(src) == int(EpisodeSource.policy)]
        ev = self.events
        ev.refresh()
        for f in r.faults:
            if f.kind != "kill_robot" or f.interrupted is None:
                continue
            seed, acked = f.interrupted
            # From the whole log, not at recovery: the observer matches the restarted robot's latched
            # /robot/episode late (discovery pairs peers one at a time), often after the actor's first command.
            after = [s for s, w in zip(ev.episode_seeds, ev.episode_wall, strict=True) if w > f.at_wall and s >= 0]
            f.rerun = bool(after) and after[0] == seed
            finished = any(s == seed and acked - 2.0 <= w < f.at_wall for s, w in policy)
            f.behaved = f.rerun != finished
            f.note += (f" episode (seed {seed}) had finished before the kill" if finished else
                       f" the interrupted episode (seed {seed}) ran again" if f.rerun else
                       f" the interrupted episode (seed {seed}) did NOT run again")


def _shm_files() -> int:
    """Entries in /dev/shm: Fast DDS keeps its shared-memory segments there; SIGKILLed nodes must not leave
    a growing pile (informative only: other DDS users on the machine share the directory)."""
    try:
        return len(os.listdir("/dev/shm"))
    except OSError:
        return -1
