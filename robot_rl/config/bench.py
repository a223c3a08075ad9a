"""Config of ``robot-rl bench`` (the suites live in the repository's ``benchmarks/``): repetitions, the learning
experiment, the soak, the replay-buffer benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.checks import check

LEARNING_VARIANTS = ("bc", "residual_sparse", "residual_rlif_human", "hg_dagger", "hil_serl")
HELP_VARIANTS = ("always", "gated_score", "gated_thrifty", "gated_random")
REWARD_VARIANTS = ("ground_truth", "classifier")


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
        _check_experiment(self, key, LEARNING_VARIANTS)
        check(self.demos > 0, f"{key}.demos", "must be > 0")
        check(self.demo_noise >= 0, f"{key}.demo_noise", "must be >= 0")
        check(self.workers >= 1, f"{key}.workers", "must be >= 1")
        check(self.dagger_every > 0 and self.dagger_epochs > 0, f"{key}.dagger_every/dagger_epochs", "must be > 0")


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
        check(self.minutes > 0, f"{key}.minutes", "must be > 0")
        bad = [f for f in self.faults if f not in SOAK_FAULTS]
        check(not bad, f"{key}.faults", f"unknown {bad}; known: {list(SOAK_FAULTS)}")
        check(0 < self.gap_min_s <= self.gap_max_s, f"{key}.gap_min_s/gap_max_s", "need 0 < gap_min_s <= gap_max_s")
        check(self.fault_s > 0, f"{key}.fault_s", "must be > 0")
        check(self.delay_s > 0, f"{key}.delay_s", "must be > 0")
        check(0 < self.drop_fraction <= 1, f"{key}.drop_fraction", "must be in (0, 1]")
        check(self.stop_slack_s >= 0 and self.age_slack_s >= 0, f"{key}.stop_slack_s/age_slack_s", "must be >= 0")
        check(self.recover_timeout_s > 0, f"{key}.recover_timeout_s", "must be > 0")
        check(self.rss_growth_mb >= 0 and self.fd_growth >= 0, f"{key}.rss_growth_mb/fd_growth", "must be >= 0")
        check(self.min_track_s > 0 and self.sample_s > 0, f"{key}.min_track_s/sample_s", "must be > 0")
        check(self.warmup_s >= 0, f"{key}.warmup_s", "must be >= 0")
        check(self.store_mb >= 16, f"{key}.store_mb", "must be >= 16")


@dataclass
class HelpBenchConfig:
    """``robot-rl bench help``: who watches, on the learning experiment's seeds and BC bases (made, or kept, in
    ``base_from``/seed<k>, as ``bench.learning`` makes them). Each variant trains the residual for ``env_steps``
    with the simulated human (rewards: ``buffer.reward_mode``), every variant with the same graded response
    (``help.*``): ``always`` watches every step; ``gated_*`` looks only when asked (or at a glance), asked by our
    score, by ThriftyDAgger's gate, or at random at the same budget. Every ``eval_every`` steps the policy runs alone on
    ``eval_episodes`` held-out seeds with its gate scoring in the shadow: a request is *right* when the episode
    then fails or the policy drifts from the expert within ``horizon`` steps (recall: the failed episodes that
    had a request)."""

    seeds: list[int] = field(default_factory=lambda: [0])
    variants: list[str] = field(default_factory=lambda: list(HELP_VARIANTS))
    env_steps: int = 20_000
    eval_every: int = 2_000
    eval_episodes: int = 50
    horizon: int = 20
    base_from: str = "runs/bench-learning"
    resume: bool = True
    out_dir: str = "runs/bench-help"

    def validate(self, key: str) -> None:
        _check_experiment(self, key, HELP_VARIANTS)
        check(self.horizon >= 1, f"{key}.horizon", "must be >= 1")


def _check_experiment(cfg: LearningBenchConfig | HelpBenchConfig | RewardBenchConfig, key: str,
                      known: tuple[str, ...]) -> None:
    """What both experiments share: known variants, some seeds, a budget of steps and its evaluations."""
    bad = [v for v in cfg.variants if v not in known]
    check(not bad, f"{key}.variants", f"unknown {bad}; known: {list(known)}")
    check(len(cfg.seeds) > 0, f"{key}.seeds", "needs at least one seed")
    check(cfg.env_steps > 0, f"{key}.env_steps", "must be > 0")
    check(0 < cfg.eval_every <= cfg.env_steps, f"{key}.eval_every", "must be in (0, env_steps]")
    check(cfg.eval_episodes > 0, f"{key}.eval_episodes", "must be > 0")


@dataclass
class RewardBenchConfig:
    """``robot-rl bench reward``: the reward classifier against the twin's ground truth.

    It collects ``train_minutes`` of labelled robot time (``reward.collect.*``, from ``reward.collect.seed``) and
    trains on it (``reward.train.*``), timed; then scores it on ``test_minutes`` from the held-out seeds at
    ``test_seed``: per frame (false positives, recall, accuracy at the calibrated threshold) and per episode as
    the actor uses it (``reward.consecutive`` frames in a row: episodes ending on a false success, detection
    delay). Then, unless ``learning`` is false, the learning experiment's residual with the simulated human on
    ``seeds`` (bases made or kept in ``base_from``/seed<k>) for ``env_steps``, once with the twin's success
    and once with the classifier's (``variants``), rewarded by ``reward_mode``, evaluated on the ground truth
    every ``eval_every`` steps on ``eval_episodes`` held-out seeds."""

    train_minutes: float = 10.0
    test_minutes: float = 5.0
    test_seed: int = 90_000
    learning: bool = True
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    variants: list[str] = field(default_factory=lambda: list(REWARD_VARIANTS))
    env_steps: int = 10_000
    eval_every: int = 2_500
    eval_episodes: int = 50
    reward_mode: str = "both"
    base_from: str = "runs/bench-learning"
    resume: bool = True
    out_dir: str = "runs/bench-reward"

    def validate(self, key: str) -> None:
        check(self.train_minutes > 0 and self.test_minutes > 0, f"{key}.train_minutes/test_minutes", "must be > 0")
        check(self.reward_mode in ("rlif", "sparse", "both"), f"{key}.reward_mode",
              f"must be rlif, sparse or both; got {self.reward_mode!r}")
        _check_experiment(self, key, REWARD_VARIANTS)


@dataclass
class InteropBenchConfig:
    """``robot-rl bench interop``: how many scripted-expert twin episodes to convert (about 10 s of robot time
    each at the default task)."""

    episodes: int = 12

    def validate(self, key: str) -> None:
        check(self.episodes >= 1, f"{key}.episodes", "must be >= 1")


@dataclass
class BenchConfig:
    """``robot-rl bench``: repetitions and where results go."""

    steps: int = 300
    warmup: int = 20
    out_dir: str = "bench_results"
    learning: LearningBenchConfig = field(default_factory=LearningBenchConfig)
    help: HelpBenchConfig = field(default_factory=HelpBenchConfig)
    soak: SoakBenchConfig = field(default_factory=SoakBenchConfig)
    reward: RewardBenchConfig = field(default_factory=RewardBenchConfig)
    interop: InteropBenchConfig = field(default_factory=InteropBenchConfig)

    def validate(self, key: str) -> None:
        check(self.steps > 0, f"{key}.steps", "must be > 0")
        check(self.warmup >= 0, f"{key}.warmup", "must be >= 0")
        self.learning.validate(f"{key}.learning")
        self.help.validate(f"{key}.help")
        self.soak.validate(f"{key}.soak")
        self.reward.validate(f"{key}.reward")
        self.interop.validate(f"{key}.interop")


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
            check(getattr(self, name) > 0, f"{key}.{name}", "must be > 0")
        check(self.episode_len >= 2, f"{key}.episode_len", "must be >= 2 (one transition)")
        check(self.cache_transitions >= self.episode_len, f"{key}.cache_transitions",
               f"must be >= episode_len ({self.episode_len})")

