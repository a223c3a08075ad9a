"""Train the behaviour-cloning base policy on the store's demonstrations; save it to policy.path.

Image encoders are trained from scratch. Shows a progress bar with train/validation loss; with
policy.eval_every=N it also evaluates in simulation every N epochs on policy.eval_episodes seeds.
"""

from __future__ import annotations

import argparse

from robot_rl.actor.wiring import load_policy
from robot_rl.config import Config
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import BCNetwork
from robot_rl.policies.train_bc import BCHistory, load_dataset, train_bc
from robot_rl.sim.harness.evaluate import eval_seeds, evaluate


def train_and_save(cfg: Config, progress: bool = True) -> tuple[BCNetwork, BCHistory]:
    data = load_dataset(cfg.buffer.path, cfg.camera.names, cfg.policy.chunk)
    env_holder: list = []

    def sim_eval(net: BCNetwork) -> float:
        from robot_rl.sim.env import PickPlaceEnv

        if not env_holder:
            env_holder.append(PickPlaceEnv(cfg))
        bundles.save(net.to_bundle(), cfg.policy.path)
        rate, _ = evaluate(env_holder[0], load_policy(cfg), eval_seeds(cfg.policy.eval_episodes))
        return rate

    try:
        net, history = train_bc(cfg, data, evaluate=sim_eval if cfg.policy.eval_every else None, progress=progress)
    finally:
        for env in env_holder:
            env.close()
    bundles.save(net.to_bundle(extra={"samples": len(data), "train_loss": history.train_loss[-1],
                                      "val_loss": history.val_loss[-1] if history.val_loss else None}),
                 cfg.policy.path)
    return net, history


def run(args: argparse.Namespace, cfg: Config) -> int:
    _, history = train_and_save(cfg)
    val = f", validation {history.val_loss[-1]:.4f}" if history.val_loss else ""
    print(f"saved BC base to {cfg.policy.path} (train loss {history.train_loss[-1]:.4f}{val})")
    return 0
