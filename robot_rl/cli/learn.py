"""Run the asynchronous residual learner until interrupted (Ctrl-C or SIGTERM).

Tails the store at buffer.path, trains the residual on the frozen base from policy.path, publishes
weights to learner.dir/weights every learner.publish_every updates and checkpoints to
learner.dir/checkpoint.pt; restarted, it resumes from the checkpoint and re-reads the store.
"""

from __future__ import annotations

import argparse
import signal
import time

from robot_rl.config import Config
from robot_rl.learner.loop import Learner, LearnerStatus
from robot_rl.learner.weights import weights_channel


def run(args: argparse.Namespace, cfg: Config) -> int:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, weights_channel(cfg))
    print(f"learner: store {cfg.buffer.path}, base {cfg.policy.path}, weights -> {cfg.learner.dir}/weights "
          f"(resumed at {learner.td3.updates} updates, v{learner.version})", flush=True)
    last_print = [0.0]

    def report(s: LearnerStatus) -> None:
        if time.monotonic() - last_print[0] < 5.0:
            return
        last_print[0] = time.monotonic()
        q = f", critic loss {s.last.critic_loss:.4f}, Q {s.last.q_mean:.3f}" if s.last else ""
        print(f"learner: {s.updates} updates, weights v{s.version}, {s.episodes} episodes "
              f"({s.online_transitions} online / {s.offline_transitions} offline transitions){q}", flush=True)

    try:
        status = learner.run(stop=lambda: bool(stopping), on_status=report)
    except KeyboardInterrupt:
        status = learner.status()
    print(f"learner stopped at {status.updates} updates, weights v{status.version}; "
          f"checkpoint in {cfg.learner.dir}", flush=True)
    return 0
