"""The root :class:`Config`, assembled from the groups, each in the module of its owner: ``devices`` (robot,
cameras, teleop, calibration, the deployment key), ``task`` (the task, the expert, the simulated human),
``commands`` (demo, collect, act), ``learning`` (store, BC base, learner), ``help``, ``reward`` (the success
classifier), ``interop`` (foreign datasets in and out), ``bench`` and ``ros``. Every group's
names are importable from here too.

Hydra validates types and keys against these when composing; ``validate()`` then checks the
values (ranges, shapes) and names the offending key, so a bad config fails before anything starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from robot_rl.config.bench import (  # noqa: F401 - re-exported: the one import path for every group
    HELP_VARIANTS,
    LEARNING_VARIANTS,
    REWARD_VARIANTS,
    SOAK_FAULTS,
    BenchConfig,
    BufferBenchConfig,
    HelpBenchConfig,
    LearningBenchConfig,
    RewardBenchConfig,
    SoakBenchConfig,
)
from robot_rl.config.checks import (  # noqa: F401 - re-exported: the one import path for every group
    ConfigValueError,
    check,
    check_box,
)
from robot_rl.config.commands import (
    ActConfig,
    CollectConfig,
    DemoConfig,
)
from robot_rl.config.devices import (  # noqa: F401 - re-exported: the one import path for every group
    HAND_EYE_METHODS,
    TELEOP_EVENTS,
    CalibrationConfig,
    CameraBackend,
    CameraConfig,
    RenderGeoms,
    RobotBackend,
    RobotConfig,
    SecurityConfig,
    SpaceMouseConfig,
    TeleopConfig,
    WorkspaceSource,
)
from robot_rl.config.help import HELP_GATES, HelpConfig  # noqa: F401 - re-exported
from robot_rl.config.interop import InteropConfig
from robot_rl.config.learning import (
    BufferConfig,
    LearnerConfig,
    PolicyConfig,
)
from robot_rl.config.reward import (  # noqa: F401 - re-exported
    LABEL_MODES,
    REWARD_SOURCES,
    RewardCollectConfig,
    RewardConfig,
    RewardTrainConfig,
)
from robot_rl.config.ros import RosConfig
from robot_rl.config.task import (
    ExpertConfig,
    HumanConfig,
    TaskConfig,
)
from robot_rl.data.modes import CrashPolicy, RewardMode  # noqa: F401 - re-exported

COLLECT_SEED_OFFSET = 1000  # robot-rl collect's demonstrations start this far from the root seed


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
    help: HelpConfig = field(default_factory=HelpConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    interop: InteropConfig = field(default_factory=InteropConfig)
    teleop: TeleopConfig = field(default_factory=TeleopConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    ros: RosConfig = field(default_factory=RosConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    seed: int = 0
    output_dir: str = "runs"

    def resolve_seeds(self) -> None:
        """Episode seeds a command did not set follow the root ``seed``, so ``robot-rl act seed=3`` moves the
        episodes as well as the networks' seeds; an explicit ``act.seed`` (``collect.seed``, ``demo.seed``,
        ``ros.seed``) still wins."""
        for group, offset in ((self.act, 0), (self.demo, 0), (self.ros, 0), (self.collect, COLLECT_SEED_OFFSET)):
            if group.seed is None:
                group.seed = self.seed + offset

    def validate(self) -> None:
        for f in fields(self):
            value: Any = getattr(self, f.name)
            if is_dataclass(value) and hasattr(value, "validate"):
                value.validate(f.name)
        age = self.robot.max_command_age_s
        check(age == 0 or age > self.camera.max_age_s, "robot.max_command_age_s",
               f"must exceed camera.max_age_s={self.camera.max_age_s} (the actor acts on observations that old; "
               f"the command still has to travel), or be 0 (off); got {age}")
