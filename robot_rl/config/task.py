"""Config of the task in the twin and of who drives it there: the scripted expert and the simulated human."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.checks import check, check_box


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
        check(self.control_hz > 0, f"{key}.control_hz", f"must be > 0, got {self.control_hz}")
        check(self.max_steps > 0, f"{key}.max_steps", f"must be > 0, got {self.max_steps}")
        check(0 < self.cube_half_size < 0.038, f"{key}.cube_half_size",
               f"must be in (0, 0.038) m to fit the gripper, got {self.cube_half_size}")
        check(self.cube_mass > 0, f"{key}.cube_mass", f"must be > 0, got {self.cube_mass}")
        for name in ("cube_xy", "target_xy"):
            low, high = getattr(self, f"{name}_low"), getattr(self, f"{name}_high")
            check(len(low) == 2, f"{key}.{name}_low", f"needs 2 values, got {len(low)}")
            check_box(low, high, f"{key}.{name}_low/high")
        check(len(self.start_pos) == 3, f"{key}.start_pos", f"needs 3 values, got {len(self.start_pos)}")
        check(self.success_tolerance > 0, f"{key}.success_tolerance", "must be > 0")


@dataclass
class ExpertConfig:
    """The scripted expert (source of demonstrations and the simulated human)."""

    noise_std: float = 0.0
    gain: float = 0.8

    def validate(self, key: str) -> None:
        check(self.noise_std >= 0, f"{key}.noise_std", "must be >= 0")
        check(0 < self.gain <= 1, f"{key}.gain", f"must be in (0, 1], got {self.gain}")


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
    # Attention: "always" watches every step (the person HIL-SERL needs); "gated" looks only when the robot asks
    # (arriving call_delay_steps later, then watching watch_steps) plus unprompted glances (glance_rate per step).
    attention: str = "always"
    call_delay_steps: int = 10  # steps from a help request to the person looking (1 s at 10 Hz)
    watch_steps: int = 20  # how long a look (called or a glance) lasts when nothing is wrong
    glance_rate: float = 0.01  # unprompted looks per step while not watching

    def validate(self, key: str) -> None:
        check(self.drift_threshold > 0, f"{key}.drift_threshold", "must be > 0")
        check(self.drift_patience >= 1, f"{key}.drift_patience", "must be >= 1")
        check(self.stall_steps >= 1, f"{key}.stall_steps", "must be >= 1")
        check(self.reaction_steps >= 0, f"{key}.reaction_steps", "must be >= 0")
        check(self.min_takeover_steps >= 1, f"{key}.min_takeover_steps", "must be >= 1")
        check(self.max_takeover_steps >= self.min_takeover_steps, f"{key}.max_takeover_steps",
               f"must be >= {key}.min_takeover_steps")
        check(0.0 <= self.skill <= 1.0, f"{key}.skill", "must be in [0, 1]")
        check(self.attention in ("always", "gated"), f"{key}.attention",
              f"must be always or gated, got {self.attention!r}")
        check(self.call_delay_steps >= 0, f"{key}.call_delay_steps", "must be >= 0")
        check(self.watch_steps >= 1, f"{key}.watch_steps", "must be >= 1")
        check(0.0 <= self.glance_rate < 1.0, f"{key}.glance_rate", "must be in [0, 1)")

    @property
    def noise_std(self) -> float:
        """Gaussian noise on the human's arm command, per axis (normalised units)."""
        return 0.5 * (1.0 - self.skill)
