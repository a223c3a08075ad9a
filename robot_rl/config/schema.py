"""Dataclass schemas for every config group.

Hydra validates types and keys against these when composing; ``validate()`` then checks the
values (ranges, shapes) and names the offending key, so a bad config fails before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any

from robot_rl.config.ros import RosConfig
from robot_rl.data.modes import CrashPolicy, RewardMode


class ConfigValueError(ValueError):
    """A config value is out of range; the message starts with the dotted key."""


def _check(ok: bool, key: str, msg: str) -> None:
    if not ok:
        raise ConfigValueError(f"{key}: {msg}")


def _check_box(low: list[float], high: list[float], key: str) -> None:
    _check(len(low) == len(high), key, f"low and high differ in length ({len(low)} vs {len(high)})")
    _check(all(lo < hi for lo, hi in zip(low, high, strict=False)), key, f"low {list(low)} must be < high {list(high)}")


class RobotBackend(str, Enum):
    mujoco = "mujoco"
    franka = "franka"


class CameraBackend(str, Enum):
    mujoco = "mujoco"
    realsense = "realsense"


class WorkspaceSource(str, Enum):
    """Where the safety layer's workspace box comes from: ``config`` (``robot.workspace_low/high``),
    ``calibration`` (``calibration/<robot.name>/workspace.yaml`` from ``robot-rl calibrate workspace``; required),
    ``auto`` (that file when it exists, else the config keys)."""

    config = "config"
    calibration = "calibration"
    auto = "auto"


class RenderGeoms(str, Enum):
    """Which arm geometry the simulated cameras draw: the coarse collision meshes (fast, ~3 ms per
    128x128 frame in software GL) or the detailed visual meshes (~45 ms; for videos)."""

    collision = "collision"
    visual = "visual"


@dataclass
class TaskConfig:
    """Pick the cube, place it on the target. Positions in metres in the robot base frame."""

    name: str = "pick_place"
    control_hz: float = 10.0
    max_steps: int = 120
    cube_half_size: float = 0.02
    cube_mass: float = 0.05
    cube_xy_low: list[float] = field(default_factory=lambda: [0.40, -0.15])
    cube_xy_high: list[float] = field(default_factory=lambda: [0.60, 0.15])
    cube_yaw_range: float = 0.6
    target_xy_low: list[float] = field(default_factory=lambda: [0.40, -0.20])
    target_xy_high: list[float] = field(default_factory=lambda: [0.60, 0.20])
    min_cube_target_distance: float = 0.12
    success_tolerance: float = 0.025
    start_pos: list[float] = field(default_factory=lambda: [0.45, 0.0, 0.30])
    start_pos_noise: float = 0.02

    def validate(self, key: str) -> None:
        _check(self.control_hz > 0, f"{key}.control_hz", f"must be > 0, got {self.control_hz}")
        _check(self.max_steps > 0, f"{key}.max_steps", f"must be > 0, got {self.max_steps}")
        _check(0 < self.cube_half_size < 0.038, f"{key}.cube_half_size",
               f"must be in (0, 0.038) m to fit the gripper, got {self.cube_half_size}")
        _check(self.cube_mass > 0, f"{key}.cube_mass", f"must be > 0, got {self.cube_mass}")
        for name in ("cube_xy", "target_xy"):
            low, high = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
            _check(len(low) == 2, f"{key}.{name}_low", f"needs 2 values, got {len(low)}")
            _check_box(low, high, f"{key}.{name}_low/high")
        _check(len(self.start_pos) == 3, f"{key}.start_pos", f"needs 3 values, got {len(self.start_pos)}")
        _check(self.success_tolerance > 0, f"{key}.success_tolerance", "must be > 0")


@dataclass
class RobotConfig:
    """The arm and its safety limits. An action of 1.0 moves the end effector by
    ``max_translation_per_step`` metres (or ``max_rotation_per_step`` radians) in one control step."""

    name: str = "fr3_sim"
    backend: RobotBackend = RobotBackend.mujoco
    ip: str = ""
    max_translation_per_step: float = 0.03
    max_rotation_per_step: float = 0.15
    workspace_low: list[float] = field(default_factory=lambda: [0.25, -0.35, 0.0])
    workspace_high: list[float] = field(default_factory=lambda: [0.75, 0.35, 0.45])
    workspace_source: WorkspaceSource = WorkspaceSource.config
    gripper_max_width: float = 0.08
    watchdog_s: float = 0.3
    # The robot node refuses a command computed from an observation older than this when the command arrives
    # (an actor paused or backlogged after its own freshness check; clocks synchronised across hosts). 0: off.
    max_command_age_s: float = 0.5
    physics_dt: float = 0.002
    # Safety layer (robot_rl.control.safety), applied by every backend. Norm limits on one step's motion
    # (the per-axis scaling above allows sqrt(3) times more on a diagonal), and a cone around a reference
    # EE orientation (a rotation vector; [pi, 0, 0] = gripper pointing down). pi disables the cone.
    max_ee_step: float = 0.06
    max_ee_rot_step: float = 0.3
    rotation_reference: list[float] = field(default_factory=lambda: [3.141592653589793, 0.0, 0.0])
    max_rotation_from_reference: float = 3.141592653589793
    gripper_max_force: float = 40.0
    gripper_grasp_force: float = 20.0
    gripper_speed: float = 0.05
    joint_low: list[float] = field(default_factory=lambda: [-2.70, -1.75, -2.87, -3.0, -2.77, 0.58, -2.98])
    joint_high: list[float] = field(default_factory=lambda: [2.70, 1.75, 2.87, -0.19, 2.77, 4.48, 2.98])
    home_joints: list[float] = field(default_factory=lambda: [0.0, -0.27, 0.0, -2.511, 0.0, 2.239, 0.785])
    # Franka (libfranka through franky): fraction of the arm's velocity/acceleration/jerk limits that
    # motions may use, reflex errors recovered automatically before the stack stops, and whether the
    # control thread must run with real-time priority (true on the robot PC; false for franky-sim).
    dynamics_factor: float = 0.2
    max_reflex_recoveries: int = 3
    realtime: bool = True

    def validate(self, key: str) -> None:
        _check(self.max_command_age_s >= 0, f"{key}.max_command_age_s", f"must be >= 0 s (0: off), got "
               f"{self.max_command_age_s}")
        _check(0 < self.max_ee_step <= 0.2, f"{key}.max_ee_step", f"must be in (0, 0.2] m, got {self.max_ee_step}")
        _check(0 < self.max_ee_rot_step <= 1.0, f"{key}.max_ee_rot_step",
               f"must be in (0, 1.0] rad, got {self.max_ee_rot_step}")
        _check(len(self.rotation_reference) == 3, f"{key}.rotation_reference", "needs 3 values (a rotation vector)")
        _check(0 < self.max_rotation_from_reference <= 3.1416, f"{key}.max_rotation_from_reference",
               f"must be in (0, pi] rad, got {self.max_rotation_from_reference}")
        _check(0 < self.gripper_max_force <= 70.0, f"{key}.gripper_max_force",
               f"must be in (0, 70] N (the Franka hand's continuous force), got {self.gripper_max_force}")
        _check(0 < self.gripper_grasp_force <= self.gripper_max_force, f"{key}.gripper_grasp_force",
               f"must be in (0, gripper_max_force={self.gripper_max_force}] N, got {self.gripper_grasp_force}")
        _check(0 < self.gripper_speed <= 0.1, f"{key}.gripper_speed",
               f"must be in (0, 0.1] m/s, got {self.gripper_speed}")
        _check(len(self.joint_low) == 7, f"{key}.joint_low", f"needs 7 values, got {len(self.joint_low)}")
        _check_box(self.joint_low, self.joint_high, f"{key}.joint_low/high")
        _check(len(self.home_joints) == 7, f"{key}.home_joints", f"needs 7 values, got {len(self.home_joints)}")
        _check(all(lo <= q <= hi for lo, q, hi in zip(self.joint_low, self.home_joints, self.joint_high, strict=False)),
               f"{key}.home_joints", "must lie within joint_low/high")
        _check(0 < self.dynamics_factor <= 1.0, f"{key}.dynamics_factor",
               f"must be in (0, 1], got {self.dynamics_factor}")
        _check(self.max_reflex_recoveries >= 0, f"{key}.max_reflex_recoveries", "must be >= 0")
        _check(0 < self.max_translation_per_step <= 0.1, f"{key}.max_translation_per_step",
               f"must be in (0, 0.1] m per step, got {self.max_translation_per_step}")
        _check(0 < self.max_rotation_per_step <= 0.5, f"{key}.max_rotation_per_step",
               f"must be in (0, 0.5] rad per step, got {self.max_rotation_per_step}")
        _check(len(self.workspace_low) == 3, f"{key}.workspace_low", "needs 3 values (x, y, z)")
        _check_box(self.workspace_low, self.workspace_high, f"{key}.workspace_low/high")
        _check(0 < self.gripper_max_width <= 0.08, f"{key}.gripper_max_width", "must be in (0, 0.08] m")
        _check(self.watchdog_s > 0, f"{key}.watchdog_s", "must be > 0")
        _check(0 < self.physics_dt <= 0.01, f"{key}.physics_dt", "must be in (0, 0.01] s")
        if self.backend == RobotBackend.franka:
            _check(bool(self.ip), f"{key}.ip", "the franka backend needs the robot's IP address")


@dataclass
class CameraConfig:
    """The camera set. ``names`` are the observation keys ``images/<name>``."""

    backend: CameraBackend = CameraBackend.mujoco
    names: list[str] = field(default_factory=lambda: ["wrist", "front"])
    width: int = 128
    height: int = 128
    fps: int = 30
    max_age_s: float = 0.2
    serials: dict[str, str] = field(default_factory=dict)
    render_geoms: RenderGeoms = RenderGeoms.collision
    # RealSense: capture size (cropped, then resized to width x height), aligned depth, per-camera crop
    # [x, y, w, h] in capture pixels (default: the centred square), recordings to play instead of devices
    # (name -> .db3 path), and how long without frames counts as unplugged before reconnecting.
    capture_width: int = 640
    capture_height: int = 480
    depth: bool = False
    crops: dict[str, list[int]] = field(default_factory=dict)
    playback: dict[str, str] = field(default_factory=dict)
    reconnect_s: float = 1.0

    def validate(self, key: str) -> None:
        _check(self.capture_width > 0 and self.capture_height > 0, f"{key}.capture_width/height", "must be > 0")
        _check(self.reconnect_s > 0, f"{key}.reconnect_s", "must be > 0")
        for cam, crop in self.crops.items():
            _check(len(crop) == 4 and crop[2] > 0 and crop[3] > 0 and crop[0] >= 0 and crop[1] >= 0
                   and crop[0] + crop[2] <= self.capture_width and crop[1] + crop[3] <= self.capture_height,
                   f"{key}.crops.{cam}", f"must be [x, y, w, h] inside the {self.capture_width}x"
                   f"{self.capture_height} capture, got {list(crop)}")
        _check(len(self.names) > 0, f"{key}.names", "needs at least one camera")
        _check(len(set(self.names)) == len(self.names), f"{key}.names", f"duplicate names in {self.names}")
        _check(16 <= self.width <= 4096 and 16 <= self.height <= 4096, f"{key}.width/height",
               f"must be in [16, 4096], got {self.width}x{self.height}")
        _check(self.fps > 0, f"{key}.fps", "must be > 0")
        _check(self.max_age_s > 0, f"{key}.max_age_s", "must be > 0")
        if self.backend == CameraBackend.realsense:
            missing = [n for n in self.names if n not in self.serials and n not in self.playback]
            _check(not missing, f"{key}.serials", f"no serial number for camera(s) {missing}")


@dataclass
class ExpertConfig:
    """The scripted expert (source of demonstrations and the simulated human)."""

    noise_std: float = 0.0
    gain: float = 0.8

    def validate(self, key: str) -> None:
        _check(self.noise_std >= 0, f"{key}.noise_std", "must be >= 0")
        _check(0 < self.gain <= 1, f"{key}.gain", f"must be in (0, 1], got {self.gain}")


@dataclass
class DemoConfig:
    """``robot-rl demo``: the whole loop in simulation. ``demos`` demonstrations by a deliberately
    weak expert (action noise ``demo_noise``; the simulated human uses ``expert`` as is), a BC base
    trained on them, then ``episodes`` actor episodes with the simulated human while the learner
    trains; BC alone and BC + residual are evaluated on ``eval_episodes`` held-out seeds before and
    after. ``ros``: run the actor episodes as the ROS 2 node graph (``robot-rl up sim``; needs the
    ``ros`` extra) instead of in-process. ``pace_learner`` (in-process): between episodes the twin waits
    until the learner trained ``learner.utd`` updates per committed online transition, at most
    ``pace_timeout_s`` per wait, as a real robot's control rate would leave it time to (robot_rl.learner.pacing)."""

    demos: int = 30
    demo_noise: float = 0.2
    episodes: int = 40
    eval_episodes: int = 50
    seed: int = 0
    video_episodes: int = 1
    ros: bool = False
    pace_learner: bool = True
    pace_timeout_s: float = 300.0

    def validate(self, key: str) -> None:
        _check(self.demos > 0, f"{key}.demos", "must be > 0")
        _check(self.demo_noise >= 0, f"{key}.demo_noise", "must be >= 0")
        _check(self.episodes >= 0, f"{key}.episodes", "must be >= 0")
        _check(self.eval_episodes >= 0, f"{key}.eval_episodes", "must be >= 0")
        _check(self.video_episodes >= 0, f"{key}.video_episodes", "must be >= 0")
        _check(self.pace_timeout_s > 0, f"{key}.pace_timeout_s", "must be > 0")


