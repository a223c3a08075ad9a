"""The actor-side policy: frozen base + scale * residual, with residual weights swapped in between
control ticks. Never blocks on the learner: a new bundle is polled, verified and swapped, or refused
(the current weights stay).

With ``learner.frozen_features=false`` the residual has its own image encoder (carried in its bundles) and
computes the residual from the raw observation; the base still runs as before for the base action. A
bundle of the other mode is refused, as is one whose encoder does not fit this base's cameras and state."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from robot_rl.config.schema import LearnerConfig
from robot_rl.learner.weights import WeightsSubscriber
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import ChunkedBase
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.policies.help_model import HelpModel, split_bundle
from robot_rl.policies.residual import ResidualActor, combine
from robot_rl.spec import image_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyOutput:
    base_action: np.ndarray  # (7,)
    residual_action: np.ndarray  # (7,) in [-1, 1], before scaling
    action: np.ndarray  # (7,) base + scale * residual, clipped to [-1, 1]
    features: torch.Tensor | None = None  # (1, F) what the critics see of this observation (the help gate's input)


class ResidualPolicy:
    def __init__(self, base: ChunkedBase, cfg: LearnerConfig, device: torch.device, seed: int = 0) -> None:
        self.base = base
        self.cfg = cfg
        self.device = device
        encoder = None if cfg.frozen_features else ObservationEncoder.spec_of(base.net)
        self.actor = ResidualActor(base.features_dim, cfg.hidden_dim, encoder=encoder)
        if encoder is not None:
            self.actor.encoder.copy_from(base.net)  # what the learner starts from, until its first bundle
        self.actor = self.actor.to(device).eval()
        self.version = 0
        self.refused = 0
        self.help_model: HelpModel | None = None  # critics + novelty bank + calibration, from the last bundle
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        self.base.reset()

    @torch.no_grad()
    def act(self, obs: Mapping[str, np.ndarray], explore: bool = False) -> PolicyOutput:
        base_action, feats = self.base.act(obs)
        if not self.cfg.use_base:  # a full policy (learner.use_base=false): the features only
            base_action = np.zeros_like(base_action)
        if self.actor.frozen_features:
            x: torch.Tensor | dict[str, torch.Tensor] = torch.from_numpy(feats)[None].to(self.device)
        else:
            x = {image_key(c): torch.from_numpy(np.ascontiguousarray(obs[image_key(c)]))[None].to(self.device)
                 for c in self.actor.encoder.cameras}
            x["state"] = torch.from_numpy(np.asarray(obs["state"], dtype=np.float32))[None].to(self.device)
        features = self.actor.encoder(x)
        residual = self.actor.head(features, torch.from_numpy(base_action)[None].to(self.device))[0].cpu().numpy()
        if explore and self.cfg.exploration_noise > 0:
            residual = np.clip(residual + self.rng.normal(0, self.cfg.exploration_noise, residual.shape), -1, 1)
        action = np.clip(base_action + self.cfg.residual_scale * residual, -1.0, 1.0)
        return PolicyOutput(base_action, residual.astype(np.float32), action.astype(np.float32), features)

    @torch.no_grad()
    def shifted_actions(self, obs: Mapping[str, np.ndarray], samples: int, pad: int) -> np.ndarray:
        """(samples, 7) the policy's action on randomly shifted copies of the images (DrQ shifts of up to ``pad``
        pixels): an ensemble by augmentation, whose spread is the ``thrifty`` help gate's novelty."""
        net = self.base.net
        x = {image_key(c): torch.from_numpy(np.ascontiguousarray(obs[image_key(c)]))[None].to(self.device)
             .expand(samples, -1, -1, -1) for c in net.cameras}
        x["state"] = torch.from_numpy(np.asarray(obs["state"], dtype=np.float32))[None].to(self.device) \
            .expand(samples, -1)
        feats = net.observation(x, pad)
        base = net.decode(feats)[:, 0] if self.cfg.use_base else torch.zeros(samples, 7, device=self.device)
        own = feats if self.actor.frozen_features else self.actor.encoder(x, pad)
        return combine(base, self.actor.head(own, base), self.cfg.residual_scale).cpu().numpy()

    def load_bundle(self, data: bytes) -> int:
        """Verify and swap in a residual bundle; raises :class:`BundleError` and keeps the old weights."""
        b, help_model = split_bundle(bundles.from_bytes(data, kind="residual"))
        theirs, ours = b.config.get("encoder"), self.actor.encoder.spec
        if (theirs is None) != (ours is None):
            raise bundles.BundleError(
                f"residual bundle v{b.version} is for learner.frozen_features={str(theirs is None).lower()} "
                f"({_mode(theirs)}), this actor runs learner.frozen_features={str(ours is None).lower()} "
                f"({_mode(ours)}): run the actor and the learner with the same setting")
        try:
            candidate = ResidualActor.from_bundle(b)  # shape / key check against a fresh network
        except bundles.BundleError:
            raise
        except (KeyError, TypeError, ValueError) as exc:  # an encoder spec that describes no network
            raise bundles.BundleError(f"residual bundle v{b.version} has a bad config: {exc}") from None
        if candidate.obs_dim != self.actor.obs_dim:
            raise bundles.BundleError(f"residual bundle v{b.version} expects {candidate.obs_dim} features, "
                                      f"the base gives {self.actor.obs_dim}")
        if candidate.encoder.spec != ours:
            raise bundles.BundleError(f"residual bundle v{b.version} has an encoder for {candidate.encoder.spec}, "
                                      f"this base observes {ours}")
        if help_model is not None and help_model.obs_dim != self.actor.obs_dim:
            raise bundles.BundleError(f"residual bundle v{b.version} has critics for {help_model.obs_dim} features, "
                                      f"the base gives {self.actor.obs_dim}")
        self.actor.load_state_dict(candidate.state_dict())
        self.help_model = None if help_model is None else help_model.to(self.device)
        self.version = b.version
        return b.version

    def poll_weights(self, subscriber: WeightsSubscriber | None) -> bool:
        """Between ticks: take the newest published weights if any. True when swapped."""
        if subscriber is None:
            return False
        update = subscriber.poll()
        if update is None:
            return False
        version, data = update
        try:
            self.load_bundle(data)
        except bundles.BundleError as exc:
            self.refused += 1
            log.warning("refused residual weights v%d, keeping v%d: %s", version, self.version, exc)
            return False
        return True


def _mode(spec: object) -> str:
    return "frozen base features" if spec is None else "its own trainable image encoder"
