"""Config of learning: the replay store and its sampler, the BC base policy, the residual learner."""

from __future__ import annotations

from dataclasses import dataclass, field

from robot_rl.config.bench import BufferBenchConfig
from robot_rl.config.checks import check
from robot_rl.data.modes import CrashPolicy, RewardMode


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
        check(bool(self.path), f"{key}.path", "must not be empty")
        check(self.queue_size > 0, f"{key}.queue_size", f"must be > 0, got {self.queue_size}")
        check(self.chunk_len > 0, f"{key}.chunk_len", f"must be > 0, got {self.chunk_len}")
        check(self.min_free_mb >= 0, f"{key}.min_free_mb", f"must be >= 0, got {self.min_free_mb}")
        check(self.compression in ("lz4", "zstd", "none"), f"{key}.compression",
               f"must be one of lz4, zstd, none; got {self.compression!r}")
        check(0 <= self.compression_level <= 9, f"{key}.compression_level", "must be in [0, 9]")
        check(0.0 <= self.offline_fraction <= 1.0, f"{key}.offline_fraction",
               f"must be in [0, 1], got {self.offline_fraction}")
        known = ("demo", "policy", "sim", "teleop")
        bad = [s for s in self.offline_sources if s not in known]
        check(not bad, f"{key}.offline_sources", f"unknown source(s) {bad}; known: {list(known)}")
        check(self.n_step >= 1, f"{key}.n_step", f"must be >= 1, got {self.n_step}")
        check(0.0 < self.gamma <= 1.0, f"{key}.gamma", f"must be in (0, 1], got {self.gamma}")
        check(self.cache_capacity > 0, f"{key}.cache_capacity", "must be > 0")
        check(self.poll_interval_s > 0, f"{key}.poll_interval_s", "must be > 0")
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
        check(self.chunk >= 1, f"{key}.chunk", f"must be >= 1, got {self.chunk}")
        check(1 <= self.execute_steps <= self.chunk, f"{key}.execute_steps",
               f"must be in [1, chunk={self.chunk}], got {self.execute_steps}")
        check(self.feature_dim > 0 and self.hidden_dim > 0, f"{key}.feature_dim/hidden_dim", "must be > 0")
        check(self.epochs > 0, f"{key}.epochs", "must be > 0")
        check(self.batch_size > 0, f"{key}.batch_size", "must be > 0")
        check(self.lr > 0, f"{key}.lr", "must be > 0")
        check(0.0 <= self.val_fraction < 1.0, f"{key}.val_fraction", "must be in [0, 1)")
        check(self.augment_pad >= 0, f"{key}.augment_pad", "must be >= 0")
        check(self.device in ("auto", "cpu", "cuda"), f"{key}.device", "must be auto, cpu or cuda")


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
    tensorboard: bool = True  # event files in <dir>/tensorboard beside metrics.jsonl
    wandb: str = "off"  # off | offline | online (needs the wandb package)
    wandb_project: str = "robot_rl"

    def validate(self, key: str) -> None:
        check(self.wandb in ("off", "offline", "online"), f"{key}.wandb",
              f"must be off, offline or online; got {self.wandb!r}")
        check(0 < self.residual_scale <= 1, f"{key}.residual_scale", "must be in (0, 1]")
        check(self.num_critics >= 2, f"{key}.num_critics", "must be >= 2")
        check(1 <= self.critic_subsample <= self.num_critics, f"{key}.critic_subsample",
               f"must be in [1, num_critics={self.num_critics}]")
        check(self.utd >= 1, f"{key}.utd", "must be >= 1")
        check(self.batch_size > 1, f"{key}.batch_size", "must be > 1")
        check(self.actor_lr > 0 and self.critic_lr > 0, f"{key}.actor_lr/critic_lr", "must be > 0")
        check(0 < self.tau <= 1, f"{key}.tau", "must be in (0, 1]")
        check(self.policy_delay >= 1, f"{key}.policy_delay", "must be >= 1")
        check(self.residual_penalty >= 0 and self.demo_bc_weight >= 0, f"{key}.residual_penalty/demo_bc_weight",
               "must be >= 0")
        check(self.publish_every >= 1 and self.checkpoint_every >= 1, f"{key}.publish_every/checkpoint_every",
               "must be >= 1")
        check(self.augment_pad >= 0, f"{key}.augment_pad", "must be >= 0")
        check(self.device in ("auto", "cpu", "cuda"), f"{key}.device", "must be auto, cpu or cuda")