@dataclass
class CollectConfig:
    """``robot-rl collect``: scripted-expert demonstrations into the store (teleop on hardware)."""

    episodes: int = 20
    seed: int = 1000
    source: str = "demo"

    def validate(self, key: str) -> None:
        _check(self.episodes > 0, f"{key}.episodes", "must be > 0")
        _check(self.source in ("demo", "teleop", "sim"), f"{key}.source", "must be demo, teleop or sim")


@dataclass
class ActConfig:
    """``robot-rl act``: actor episodes (BC base + residual), recorded to the store; ``seed``: the first episode's
    seed (the root ``seed`` is for the networks and the sampler)."""

    episodes: int = 20
    seed: int = 0
    explore: bool = True

    def validate(self, key: str) -> None:
        _check(self.episodes > 0, f"{key}.episodes", "must be > 0")


LEARNING_VARIANTS = ("bc", "residual_sparse", "residual_rlif_human", "hg_dagger", "hil_serl")


@dataclass
class LearningBenchConfig:
    """``robot-rl bench learning``: the learning experiment, every variant on the same seeds.

    Each seed: ``demos`` demonstrations by a noisy expert (action noise ``demo_noise``, so the demos visit
    and recover from off-nominal states, like DART) -> one BC base; then every variant
    runs ``env_steps`` environment steps, evaluated every ``eval_every`` steps on ``eval_episodes``
    held-out seeds. HG-DAgger fine-tunes the BC base on demos + interventions every ``dagger_every``
    episodes for ``dagger_epochs`` epochs. ``workers`` > 1 runs seeds in parallel processes (one torch thread
    each); wall-clock figures then include the contention. ``resume``: keep each seed's BC base and each
    finished (seed, variant) curve found in ``out_dir`` that was made with the same settings (see
    :mod:`benchmarks.learning`), so a stopped experiment goes on where it stopped. ``report_only``: make
    nothing, report (table, plot, ``points.json``) the pieces already in ``out_dir``, including a curve stopped
    part way; pieces not made yet are named and left out."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    variants: list[str] = field(default_factory=lambda: list(LEARNING_VARIANTS))
    demos: int = 100  # measured on the full pick_place at 128x128: BC 26 / 32% (seeds 0 / 1, 50 eval episodes)
    demo_noise: float = 0.2
    env_steps: int = 20_000
    eval_every: int = 2_000
    eval_episodes: int = 50
    dagger_every: int = 10
    dagger_epochs: int = 5
    workers: int = 1
    resume: bool = True
    report_only: bool = False
    out_dir: str = "runs/bench-learning"

    def validate(self, key: str) -> None:
        bad = [v for v in self.variants if v not in LEARNING_VARIANTS]
        _check(not bad, f"{key}.variants", f"unknown {bad}; known: {list(LEARNING_VARIANTS)}")
        _check(len(self.seeds) > 0, f"{key}.seeds", "needs at least one seed")
        _check(self.demos > 0 and self.env_steps > 0, f"{key}.demos/env_steps", "must be > 0")
        _check(self.demo_noise >= 0, f"{key}.demo_noise", "must be >= 0")
        _check(0 < self.eval_every <= self.env_steps, f"{key}.eval_every", "must be in (0, env_steps]")
        _check(self.eval_episodes > 0, f"{key}.eval_episodes", "must be > 0")
        _check(self.workers >= 1, f"{key}.workers", "must be >= 1")
        _check(self.dagger_every > 0 and self.dagger_epochs > 0, f"{key}.dagger_every/dagger_epochs", "must be > 0")


SOAK_FAULTS = ("kill_camera", "kill_robot", "kill_teleop", "kill_actor", "kill_learner", "pause", "delay_frames",
               "drop_frames", "disk_full")


@dataclass
class SoakBenchConfig:
    """``robot-rl bench soak``: the fault-injection soak of the running sim graph (benchmarks.soak).
    ``minutes`` of faults, drawn from ``faults`` in a seeded random order, one at a time, each after a random
    healthy gap in [``gap_min_s``, ``gap_max_s``]. Tolerances, relative to what the graph is configured to:
    the arm holds still within ``robot.watchdog_s + stop_slack_s`` of the actor's death; commands are back within
    ``recover_timeout_s`` of a fault; every command the robot executes acts on an observation at most
    ``robot.max_command_age_s + age_slack_s`` old when its echo on ``/robot/executed`` reaches the soak; RSS of a
    process incarnation grows by at most ``rss_growth_mb`` and its open file descriptors by at most ``fd_growth``
    between its early and late samples (the first ``warmup_s`` of each incarnation, its start-up, ignored; judged
    when ``min_track_s`` remain; one sample every ``sample_s``). ``fault_s``: how long a pause, a delay,
    a drop spell or a full disk lasts; ``delay_s``: how late delayed frames arrive; ``drop_fraction``: the share
    of frames dropped. ``store_mb``: size of the file system the store lives on (a loop-mounted ext4 image, else a
    tmpfs; disk_full fills it; without root the recorder's ENOSPC hook stands in)."""

    minutes: float = 30.0
    seed: int = 0
    faults: list[str] = field(default_factory=lambda: list(SOAK_FAULTS))
    gap_min_s: float = 5.0
    gap_max_s: float = 20.0
    fault_s: float = 4.0
    delay_s: float = 0.5
    drop_fraction: float = 0.5
    stop_slack_s: float = 1.5
    recover_timeout_s: float = 150.0
    age_slack_s: float = 0.2
    rss_growth_mb: float = 64.0
    fd_growth: int = 8
    min_track_s: float = 60.0
    warmup_s: float = 45.0
    sample_s: float = 2.0
    store_mb: int = 256

    def validate(self, key: str) -> None:
        _check(self.minutes > 0, f"{key}.minutes", "must be > 0")
        bad = [f for f in self.faults if f not in SOAK_FAULTS]
        _check(not bad, f"{key}.faults", f"unknown {bad}; known: {list(SOAK_FAULTS)}")
        _check(0 < self.gap_min_s <= self.gap_max_s, f"{key}.gap_min_s/gap_max_s", "need 0 < gap_min_s <= gap_max_s")
        _check(self.fault_s > 0, f"{key}.fault_s", "must be > 0")
        _check(self.delay_s > 0, f"{key}.delay_s", "must be > 0")
        _check(0 < self.drop_fraction <= 1, f"{key}.drop_fraction", "must be in (0, 1]")
        _check(self.stop_slack_s >= 0 and self.age_slack_s >= 0, f"{key}.stop_slack_s/age_slack_s", "must be >= 0")
        _check(self.recover_timeout_s > 0, f"{key}.recover_timeout_s", "must be > 0")
        _check(self.rss_growth_mb >= 0 and self.fd_growth >= 0, f"{key}.rss_growth_mb/fd_growth", "must be >= 0")
        _check(self.min_track_s > 0 and self.sample_s > 0, f"{key}.min_track_s/sample_s", "must be > 0")
        _check(self.warmup_s >= 0, f"{key}.warmup_s", "must be >= 0")
        _check(self.store_mb >= 16, f"{key}.store_mb", "must be >= 16")


@dataclass
class BenchConfig:
    """``robot-rl bench``: repetitions and where results go."""

    steps: int = 300
    warmup: int = 20
    out_dir: str = "bench_results"
    learning: LearningBenchConfig = field(default_factory=LearningBenchConfig)
    soak: SoakBenchConfig = field(default_factory=SoakBenchConfig)

    def validate(self, key: str) -> None:
        _check(self.steps > 0, f"{key}.steps", "must be > 0")
        _check(self.warmup >= 0, f"{key}.warmup", "must be >= 0")
        self.learning.validate(f"{key}.learning")
        self.soak.validate(f"{key}.soak")


@dataclass
class BufferBenchConfig:
    """``robot-rl bench buffer`` sizes; shrink them for a quick run
    (e.g. ``buffer.bench.cache_transitions=20000``)."""

    append_episodes: int = 20
    episode_len: int = 100
    cache_transitions: int = 100_000
    batch_size: int = 256
    sample_batches: int = 100
    refresh_episodes: int = 5

    def validate(self, key: str) -> None:
        for name in ("append_episodes", "episode_len", "batch_size", "sample_batches", "refresh_episodes"):
            _check(getattr(self, name) > 0, f"{key}.{name}", "must be > 0")
        _check(self.episode_len >= 2, f"{key}.episode_len", "must be >= 2 (one transition)")
        _check(self.cache_transitions >= self.episode_len, f"{key}.cache_transitions",
               f"must be >= episode_len ({self.episode_len})")


@dataclass
class BufferConfig:
    """The zarr replay store (a local path or an fsspec URL) and the learner's in-RAM sampler."""

    path: str = "runs/replay.zarr"  # local directory or fsspec URL (e.g. memory://x.zarr, s3://bucket/replay.zarr)
    queue_size: int = 512  # rows the recorder may hold before put() reports overflow
    chunk_len: int = 100  # rows per zarr chunk on the time axis
    compression: str = "lz4"  # blosc codec for every array: lz4 | zstd | none
    compression_level: int = 5
    on_crash: CrashPolicy = CrashPolicy.discard  # rows after the last committed episode: discard | keep_truncated
    fsync: bool = False  # fsync each chunk file (survives power loss, slower); kill -9 is safe without
    offline_fraction: float = 0.5  # share of each batch from demos + human-intervention steps (RLPD)
    offline_sources: list[str] = field(default_factory=lambda: ["demo", "teleop"])
    n_step: int = 3
    gamma: float = 0.99
    reward_mode: RewardMode = RewardMode.both  # rlif | sparse | both (docs/architecture.md §2)
    cache_capacity: int = 100_000  # transitions in the learner's RAM cache (~98 KB each with two 128x128 cameras)
    poll_interval_s: float = 1.0  # how often the learner re-reads meta/episode_ends
    min_free_mb: int = 32  # after a failed write (a full disk), recording resumes once this much is free
    bench: BufferBenchConfig = field(default_factory=BufferBenchConfig)

    def validate(self, key: str) -> None:
        _check(bool(self.path), f"{key}.path", "must not be empty")
        _check(self.queue_size > 0, f"{key}.queue_size", f"must be > 0, got {self.queue_size}")
        _check(self.chunk_len > 0, f"{key}.chunk_len", f"must be > 0, got {self.chunk_len}")
        _check(self.min_free_mb >= 0, f"{key}.min_free_mb", f"must be >= 0, got {self.min_free_mb}")
        _check(self.compression in ("lz4", "zstd", "none"), f"{key}.compression",
               f"must be one of lz4, zstd, none; got {self.compression!r}")
        _check(0 <= self.compression_level <= 9, f"{key}.compression_level", "must be in [0, 9]")
        _check(0.0 <= self.offline_fraction <= 1.0, f"{key}.offline_fraction",
               f"must be in [0, 1], got {self.offline_fraction}")
        known = ("demo", "policy", "sim", "teleop")
        bad = [s for s in self.offline_sources if s not in known]
        _check(not bad, f"{key}.offline_sources", f"unknown source(s) {bad}; known: {list(known)}")
        _check(self.n_step >= 1, f"{key}.n_step", f"must be >= 1, got {self.n_step}")
        _check(0.0 < self.gamma <= 1.0, f"{key}.gamma", f"must be in (0, 1], got {self.gamma}")
        _check(self.cache_capacity > 0, f"{key}.cache_capacity", "must be > 0")
        _check(self.poll_interval_s > 0, f"{key}.poll_interval_s", "must be > 0")
        self.bench.validate(f"{key}.bench")


@dataclass
class PolicyConfig:
    """The behaviour-cloning base policy: image encoders trained from scratch + proprio -> action chunk."""

    chunk: int = 8
    execute_steps: int = 4
    feature_dim: int = 64
    hidden_dim: int = 256
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    augment_pad: int = 4
    eval_every: int = 0
    eval_episodes: int = 5
    path: str = "runs/bc_base.pt"
    device: str = "auto"

    def validate(self, key: str) -> None:
        _check(self.chunk >= 1, f"{key}.chunk", f"must be >= 1, got {self.chunk}")
        _check(1 <= self.execute_steps <= self.chunk, f"{key}.execute_steps",
               f"must be in [1, chunk={self.chunk}], got {self.execute_steps}")
        _check(self.feature_dim > 0 and self.hidden_dim > 0, f"{key}.feature_dim/hidden_dim", "must be > 0")
        _check(self.epochs > 0, f"{key}.epochs", "must be > 0")
        _check(self.batch_size > 0, f"{key}.batch_size", "must be > 0")
        _check(self.lr > 0, f"{key}.lr", "must be > 0")
        _check(0.0 <= self.val_fraction < 1.0, f"{key}.val_fraction", "must be in [0, 1)")
        _check(self.augment_pad >= 0, f"{key}.augment_pad", "must be >= 0")
        _check(self.device in ("auto", "cpu", "cuda"), f"{key}.device", "must be auto, cpu or cuda")


@dataclass
class LearnerConfig:
    """Residual off-policy RL (ResFiT recipe, docs/architecture.md §3).

    ``frozen_features`` (default true, the CPU setting): the residual actor and critics learn on the frozen
    BC base's features, computed once per transition on ingestion, so an update costs MLPs only. False (for
    GPU machines): the learner caches raw images + state, and the residual gets its own image encoder, a copy
    of the base's started at its weights, trained by the critic loss (learning rate ``critic_lr``) on DrQ
    random shifts of ``augment_pad`` pixels, the actor seeing its features detached (DrQ-v2); the base action
    still comes from the frozen base. The cache then holds images (~98 KB a row with two 128x128 cameras:
    size ``buffer.cache_capacity`` to the RAM). Its weight bundles carry the encoder, and an actor refuses
    bundles of the other mode (the actor and the learner must share this setting).

    ``use_base`` false: no base action, the learned policy is the whole action (a HIL-SERL-style full policy,
    RLPD from demos and take-overs, for comparison; give it ``residual_scale=1``); it still acts on the frozen
    BC encoder's features, as HIL-SERL acts on a frozen pretrained encoder's.

    The defaults are the recipe the demo and the learning experiment measured (README, "What each part of the
    recipe is worth"): ``residual_scale`` 0.3 (at 0.1 the residual cannot reproduce a take-over's correction:
    0-3% against 53%), ``demo_bc_weight`` 1 (Q-filtered imitation of demos and take-overs; without it 0-3%),
    4 critics (10 cost twice the update time and learnt no better: 3-10%)."""

    residual_scale: float = 0.3
    use_base: bool = True
    hidden_dim: int = 256
    num_critics: int = 4
    critic_subsample: int = 2
    utd: int = 4
    batch_size: int = 256
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    tau: float = 0.005
    policy_delay: int = 2
    target_noise: float = 0.2
    target_noise_clip: float = 0.5
    exploration_noise: float = 0.1
    critic_warmup_updates: int = 200
    residual_penalty: float = 0.0
    demo_bc_weight: float = 1.0
    min_online_transitions: int = 200
    publish_every: int = 50
    checkpoint_every: int = 500
    max_updates: int = 0
    frozen_features: bool = True
    augment_pad: int = 4
    dir: str = "runs/learner"
    device: str = "auto"

    def validate(self, key: str) -> None:
        _check(0 < self.residual_scale <= 1, f"{key}.residual_scale", "must be in (0, 1]")
        _check(self.num_critics >= 2, f"{key}.num_critics", "must be >= 2")
        _check(1 <= self.critic_subsample <= self.num_critics, f"{key}.critic_subsample",
               f"must be in [1, num_critics={self.num_critics}]")
        _check(self.utd >= 1, f"{key}.utd", "must be >= 1")
        _check(self.batch_size > 1, f"{key}.batch_size", "must be > 1")
        _check(self.actor_lr > 0 and self.critic_lr > 0, f"{key}.actor_lr/critic_lr", "must be > 0")
        _check(0 < self.tau <= 1, f"{key}.tau", "must be in (0, 1]")
        _check(self.policy_delay >= 1, f"{key}.policy_delay", "must be >= 1")
        _check(self.residual_penalty >= 0 and self.demo_bc_weight >= 0, f"{key}.residual_penalty/demo_bc_weight",
               "must be >= 0")
        _check(self.publish_every >= 1 and self.checkpoint_every >= 1, f"{key}.publish_every/checkpoint_every",
               "must be >= 1")
        _check(self.augment_pad >= 0, f"{key}.augment_pad", "must be >= 0")
        _check(self.device in ("auto", "cpu", "cuda"), f"{key}.device", "must be auto, cpu or cuda")


@dataclass
class HumanConfig:
    """The simulated human (:mod:`robot_rl.sim.harness.human`): watches the policy, takes over with the scripted
    expert when it drifts or stalls, and keeps control until the task is back on track."""

    enabled: bool = True
    drift_threshold: float = 0.5  # mean |policy - human| action gap that counts as drifting
    drift_patience: int = 3  # drifting steps in a row before the human notices
    stall_steps: int = 25  # steps without progress before the human notices
    reaction_steps: int = 3  # steps from noticing to having control (0.3 s at 10 Hz); the policy acts meanwhile
    min_takeover_steps: int = 5  # a take-over lasts at least this long
    max_takeover_steps: int = 60  # ... and hands back after this long even when not back on track
    skill: float = 0.9  # 1: the scripted expert exactly; lower: noisier motion (std 0.5 x (1 - skill) per axis)

    def validate(self, key: str) -> None:
        _check(self.drift_threshold > 0, f"{key}.drift_threshold", "must be > 0")
        _check(self.drift_patience >= 1, f"{key}.drift_patience", "must be >= 1")
        _check(self.stall_steps >= 1, f"{key}.stall_steps", "must be >= 1")
        _check(self.reaction_steps >= 0, f"{key}.reaction_steps", "must be >= 0")
        _check(self.min_takeover_steps >= 1, f"{key}.min_takeover_steps", "must be >= 1")
        _check(self.max_takeover_steps >= self.min_takeover_steps, f"{key}.max_takeover_steps",
               f"must be >= {key}.min_takeover_steps")
        _check(0.0 <= self.skill <= 1.0, f"{key}.skill", "must be in [0, 1]")

    @property
    def noise_std(self) -> float:
        """Gaussian noise on the human's arm command, per axis (normalised units)."""
        return 0.5 * (1.0 - self.skill)


HAND_EYE_METHODS = ("tsai", "park", "horaud", "andreff", "daniilidis", "shah", "li")


@dataclass
class CalibrationConfig:
    """``robot-rl calibrate``: the ChArUco board, the pose set, acceptance thresholds. The calibrated values
    themselves are data in ``calibration/<robot.name>/`` (see robot_rl.calibration), never config.

    Board: ``squares_x`` x ``squares_y`` squares of ``square_m`` with ArUco markers of ``marker_m`` (metres, as
    printed: measure the print). Pose set: ``views`` poses rotated up to ``max_tilt_deg`` and ``max_yaw_deg``
    about ``pivot_tcp`` (a point in the TCP frame, m: where the wrist camera looks, or the centre of a board
    held by the hand); a set whose rotations do not span two axes by ``min_rotation_spread_deg`` is refused.
    ``hand_eye_method``: OpenCV's closed form (tsai, park, horaud, andreff, daniilidis: calibrateHandEye;
    shah, li: calibrateRobotWorldHandEye), refined on reprojection error. Files older than
    ``max_age_days`` are used with a warning. ``mounts``: which cameras ride on the hand (eye_in_hand) and
    which are fixed in the cell (eye_to_hand)."""

    squares_x: int = 7
    squares_y: int = 5
    square_m: float = 0.035
    marker_m: float = 0.026
    dictionary: str = "DICT_4X4_50"
    views: int = 15
    min_views: int = 8
    min_corners: int = 8
    max_tilt_deg: float = 25.0
    max_yaw_deg: float = 30.0
    pivot_tcp: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.25])
    min_rotation_spread_deg: float = 5.0
    hand_eye_method: str = "park"
    max_reprojection_px: float = 1.0
    workspace_margin: float = 0.02  # the recorded workspace corners shrunk by this much on every side (m)
    max_age_days: float = 30.0
    mounts: dict[str, str] = field(default_factory=lambda: {"wrist": "eye_in_hand", "front": "eye_to_hand"})

    def validate(self, key: str) -> None:
        bad = {c: m for c, m in self.mounts.items() if m not in ("eye_in_hand", "eye_to_hand")}
        _check(not bad, f"{key}.mounts", f"must map cameras to eye_in_hand or eye_to_hand, got {bad}")
        _check(self.squares_x >= 3 and self.squares_y >= 3, f"{key}.squares_x/squares_y", "must be >= 3")
        _check(0 < self.square_m <= 0.5, f"{key}.square_m", f"must be in (0, 0.5] m, got {self.square_m}")
        _check(0 < self.marker_m < self.square_m, f"{key}.marker_m",
               f"must be in (0, square_m={self.square_m}) m, got {self.marker_m}")
        _check(self.dictionary.startswith("DICT_"), f"{key}.dictionary", "must be an OpenCV ArUco dictionary name, "
               f"e.g. DICT_4X4_50; got {self.dictionary!r}")
        _check(self.min_views >= 3, f"{key}.min_views", "must be >= 3 (hand-eye needs two relative motions)")
        _check(self.views >= self.min_views, f"{key}.views", f"must be >= min_views={self.min_views}")
        _check(self.min_corners >= 4, f"{key}.min_corners", "must be >= 4 (a pose needs 4 points)")
        _check(0 < self.max_tilt_deg <= 60 and 0 <= self.max_yaw_deg <= 90, f"{key}.max_tilt_deg/max_yaw_deg",
               "must be in (0, 60] and [0, 90] degrees")
        _check(len(self.pivot_tcp) == 3, f"{key}.pivot_tcp", "needs 3 values (x, y, z) in metres")
        _check(self.min_rotation_spread_deg > 0, f"{key}.min_rotation_spread_deg", "must be > 0")
        _check(self.hand_eye_method in HAND_EYE_METHODS, f"{key}.hand_eye_method",
               f"must be one of {list(HAND_EYE_METHODS)}, got {self.hand_eye_method!r}")
        _check(self.max_reprojection_px > 0, f"{key}.max_reprojection_px", "must be > 0")
        _check(0 <= self.workspace_margin <= 0.2, f"{key}.workspace_margin", "must be in [0, 0.2] m")
        _check(self.max_age_days > 0, f"{key}.max_age_days", "must be > 0")


