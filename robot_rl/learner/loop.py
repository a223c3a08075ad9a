"""The asynchronous learner: tails the replay store, trains the residual, publishes weights,
checkpoints, and resumes after a crash.

Frozen-feature mode (the default): each new episode's observations go through the frozen base
encoder once, on ingestion, so every update is MLP cost. The store stays the durable log: on restart
the cache is rebuilt from every committed episode, so no transition is lost, and training resumes
from the last checkpoint (networks, optimisers, counters). Updates are paced at ``utd`` per online
transition, so a fast learner does not overfit a slow robot.

Trainable-encoder mode (``learner.frozen_features=false``, for GPU machines): the cache keeps raw
observations (uint8 images per camera + state) and the residual trains its own copy of the base's image
encoder (see :mod:`robot_rl.learner.td3`); the frozen base still supplies the base action (recorded by the
actor, or computed on ingestion for demonstrations). Checkpoints and bundles then carry the encoder.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robot_rl.atomic import write_atomic
from robot_rl.config.schema import Config
from robot_rl.data.cache import ROW_KEYS, SIGNAL_KEYS, ReplayCache
from robot_rl.data.errors import StoreError
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import STATE_KEY, RowSchema, stored_image_key
from robot_rl.data.sampler import Sampler
from robot_rl.learner.metrics_log import MetricsLog, ScalarLog
from robot_rl.learner.pacing import LearnerProgress, write_progress
from robot_rl.learner.td3 import NonFiniteLossError, ResidualTD3, UpdateInfo
from robot_rl.learner.weights import WeightsPublisher
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import ChunkedBase
from robot_rl.policies.device import resolve_device
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.policies.help_model import HelpModel, attach
from robot_rl.policies.residual import combine
from robot_rl.spec import ACTION_DIM, image_key

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"  # one JSON line per published weights version (read by robot-rl report)


def load_checkpoint(path: str | os.PathLike[str], device: torch.device | str = "cpu") -> dict:
    """A learner checkpoint: tensors, numbers and strings only (``weights_only=True``), so a crafted file
    cannot run code when it is opened."""
    return torch.load(path, map_location=device, weights_only=True)


@dataclass
class LearnerStatus:
    updates: int
    version: int
    episodes: int
    online_transitions: int
    offline_transitions: int
    last: UpdateInfo | None


class Learner:
    def __init__(self, cfg: Config, store_path: str, base_path: str, publisher: WeightsPublisher,
                 work_dir: str | None = None) -> None:
        self.cfg = cfg
        self.frozen_features = cfg.learner.frozen_features
        self.device = resolve_device(cfg.learner.device)
        self.store_path = store_path
        self.base = ChunkedBase.load(base_path, execute_steps=1, device=self.device)
        self.cameras = list(self.base.net.cameras)
        self.obs_dim = self.base.features_dim
        self.publisher = publisher
        self.dir = Path(work_dir or cfg.learner.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        lc = cfg.learner
        scalars = ScalarLog.for_learner(self.dir, lc, self.dir.name,
                                        {"learner": dataclasses.asdict(lc), "seed": cfg.seed})
        self.metrics = MetricsLog(self.dir, METRICS, scalars)
        net = self.base.net
        encoder = None if self.frozen_features else ObservationEncoder.spec_of(net)
        self.td3 = ResidualTD3(self.obs_dim, cfg.learner, self.device, seed=cfg.seed, encoder=encoder)
        if encoder is not None:
            self.td3.encoder.copy_from(net)  # the residual's own encoder starts at the base's weights
            schema = RowSchema(cameras=tuple(self.cameras), image_hw=net.image_hw, state_dim=net.state_dim,
                               action_dim=ACTION_DIM)
        else:
            schema = RowSchema(cameras=(), state_dim=self.obs_dim, action_dim=ACTION_DIM)  # features as obs/state
        b = cfg.buffer
        self.cache = ReplayCache(schema, b.cache_capacity,
                                 n_step=b.n_step, gamma=b.gamma, reward_mode=b.reward_mode,
                                 offline_sources=b.offline_sources)
        self.sampler = Sampler(self.cache, cfg.learner.batch_size, offline_fraction=b.offline_fraction,
                               seed=cfg.seed, pin_memory=False)
        self.version = 0
        self.store: ReplayStore | None = None
        self.last: UpdateInfo | None = None
        self._reported: tuple[bool, int] | None = None
        self._help_rng = np.random.default_rng(cfg.seed + 7)
        self._resume()

    # ----------------------------------------------------------------------------- ingestion
    @torch.no_grad()
    def _featurize(self, cols: Mapping[str, np.ndarray], source: EpisodeSource) -> dict[str, np.ndarray]:
        """Store columns -> cache columns: with frozen features, observations become frozen-base features
        (T, F); with a trainable encoder they stay raw. For demonstrations (no base ran), the base's action
        is computed here, as the actor would have."""
        demo = source in (EpisodeSource.demo, EpisodeSource.teleop)
        if not (self.frozen_features or demo):
            return dict(cols)  # raw observations, and the base actions the actor recorded
        feats, base_actions = [], []
        n = len(cols[STATE_KEY])
        for s in range(0, n, 256):
            images = {c: torch.from_numpy(cols[stored_image_key(c)][s:s + 256]) for c in self.cameras}
            f = self.base.features(images, torch.from_numpy(cols[STATE_KEY][s:s + 256]))
            feats.append(f.cpu().numpy())
            base_actions.append(self.base.net.decode(f)[:, 0].cpu().numpy())
        if self.frozen_features:
            out = {k: v for k, v in cols.items() if not k.startswith("obs/")}
            out[STATE_KEY] = np.concatenate(feats).astype(np.float32)
        else:
            out = dict(cols)
        if demo:
            out["base_action"] = np.concatenate(base_actions).astype(np.float32)
            if not self.cfg.learner.use_base:  # a full policy: no base action, as the actor records
                out["base_action"][:] = 0.0
        return out

    def ingest(self) -> int:
        """Copy newly committed episodes into the feature cache (:meth:`ReplayCache.refresh`); returns how many."""
        if self.store is None:
            try:
                self.store = ReplayStore.open(self.store_path, "r")
            except StoreError:
                return 0  # the actor has not created the store yet
        keys = [*(stored_image_key(c) for c in self.cameras), STATE_KEY, *ROW_KEYS, *SIGNAL_KEYS]
        return self.cache.refresh(self.store, keys, self._featurize)

    @property
    def episodes_ingested(self) -> int:
        return self.cache.store_episodes_seen

    @property
    def skipped_episodes(self) -> list[int]:
        """Unreadable (damaged) store episodes passed over."""
        return self.cache.skipped_episodes

    # ------------------------------------------------------------------------------ training
    def pools(self) -> tuple[int, int]:
        off, on = self.cache.pools()
        return len(off), len(on)

    def updates_allowed(self) -> int:
        _, online = self.pools()
        if online < self.cfg.learner.min_online_transitions:
            return 0
        return self.cfg.learner.utd * online - self.td3.updates

    def _observations(self, b: Mapping[str, torch.Tensor], prefix: str) -> torch.Tensor | dict[str, torch.Tensor]:
        """The TD3 batch's ``obs``/``next_obs``: features, or raw ``{"images/<cam>", "state"}`` on the device."""
        dev = self.device
        if self.frozen_features:
            return b[f"{prefix}/state"].to(dev, non_blocking=True)
        out = {image_key(c): b[f"{prefix}/{image_key(c)}"].to(dev, non_blocking=True) for c in self.cameras}
        out["state"] = b[f"{prefix}/state"].to(dev, non_blocking=True)
        return out

    def update_once(self) -> UpdateInfo:
        b = self.sampler.sample()
        dev = self.device
        batch = {k: b[k].to(dev, non_blocking=True) for k in ("action", "base_action", "next_base_action", "reward",
                                                              "discount", "offline")}
        batch |= {"obs": self._observations(b, "obs"), "next_obs": self._observations(b, "next_obs")}
        self.last = self.td3.update(batch)
        u = self.td3.updates
        publishing = u % self.cfg.learner.publish_every == 0
        if publishing:
            self.version += 1
        if u % self.cfg.learner.checkpoint_every == 0:
            self.checkpoint()  # before the weights leave: a learner killed after this resumes past what it sent
        if publishing:
            self._send()
        return self.last

    def publish(self) -> int:
        """Send the residual's current weights as the next version; returns it."""
        self.version += 1
        self._send()
        return self.version

    def _send(self) -> None:
        b = self.td3.actor.to_bundle(self.version, extra={"updates": self.td3.updates})
        model = self.help_model()
        if model is not None:
            b = attach(b, model)
        self.publisher.publish(self.version, bundles.to_bytes(b))
        self._log_metrics()

    @torch.no_grad()
    def help_model(self) -> HelpModel | None:
        """The critics, a bank of training features and the help gate's calibration on the policy's recent
        steps (what the current actor would do there), for the actor's help gate; None when the gate needs no
        critics (``help.gate`` random / off) or no policy step has arrived yet."""
        h = self.cfg.help
        if h.gate not in ("score", "thrifty"):
            return None
        offline, online = self.cache.pools()
        own = online[~self.cache.arrays["intervened"][online]]
        if len(own) < 16:
            return None
        recent = own[-4 * h.calibration_rows:]
        cal = np.sort(self._help_rng.choice(recent, min(h.calibration_rows, len(recent)), replace=False))
        pool = np.setdiff1d(np.concatenate([offline, online]), cal)
        bank = np.sort(self._help_rng.choice(pool, min(h.bank_size, len(pool)), replace=False))
        base = torch.from_numpy(self.cache.arrays["base_action"][cal]).to(self.device)
        features = self._features(cal)
        action = combine(base, self.td3.actor.head(features, base), self.cfg.learner.residual_scale)
        return HelpModel.build(self.td3.critic, self._features(bank), features, action, budget=h.budget,
                               caution_budget=h.caution_budget)

    def _features(self, rows: np.ndarray) -> torch.Tensor:
        """(N, F) what the critics see for these cache rows (the frozen features, or the residual's encoder)."""
        arrays = self.cache.arrays
        if self.frozen_features:
            return torch.from_numpy(arrays[STATE_KEY][rows]).to(self.device)
        out = []
        for s in range(0, len(rows), 256):
            r = rows[s:s + 256]
            obs = {image_key(c): torch.from_numpy(arrays[stored_image_key(c)][r]).to(self.device)
                   for c in self.cameras}
            obs["state"] = torch.from_numpy(arrays[STATE_KEY][r]).to(self.device)
            out.append(self.td3.encoder(obs))
        return torch.cat(out)

    def _log_metrics(self) -> None:
        """Append ``{time, updates, version, episodes, losses, q_mean}`` to learner.dir/metrics.jsonl."""
        last, off, on = self.last, *self.pools()
        rec = {"time": time.time(), "updates": self.td3.updates, "version": self.version,
               "episodes": self.episodes_ingested, "online": on, "offline": off,
               "critic_loss": last.critic_loss if last else None,
               "actor_loss": last.actor_loss if last else None, "q_mean": last.q_mean if last else None}
        self.metrics.write(rec)

    def run(self, stop: Callable[[], bool] = lambda: False, max_updates: int | None = None,
            on_status: Callable[[LearnerStatus], None] | None = None) -> LearnerStatus:
        """Train until ``stop()`` or ``max_updates``; polls the store every ``buffer.poll_interval_s``."""
        max_updates = max_updates or self.cfg.learner.max_updates or None
        next_poll = 0.0
        try:
            while not stop() and (max_updates is None or self.td3.updates < max_updates):
                now = time.monotonic()
                if now >= next_poll:
                    if self.ingest() and on_status is not None:
                        on_status(self.status())
                    next_poll = now + self.cfg.buffer.poll_interval_s
                if self.updates_allowed() > 0:
                    self.report_progress(caught_up=False)
                    self.update_once()
                    if on_status is not None and self.td3.updates % self.cfg.learner.publish_every == 0:
                        on_status(self.status())
                else:
                    self.report_progress(caught_up=True)
                    time.sleep(min(0.05, max(0.0, next_poll - time.monotonic())))  # waiting for robot data
        except NonFiniteLossError:
            raise  # the checkpoint on disk is the last good state: do not overwrite it
        except BaseException:
            self._final_checkpoint()
            raise
        self._final_checkpoint()
        return self.status()

    def _final_checkpoint(self) -> None:
        if self.td3.updates:
            self.checkpoint()
        self.close()

    def close(self) -> None:
        """Close the TensorBoard / W&B sinks (every record is already on disk). Records after it still go to
        metrics.jsonl, not to them."""
        self.metrics.close()

    def report_progress(self, caught_up: bool) -> None:
        """``learner.dir/progress.json`` (robot_rl.learner.pacing), rewritten when what it says changes: new episodes
        ingested, or the budget for them trained. A paced twin reads it to know when to go on."""
        key = (caught_up, self.episodes_ingested)
        if key != self._reported:
            self._reported = key
            write_progress(self.dir, LearnerProgress(self.td3.updates, self.pools()[1], self.episodes_ingested,
                                                     caught_up))

    def status(self) -> LearnerStatus:
        off, on = self.pools()
        return LearnerStatus(self.td3.updates, self.version, self.episodes_ingested, on, off, self.last)

    # ---------------------------------------------------------------------- checkpoint/resume
    def checkpoint(self) -> Path:
        buf = io.BytesIO()
        torch.save({"td3": self.td3.state(), "version": self.version, "obs_dim": self.obs_dim,
                    "frozen_features": self.frozen_features, "episodes_ingested": self.episodes_ingested}, buf)
        return write_atomic(self.dir / CHECKPOINT, buf.getvalue())

    def _resume(self) -> None:
        path = self.dir / CHECKPOINT
        if not path.is_file():
            return
        state = load_checkpoint(path, self.device)
        if state["obs_dim"] != self.obs_dim:
            raise ValueError(f"{path} was trained on {state['obs_dim']} features, this base gives {self.obs_dim}; "
                             "use a fresh learner.dir for a new base policy")
        was_frozen = bool(state.get("frozen_features", True))
        if was_frozen != self.frozen_features:
            raise ValueError(f"{path} was trained with learner.frozen_features={str(was_frozen).lower()}, this "
                             f"learner runs learner.frozen_features={str(self.frozen_features).lower()}; "
                             "use that setting or a fresh learner.dir")
        self.td3.load_state(state["td3"])
        self.version = int(state["version"])
        log.info("resumed learner from %s: %d updates, weights v%d", path, self.td3.updates, self.version)
