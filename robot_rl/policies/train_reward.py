"""Train the reward classifier on labelled frames from replay stores; calibrate its threshold.

Labels come from a store's ``success_label`` field where it has one (the twin's check at every frame, or the
person's keys), else from its episodes: a frame shows success when the step into it reached success. Frames
labelled -1 (unlabelled) are left out. The validation split is by episode (new scenes, not neighbouring frames
of the training ones), and it is where the threshold is calibrated: the lowest that keeps the validation
negatives' false-positive rate at or under ``reward.train.target_fpr``, never under 0.5.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from robot_rl.config.schema import Config
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import STATE_KEY, stored_image_key
from robot_rl.policies.device import resolve_device
from robot_rl.policies.reward_classifier import RewardClassifier
from robot_rl.spec import STATE, image_key


@dataclass
class LabelledFrames:
    images: dict[str, np.ndarray]  # camera -> (N, H, W, 3) uint8
    state: np.ndarray  # (N, D) float32
    label: np.ndarray  # (N,) bool: the frame shows success
    episode: np.ndarray  # (N,) int64: a running episode number over all the stores read

    def __len__(self) -> int:
        return len(self.label)

    def take(self, idx: np.ndarray) -> LabelledFrames:
        return LabelledFrames({c: v[idx] for c, v in self.images.items()}, self.state[idx], self.label[idx],
                              self.episode[idx])


def frame_labels(cols: dict[str, np.ndarray]) -> np.ndarray:
    """``(T,) int8`` label of each row's frame: ``success_label`` when stored, else 1 where the previous step
    reached success (an episode's final frame after a success), 0 elsewhere."""
    if "success_label" in cols:
        return np.asarray(cols["success_label"], dtype=np.int8)
    out = np.zeros(len(cols["success"]), dtype=np.int8)
    out[1:] = np.asarray(cols["success"][:-1], dtype=bool)
    return out


def load_frames(paths: Sequence[str], cameras: Iterable[str]) -> LabelledFrames:
    """Every labelled frame of the stores at ``paths``. Raises ValueError naming a camera a store lacks."""
    cameras = list(cameras)
    images: dict[str, list[np.ndarray]] = {c: [] for c in cameras}
    states, labels, episodes = [], [], []
    n_ep = 0
    for path in paths:
        with ReplayStore.open(path, "r") as store:
            lacking = [c for c in cameras if c not in store.schema.cameras]
            if lacking:
                raise ValueError(f"{path} has no camera {lacking} (it has {list(store.schema.cameras)}); "
                                 "set camera.names to the cameras the classifier should see")
            keys = [*(stored_image_key(c) for c in cameras), STATE_KEY, "success"]
            if store.schema.reward:
                keys.append("success_label")
            for ep in range(store.n_episodes):
                cols = store.read_episode(ep, keys)
                lab = frame_labels(cols)
                keep = np.flatnonzero(lab >= 0)
                if len(keep):
                    for c in cameras:
                        images[c].append(cols[stored_image_key(c)][keep])
                    states.append(cols[STATE_KEY][keep])
                    labels.append(lab[keep] == 1)
                    episodes.append(np.full(len(keep), n_ep))
                n_ep += 1
    if not labels:
        raise ValueError(f"no labelled frames in {list(paths)}: record some with robot-rl reward collect")
    return LabelledFrames({c: np.concatenate(v) for c, v in images.items()}, np.concatenate(states).astype(np.float32),
                          np.concatenate(labels), np.concatenate(episodes))


def check_two_classes(frames: LabelledFrames, where: str = "the labelled frames") -> None:
    """Refuse data of one class: a classifier trained on it says that class to everything."""
    pos = int(frames.label.sum())
    if pos == 0 or pos == len(frames):
        kind = "successes" if pos else "non-successes"
        raise ValueError(f"{where} are all {kind} ({len(frames)} frames, {frames.episode.max() + 1} episodes): "
                         "a classifier needs both; label some frames of the other kind (in the twin, "
                         "robot-rl reward collect labels both)")


def calibrate_threshold(neg_probs: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold at which at most ``target_fpr`` of these negatives score at or above it (>= 0.5)."""
    if not len(neg_probs):
        return 0.5
    allowed = math.floor(target_fpr * len(neg_probs))
    ranked = np.sort(neg_probs)[::-1]
    if allowed >= len(ranked):
        return 0.5
    return float(max(0.5, np.nextafter(np.float32(ranked[allowed]), np.float32(1.0))))


@dataclass
class RewardHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)  # at 0.5, per epoch
    threshold: float = 0.5
    val_fpr: float = 0.0  # per frame, at the calibrated threshold
    val_recall: float = 0.0
    val_accuracy_final: float = 0.0
    train_frames: int = 0
    val_frames: int = 0
    positives: int = 0
    best_epoch: int = 0


def split_by_episode(frames: LabelledFrames, val_fraction: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) frame indices, whole episodes each, both holding both classes where possible."""
    eps = np.unique(frames.episode)
    n_val = max(1, round(len(eps) * val_fraction)) if len(eps) > 1 else 0
    for _ in range(20):  # a draw whose validation lacks a class cannot calibrate: draw again
        val_eps = rng.choice(eps, size=n_val, replace=False)
        is_val = np.isin(frames.episode, val_eps)
        if len(np.unique(frames.label[is_val])) == 2 and len(np.unique(frames.label[~is_val])) == 2:
            break
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _tensors(frames: LabelledFrames, idx: np.ndarray, device: torch.device) -> dict[str, torch.Tensor]:
    x = {image_key(c): torch.from_numpy(frames.images[c][idx]).to(device) for c in frames.images}
    x[STATE] = torch.from_numpy(frames.state[idx]).to(device)
    return x


def predict(net: RewardClassifier, frames: LabelledFrames, batch: int = 512) -> np.ndarray:
    """(N,) P(success) of every frame."""
    device = next(net.parameters()).device
    net.eval()
    return np.concatenate([net.probability(_tensors(frames, np.arange(i, min(i + batch, len(frames))), device)
                                           ).cpu().numpy() for i in range(0, len(frames), batch)])


def train_classifier(cfg: Config, frames: LabelledFrames, progress: bool = True
                     ) -> tuple[RewardClassifier, RewardHistory]:
    """Train from scratch; keep the epoch with the lowest validation loss; calibrate its threshold."""
    t = cfg.reward.train
    check_two_classes(frames)
    device = resolve_device(t.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    train_idx, val_idx = split_by_episode(frames, t.val_fraction, rng)
    cams = list(frames.images)
    net = RewardClassifier(cams, frames.images[cams[0]].shape[1:3], frames.state.shape[1], cfg.task.name,
                           t.input_size, t.feature_dim, t.use_state)
    net.state_mean.copy_(torch.from_numpy(frames.state[train_idx].mean(0)))
    net.state_std.copy_(torch.from_numpy(frames.state[train_idx].std(0) + 1e-3))
    net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    y_all = torch.from_numpy(frames.label.astype(np.float32))
    pos = float(frames.label[train_idx].sum())
    pos_weight = torch.tensor(min(10.0, max(1.0, (len(train_idx) - pos) / max(pos, 1.0))), device=device)
    history = RewardHistory(train_frames=len(train_idx), val_frames=len(val_idx), positives=int(frames.label.sum()))
    best: tuple[float, dict] | None = None
    bar = tqdm(range(t.epochs), desc="reward train", unit="epoch", disable=not progress)
    for epoch in bar:
        net.train()
        losses = []
        order = rng.permutation(train_idx)
        for i in range(0, len(order), t.batch_size):
            idx = order[i:i + t.batch_size]
            logits = net(_tensors(frames, idx, device), augment_pad=t.augment_pad)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y_all[idx].to(device),
                                                                        pos_weight=pos_weight)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"reward classifier loss became {float(loss)} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.train_loss.append(float(np.mean(losses)))
        val = frames.take(val_idx)
        p = np.clip(predict(net, val), 1e-6, 1 - 1e-6)
        val_loss = float(-np.mean(np.where(val.label, np.log(p), np.log(1 - p))))
        history.val_loss.append(val_loss)
        history.val_accuracy.append(float(np.mean((p >= 0.5) == val.label)))
        if best is None or val_loss < best[0]:
            best = (val_loss, copy.deepcopy(net.state_dict()))
            history.best_epoch = epoch + 1
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", val=f"{val_loss:.3f}",
                        acc=f"{history.val_accuracy[-1]:.1%}")
    assert best is not None
    net.load_state_dict(best[1])
    val = frames.take(val_idx)
    p = predict(net, val)
    net.threshold = calibrate_threshold(p[~val.label], t.target_fpr)
    hit = p >= net.threshold
    history.threshold = net.threshold
    history.val_fpr = float(hit[~val.label].mean()) if (~val.label).any() else 0.0
    history.val_recall = float(hit[val.label].mean()) if val.label.any() else 0.0
    history.val_accuracy_final = float(np.mean(hit == val.label))
    return net.cpu().eval(), history
