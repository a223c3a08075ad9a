"""What the fault-injection soak (:mod:`benchmarks.soak`) watches, without ROS: the observer process's event
log (JSON lines written by ``robot_rl_ros.soak_nodes observer``), RSS and open file descriptors of every process
incarnation (from /proc), and the small file system it fills to play a full disk."""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class EventLog:
    """The observer's events, read incrementally from its file. Times are when each sample was published, in
    CLOCK_MONOTONIC seconds (the observer and this process share the clock), kept sorted per kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pos = 0
        self._partial = ""
        self.times: dict[str, list[float]] = {k: [] for k in ("cmd", "exec", "moved", "state", "halted", "episode",
                                                              "reset", "intervening")}
        self.halted: list[bool] = []  # value of each "halted" event
        self.intervening: list[bool] = []  # value of each "intervening" event
        self.exec_sends: list[int] = []  # signed send time of each executed command (-1: none)
        self.episode_seeds: list[int] = []  # seed of each "episode" event
        self.episode_wall: list[float] = []
        self.cmd_ages: list[float] = []  # per command on the wire (the robot refuses the stale ones)
        self.max_exec_age = 0.0  # per command the robot executed

    def refresh(self) -> None:
        if not self.path.exists():
            return
        with open(self.path) as f:
            f.seek(self._pos)
            text = f.read()
            self._pos = f.tell()
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        for line in lines:
            if not line:
                continue
            e = json.loads(line)
            k = e["k"]
            ts = self.times.setdefault(k, [])
            i = bisect.bisect_right(ts, e["t"])  # publish order: samples of one kind can be handled out of it
            ts.insert(i, e["t"])
            if k == "cmd":
                self.cmd_ages.append(float(e["age"]))
            elif k == "exec":
                self.max_exec_age = max(self.max_exec_age, float(e["age"]))
                self.exec_sends.insert(i, int(e.get("send", -1)))
            elif k == "halted":
                self.halted.insert(i, bool(e["v"]))
            elif k == "intervening":
                self.intervening.insert(i, bool(e["v"]))
            elif k == "episode":
                self.episode_seeds.insert(i, int(e["seed"]))
                self.episode_wall.insert(i, float(e["w"]))

    def first(self, kind: str, after: float) -> float | None:
        ts = self.times.get(kind, [])
        i = bisect.bisect_right(ts, after)
        return ts[i] if i < len(ts) else None

    def count(self, kind: str, lo: float, hi: float) -> int:
        ts = self.times.get(kind, [])
        return bisect.bisect_left(ts, hi) - bisect.bisect_right(ts, lo)

    def first_halt(self, after: float) -> float | None:
        ts = self.times["halted"]
        for i in range(bisect.bisect_right(ts, after), len(ts)):
            if self.halted[i]:
                return ts[i]
        return None

    def first_unhalt(self, after: float) -> float | None:
        ts = self.times["halted"]
        for i in range(bisect.bisect_right(ts, after), len(ts)):
            if not self.halted[i]:
                return ts[i]
        return None

    def replayed_executions(self) -> int:
        """Commands the robot executed more than once (the same signed send time echoed twice)."""
        sends = [x for x in self.exec_sends if x >= 0]
        return len(sends) - len(set(sends))

    def value_at(self, kind: str, t: float) -> bool | None:
        """The last value of a boolean topic (``halted``, ``intervening``) received at or before ``t``."""
        values = {"halted": self.halted, "intervening": self.intervening}[kind]
        i = bisect.bisect_right(self.times[kind], t)
        return values[i - 1] if i else None

    def acks(self, lo: float, hi: float) -> list[int]:
        """Seeds of the episode acknowledgements received in (lo, hi) (monotonic), -1 (a robot starting) left out."""
        ts = self.times["episode"]
        return [s for s in self.episode_seeds[bisect.bisect_right(ts, lo):bisect.bisect_left(ts, hi)] if s >= 0]

    def seeds_between(self, lo_wall: float, hi_wall: float) -> set[int]:
        """Seeds of the episodes acknowledged in that wall-clock window (not -1: a robot node announcing its start)."""
        return {s for s, w in zip(self.episode_seeds, self.episode_wall, strict=True)
                if lo_wall <= w <= hi_wall and s >= 0}


# ------------------------------------------------------------------------------------------ /proc sampling
def proc_sample(pid: int) -> tuple[float, int] | None:
    """(RSS in MB, open file descriptors) of a live process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return rss_kb / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration, ValueError):
        return None