TELEOP_EVENTS = ("takeover", "handback", "success", "failure", "reset", "pause", "quit")


@dataclass
class SpaceMouseConfig:
    """The 3Dconnexion SpaceMouse: axes in [-1, 1] after ``deadband`` (values below it read 0, the rest
    rescaled so output starts at 0) and scaling, so a full push is a full action. ``device`` is a
    pyspacemouse device name ("" = the first one found). Button indices for gripper toggle and take-over.
    ``fake_hid_socket``: a Unix socket path; when set, no real device is opened: a fake HID device reads raw
    reports sent to that socket (:mod:`robot_rl.testing.fake_hid`; tests and demos without a SpaceMouse)."""

    device: str = ""
    deadband: float = 0.1
    translation_scale: float = 1.0
    rotation_scale: float = 1.0
    poll_hz: float = 200.0
    max_age_s: float = 0.1
    reconnect_s: float = 1.0
    button_gripper: int = 0
    button_takeover: int = 1
    fake_hid_socket: str = ""

    def validate(self, key: str) -> None:
        _check(0 <= self.deadband < 1, f"{key}.deadband", f"must be in [0, 1), got {self.deadband}")
        _check(self.translation_scale > 0 and self.rotation_scale > 0, f"{key}.translation_scale/rotation_scale",
               "must be > 0")
        _check(self.poll_hz >= 100, f"{key}.poll_hz", f"must be >= 100 Hz, got {self.poll_hz}")
        _check(self.max_age_s > 0, f"{key}.max_age_s", "must be > 0")
        _check(self.reconnect_s > 0, f"{key}.reconnect_s", "must be > 0")
        _check(self.button_gripper != self.button_takeover, f"{key}.button_gripper/button_takeover",
               "must be different buttons")
        _check(len(self.fake_hid_socket.encode()) < 108, f"{key}.fake_hid_socket",
               "a Unix socket path must be shorter than 108 bytes")


