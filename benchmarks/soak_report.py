"""What the soak reports (:mod:`benchmarks.soak`): one record per fault, the whole run's figures, the
properties judged against ``bench.soak``'s tolerances, and the table ``robot-rl bench soak`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config import Config


@dataclass
class FaultRecord:
    kind: str
    target: str
    at_s: float  # since the first fault was scheduled
    at_wall: float = 0.0  # wall-clock time of the injection (to match actor lives)
    stop_s: float | None = None  # fault -> the robot reported the arm halted
    recover_s: float | None = None  # fault -> first command after the fault was lifted
    survived: bool = False
    moved_while_halted: int = 0
    note: str = ""
    behaviour: str = ""  # what this fault must lead to beyond recovering (kill_robot, kill_teleop)
    behaved: bool | None = None  # it did; None: the fault missed the moment that behaviour is about
    interrupted: tuple[int, float] | None = None  # kill_robot: (seed, wall-clock ack) of the episode it interrupted
    rerun: bool = False  # kill_robot: that seed was acknowledged again after the restart


@dataclass
class SoakReport:
    minutes: float
    faults: list[FaultRecord] = field(default_factory=list)
    growth: list[dict] = field(default_factory=list)
    unplanned_exits: list[str] = field(default_factory=list)
    actor_lives: list[dict] = field(default_factory=list)  # start/end wall time, end reason, started/committed
    episodes_committed: int = 0
    committed_lost: int = 0  # committed episodes missing or changed afterwards: must stay 0
    in_progress_lost: int = 0
    learner_resumes: list[dict] = field(default_factory=list)
    commands: int = 0  # published by actors
    executed: int = 0  # executed by the robot (echoed on /robot/executed)
    executed_twice: int = 0  # commands the robot executed more than once (by their signed send time): must stay 0
    max_command_age_s: float = 0.0  # oldest observation an executed command acted on, at the observer
    stale_on_wire: int = 0  # commands older than robot.max_command_age_s when seen: the robot refuses them
    verify_ok: bool = False
    verify_problems: list[str] = field(default_factory=list)
    disk: str = ""
    shm_files: list[int] = field(default_factory=list)  # /dev/shm entries (Fast DDS segments) at start, at end
    load: list[float] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def judge(r: SoakReport, cfg: Config) -> None:
    """Fill ``r.violations``: every property the soak checks, against the tolerances in ``bench.soak``."""
    sc = cfg.bench.soak
    v = r.violations
    stop_limit = cfg.robot.watchdog_s + sc.stop_slack_s
    for f in r.faults:
        if not f.survived:
            v.append(f"{f.kind}({f.target}) at {f.at_s:.0f}s: no command within {sc.recover_timeout_s} s")
        if f.kind == "kill_actor" and (f.stop_s is None or f.stop_s > stop_limit):
            v.append(f"kill_actor at {f.at_s:.0f}s: arm halted after {f.stop_s} s (limit {stop_limit:.2f})")
        if f.moved_while_halted:
            v.append(f"{f.kind} at {f.at_s:.0f}s: the arm moved {f.moved_while_halted}x while halted")
        if f.behaved is False:
            v.append(f"{f.kind} at {f.at_s:.0f}s: expected '{f.behaviour}':{f.note}")
    if r.executed_twice:
        v.append(f"{r.executed_twice} commands were executed more than once")
    if r.max_command_age_s > cfg.robot.max_command_age_s + sc.age_slack_s:
        v.append(f"the robot executed a command acting on an observation {r.max_command_age_s:.3f} s old (limit "
                 f"robot.max_command_age_s {cfg.robot.max_command_age_s} + {sc.age_slack_s} s echo slack)")
    if r.committed_lost:
        v.append(f"{r.committed_lost} committed episodes lost or changed")
    # A kill loses at most the episode in progress. A full disk may cost the episode in progress and the one whose
    # rows or commit found no space (the actor learns of it at its next put, by then in its next episode).
    v += [f"actor life ending '{x['end']}' lost {x['lost']} episodes (allowed {x.get('allowed', 1)}: the "
          f"in-progress one, and two per full disk)" for x in r.actor_lives if x["lost"] > x.get("allowed", 1)]
    for x in r.learner_resumes:
        if x["resumed_at"] is None or x["resumed_at"] < x["checkpoint_floor"] or (
                x["checkpoint_floor"] > 0 and x["resumed_at"] == 0):
            v.append(f"learner did not resume from its checkpoint: {x}")
    if not r.verify_ok:
        v.append(f"store does not verify: {r.verify_problems[:5]}")
    judged = {g["node"] for g in r.growth if g["assessed"]}
    v += [f"no incarnation of {node} lived {sc.warmup_s + sc.min_track_s:.0f} s: its RSS / FD growth was not judged"
          for node in dict.fromkeys(g["node"] for g in r.growth) if node not in judged]
    for g in r.growth:
        if g["assessed"] and (g["rss_growth_mb"] > sc.rss_growth_mb or g["fd_growth"] > sc.fd_growth):
            v.append(f"{g['node']} (pid {g['pid']}) grew {g['rss_growth_mb']:.1f} MB RSS / "
                     f"{g['fd_growth']:.0f} FDs over {g['lifetime_s']:.0f} s")
    v += [f"unplanned exit: {e}" for e in r.unplanned_exits]


def summary_rows(r: SoakReport) -> list[dict]:
    """One row per fault kind, a total, then one row per process (RSS / FD growth of its worst incarnation)."""
    rows = []
    kinds = list(dict.fromkeys(f.kind for f in r.faults))
    lost_by_end: dict[str, int] = {}
    for life in r.actor_lives:  # the in-progress episode to the kill that ended the life, the rest to full disks
        lost = life["lost"]
        if life["end"] == "SIGKILL" and lost:
            lost_by_end["kill_actor"] = lost_by_end.get("kill_actor", 0) + 1
            lost -= 1
        key = "disk_full" if life.get("disk_full") else "end"
        lost_by_end[key] = lost_by_end.get(key, 0) + lost

    def worst(values: list[float | None]) -> float | None:
        vals = [v for v in values if v is not None]
        return max(vals) if vals else None

    for kind in kinds:
        fs = [f for f in r.faults if f.kind == kind]
        rows.append({"item": kind, "injected": len(fs), "survived": sum(f.survived for f in fs),
                     "worst_stop_s": worst([f.stop_s for f in fs]),
                     "worst_recovery_s": worst([f.recover_s for f in fs]),
                     "episodes_lost": lost_by_end.get(kind, 0)})
    assessed = [g for g in r.growth if g["assessed"]]
    rows.append({"item": "total", "injected": len(r.faults), "survived": sum(f.survived for f in r.faults),
                 "worst_stop_s": worst([f.stop_s for f in r.faults if f.kind == "kill_actor"]),
                 "worst_recovery_s": worst([f.recover_s for f in r.faults]),
                 "episodes_lost": r.in_progress_lost + r.committed_lost,
                 "rss_growth_mb": worst([g["rss_growth_mb"] for g in assessed]),
                 "fd_growth": worst([g["fd_growth"] for g in assessed])})
    for node in dict.fromkeys(g["node"] for g in r.growth):
        gs = [g for g in r.growth if g["node"] == node]
        ok = [g for g in gs if g["assessed"]]
        rows.append({"item": f"process {node}", "injected": None, "survived": None,
                     "incarnations": len(gs), "assessed": len(ok),
                     "rss_growth_mb": worst([g["rss_growth_mb"] for g in ok]),
                     "fd_growth": worst([g["fd_growth"] for g in ok]),
                     "rss_late_mb": worst([g["rss_late_mb"] for g in gs])})
    return rows


def report_notes(r: SoakReport, cfg: Config) -> list[str]:
    notes = [f"{r.minutes} min of faults; {r.commands} commands published, {r.executed} executed; "
             f"{r.episodes_committed} policy episodes committed, "
             f"{r.in_progress_lost} in-progress episodes lost over {len(r.actor_lives)} actor lives, "
             f"{r.committed_lost} committed episodes lost; store verify {'clean' if r.verify_ok else 'FAILED'}",
             f"stop: fault -> /robot/halted (watchdog {cfg.robot.watchdog_s} s); recovery: fault -> first command "
             f"after the fault was lifted; oldest observation an executed command acted on: "
             f"{r.max_command_age_s:.3f} s "
             f"(camera.max_age_s {cfg.camera.max_age_s}, robot.max_command_age_s {cfg.robot.max_command_age_s}); "
             f"{r.stale_on_wire} commands were older than that on the wire (refused by the robot)",
             f"disk_full: {r.disk}; load average at the end {', '.join(f'{x:.2f}' for x in r.load)}; /dev/shm "
             f"entries (Fast DDS segments) at start / end: {' / '.join(map(str, r.shm_files))}",
             *(f"learner resume: {x}" for x in r.learner_resumes),
             *(f"unplanned exit: {e}" for e in r.unplanned_exits)]
    notes += [f"VIOLATION: {v}" for v in r.violations] or ["no violations"]
    return notes
