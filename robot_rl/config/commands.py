"""Config of the commands that run whole episodes in the twin: ``robot-rl demo``, ``collect`` and ``act``."""

from __future__ import annotations

from dataclasses import dataclass

from robot_rl.config.checks import check


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
    seed: int | None = None  # the first actor episode's seed (demonstrations from seed + 1000); None: the root seed
    video_episodes: int = 1
    ros: bool = False
    pace_learner: bool = True
    pace_timeout_s: float = 300.0

    def validate(self, key: str) -> None:
        check(self.demos > 0, f"{key}.demos", "must be > 0")
        check(self.demo_noise >= 0, f"{key}.demo_noise", "must be >= 0")
        check(self.episodes >= 0, f"{key}.episodes", "must be >= 0")
        check(self.eval_episodes >= 0, f"{key}.eval_episodes", "must be >= 0")
        check(self.video_episodes >= 0, f"{key}.video_episodes", "must be >= 0")
        check(self.pace_timeout_s > 0, f"{key}.pace_timeout_s", "must be > 0")


@dataclass
class CollectConfig:
    """``robot-rl collect``: scripted-expert demonstrations into the store (teleop on hardware)."""

    episodes: int = 20
    seed: int | None = None  # the first demonstration's seed; None: the root seed + 1000
    source: str = "demo"

    def validate(self, key: str) -> None:
        check(self.episodes > 0, f"{key}.episodes", "must be > 0")
        check(self.source in ("demo", "teleop", "sim"), f"{key}.source", "must be demo, teleop or sim")


@dataclass
class ActConfig:
    """``robot-rl act``: actor episodes (BC base + residual), recorded to the store."""

    episodes: int = 20
    seed: int | None = None  # the first episode's seed; None: the root seed
    explore: bool = True

    def validate(self, key: str) -> None:
        check(self.episodes > 0, f"{key}.episodes", "must be > 0")