@dataclass
class TeleopConfig:
    """Human input: the SpaceMouse and the keyboard's key map (event -> key: a character or a pynput
    ``Key`` name such as ``space``, ``esc``, ``f1``)."""

    spacemouse: SpaceMouseConfig = field(default_factory=SpaceMouseConfig)
    keys: dict[str, str] = field(default_factory=lambda: {
        "takeover": "t", "handback": "h", "success": "s", "failure": "f", "reset": "r", "pause": "p",
        "quit": "esc"})

    def validate(self, key: str) -> None:
        self.spacemouse.validate(f"{key}.spacemouse")
        unknown = [e for e in self.keys if e not in TELEOP_EVENTS]
        _check(not unknown, f"{key}.keys", f"unknown event(s) {unknown}; known: {list(TELEOP_EVENTS)}")
        values = list(self.keys.values())
        dup = sorted({v for v in values if values.count(v) > 1})
        _check(not dup, f"{key}.keys", f"key(s) {dup} bound to more than one event")
        _check(all(v for v in values), f"{key}.keys", "empty key name")


@dataclass
class SecurityConfig:
    """The per-deployment key (``robot_rl.security``): residual weights and robot commands carry an HMAC made
    with it, and the actor / robot node refuse what does not verify. ``key_path``: a file outside the repo,
    mode 0600, created with a fresh random key when missing; every host of one graph needs the same file.
    ``command_expiry_s``: a signed command expires this long after its send time, by the robot node's clock (a
    replay after a robot node restart is refused); 0 turns that check off. Not to be confused with
    ``robot.max_command_age_s``, the age of the *observation* a command was computed from."""

    key_path: str = "~/.config/robot_rl/deployment.key"
    command_expiry_s: float = 2.0

    def validate(self, key: str) -> None:
        _check(bool(self.key_path.strip()), f"{key}.key_path", "must name the deployment key file")
        _check(self.command_expiry_s >= 0, f"{key}.command_expiry_s", "must be >= 0 (0: no age check)")


@dataclass
class Config:
    """The root config every command composes."""

    task: TaskConfig = field(default_factory=TaskConfig)
    robot: RobotConfig = field(default_factory=RobotConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    expert: ExpertConfig = field(default_factory=ExpertConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    collect: CollectConfig = field(default_factory=CollectConfig)
    act: ActConfig = field(default_factory=ActConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    buffer: BufferConfig = field(default_factory=BufferConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    human: HumanConfig = field(default_factory=HumanConfig)
    teleop: TeleopConfig = field(default_factory=TeleopConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    ros: RosConfig = field(default_factory=RosConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    seed: int = 0
    output_dir: str = "runs"

    def validate(self) -> None:
        for f in fields(self):
            value: Any = getattr(self, f.name)
            if is_dataclass(value) and hasattr(value, "validate"):
                value.validate(f.name)
        age = self.robot.max_command_age_s
        _check(age == 0 or age > self.camera.max_age_s, "robot.max_command_age_s",
               f"must exceed camera.max_age_s={self.camera.max_age_s} (the actor acts on observations that old; "
               f"the command still has to travel), or be 0 (off); got {age}")