@dataclass
class Growth:
    """One process incarnation's RSS / FD trend after its start-up: early median against late median."""

    node: str
    pid: int
    lifetime_s: float
    samples: int
    rss_early_mb: float
    rss_late_mb: float
    fd_early: float
    fd_late: float
    assessed: bool

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_late_mb - self.rss_early_mb

    @property
    def fd_growth(self) -> float:
        return self.fd_late - self.fd_early


@dataclass
class ResourceSampler:
    """Samples every process that ``pids()`` names (node name -> pid) every ``period_s`` in a thread."""

    pids: Callable[[], dict[str, int | None]]
    period_s: float
    samples: dict[tuple[str, int], list[tuple[float, float, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="soak-sampler")

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            for name, pid in self.pids().items():
                if pid is not None and (s := proc_sample(pid)) is not None:
                    self.samples.setdefault((name, pid), []).append((time.monotonic(), *s))

    def tracked_s(self, name: str, pid: int) -> float:
        """How long this incarnation has been sampled (0 before its first sample)."""
        rows = self.samples.get((name, pid))
        return rows[-1][0] - rows[0][0] if rows else 0.0

    def growth(self, min_track_s: float, warmup_s: float = 0.0) -> list[Growth]:
        """Per incarnation: samples of its first ``warmup_s`` (start-up: imports, models, first render) dropped;
        the median of the first fifth of the rest against the median of its last fifth; judged (``assessed``)
        when at least ``min_track_s`` of samples remain."""
        out = []
        for (name, pid), rows in sorted(self.samples.items(), key=lambda kv: kv[1][0][0]):
            steady = [r for r in rows if r[0] >= rows[0][0] + warmup_s] or rows[-1:]
            t0, t1 = steady[0][0], steady[-1][0]
            span = t1 - t0
            early = [r for r in steady if r[0] <= t0 + 0.2 * span]
            late = [r for r in steady if r[0] >= t1 - 0.2 * span]
            med = statistics.median
            out.append(Growth(name, pid, rows[-1][0] - rows[0][0], len(rows), med(r[1] for r in early),
                              med(r[1] for r in late), med(r[2] for r in early), med(r[2] for r in late),
                              span >= min_track_s))
        return out


# ------------------------------------------------------------------------------------------ a disk to fill
def mount_small_fs(path: Path, size_mb: int, image: Path) -> str:
    """Mount a ``size_mb`` file system at ``path`` to fill: an ext4 image file at ``image``, loop-mounted (a real
    disk-backed file system), else a tmpfs. Needs root; returns what was mounted, "" when nothing could be."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return ""
    with open(image, "wb") as f:
        f.truncate(size_mb << 20)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], capture_output=True, text=True)
    if made.returncode == 0 and _mount(["-o", "loop", str(image)], path):
        return f"ext4 image {size_mb} MB, loop-mounted"
    image.unlink(missing_ok=True)
    if _mount(["-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "robot-rl-soak"], path):
        return f"tmpfs {size_mb} MB"
    return ""


def _mount(args: list[str], path: Path) -> bool:
    try:
        return subprocess.run(["mount", *args, str(path)], capture_output=True, text=True).returncode == 0
    except FileNotFoundError:  # no mount(8) here
        return False


def unmount(path: Path) -> None:
    r = subprocess.run(["umount", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True)


def fill(path: Path) -> int:
    """Write ``path`` until its file system has no space left; the bytes written."""
    block = b"\0" * (1 << 20)
    written = 0
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
        with contextlib.suppress(OSError):  # the last partial megabyte, byte-wise not worth it: 4 KiB steps
            while f.write(block[:4096]):
                written += 4096
    return written
