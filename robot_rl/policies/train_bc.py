"""Train the BC base policy from demonstrations in a replay store.

Targets are action chunks: for step t, the executed actions t..t+K-1 of the same episode (padded with
the episode's last action). Validation is split by episode so it measures generalisation to new
initial conditions; an optional callback evaluates the policy in simulation every few epochs.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from robot_rl.config.schema import Config
from robot_rl.data.layout import EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import STATE_KEY, stored_image_key
from robot_rl.policies.bc import BCNetwork
from robot_rl.policies.device import resolve_device

log = logging.getLogger(__name__)


@dataclass
class BCDataset:
    images: dict[str, np.ndarray]  # camera -> (N, H, W, 3) uint8
    state: np.ndarray  # (N, D) float32
    chunks: np.ndarray  # (N, K, 7) float32
    episode: np.ndarray  # (N,) int64, store episode of each sample

    def __len__(self) -> int:
        return len(self.state)


def load_dataset(store_path: str, cameras: Iterable[str], chunk: int,
                 sources: Iterable[str] = ("demo", "teleop"), interventions: bool = False) -> BCDataset:
    """Samples from every episode of the given sources, plus (``interventions``) the human-driven steps
    of other episodes — the HG-DAgger data."""
    cameras = list(cameras)
    keep = {EpisodeSource.parse(s) for s in sources}
    images: dict[str, list[np.ndarray]] = {c: [] for c in cameras}
    states, chunks, episodes = [], [], []
    with ReplayStore.open(store_path, "r") as store:
        meta = store.meta()
        for ep in range(store.n_episodes):
            whole = EpisodeSource(int(meta["source"][ep])) in keep
            if not whole and not interventions:
                continue
            cols = store.read_episode(ep, [*(stored_image_key(c) for c in cameras), STATE_KEY, "action", "intervened"])
            n = len(cols["action"]) - 1  # the last row is the final observation
            if n <= 0:
                continue
            rows = np.arange(n) if whole else np.flatnonzero(cols["intervened"][:n])
            if not len(rows):
                continue
            idx = np.minimum(rows[:, None] + np.arange(chunk)[None, :], n - 1)
            chunks.append(cols["action"][idx])
            states.append(cols[STATE_KEY][rows])
            for c in cameras:
                images[c].append(cols[stored_image_key(c)][rows])
            episodes.append(np.full(len(rows), ep))
    if not states:
        raise ValueError(f"no demonstrations in {store_path} (sources {sorted(s.name for s in keep)}); "
                         "record some with: robot-rl collect")
    return BCDataset(images={c: np.concatenate(v) for c, v in images.items()}, state=np.concatenate(states),
                     chunks=np.concatenate(chunks).astype(np.float32), episode=np.concatenate(episodes))


@dataclass
class BCHistory:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    eval_success: list[tuple[int, float]] = field(default_factory=list)


def _batches(n: int, batch_size: int, rng: np.random.Generator | None) -> Iterable[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


def train_bc(cfg: Config, data: BCDataset, evaluate: Callable[[BCNetwork], float] | None = None,
             progress: bool = True, init: BCNetwork | None = None, epochs: int | None = None,
             ) -> tuple[BCNetwork, BCHistory]:
    """Train a new network, or fine-tune ``init`` (its normalisation kept) for ``epochs`` epochs."""
    p = cfg.policy
    device = resolve_device(p.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    eps = np.unique(data.episode)
    n_val = round(len(eps) * p.val_fraction) if len(eps) > 1 else 0
    val_eps = rng.choice(eps, size=n_val, replace=False) if n_val else np.array([], dtype=int)
    is_val = np.isin(data.episode, val_eps)
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)

    cameras = list(data.images)
    if init is None:
        net = BCNetwork(cameras, data.images[cameras[0]].shape[1:3], data.state.shape[1], p.chunk,
                        p.feature_dim, p.hidden_dim)
        net.set_state_stats(data.state[train_idx])
    else:
        net = copy.deepcopy(init)
        for param in net.parameters():
            param.requires_grad_(True)
    net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)

    def tensors(idx: np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        imgs = {c: torch.from_numpy(data.images[c][idx]).to(device) for c in cameras}
        return imgs, torch.from_numpy(data.state[idx]).to(device), torch.from_numpy(data.chunks[idx]).to(device)

    history = BCHistory()
    bar = tqdm(range(epochs or p.epochs), desc="train-bc", unit="epoch", disable=not progress)
    for epoch in bar:
        net.train()
        losses = []
        for idx in _batches(len(train_idx), p.batch_size, rng):
            imgs, state, target = tensors(train_idx[idx])
            loss = torch.nn.functional.mse_loss(net(imgs, state, augment_pad=p.augment_pad), target)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"BC loss became {float(loss)} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.train_loss.append(float(np.mean(losses)))
        if len(val_idx):
            net.eval()
            with torch.no_grad():
                val = [float(torch.nn.functional.mse_loss(net(*tensors(val_idx[idx])[:2]), tensors(val_idx[idx])[2]))
                       for idx in _batches(len(val_idx), 256, None)]
            history.val_loss.append(float(np.mean(val)))
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if history.val_loss:
            postfix["val"] = f"{history.val_loss[-1]:.4f}"
        if evaluate is not None and p.eval_every and (epoch + 1) % p.eval_every == 0:
            net.eval()
            rate = evaluate(net)
            history.eval_success.append((epoch + 1, rate))
            postfix["success"] = f"{rate:.0%}"
        bar.set_postfix(postfix)
    net.eval()
    return net.cpu(), history
