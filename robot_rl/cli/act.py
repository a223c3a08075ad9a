"""Run the actor in simulation: BC base (policy.path) + residual, recording to buffer.path: act.episodes
episodes with the seeds act.seed, act.seed + 1, ... (act.seed follows the root ``seed`` unless set).

New residual weights from learner.dir/weights are swapped in between control steps (the actor never
waits for the learner). With human.enabled the simulated human takes over when the policy drifts. With
``help.gate=score`` the actor asks for help when unsure (it holds still until the simulated human comes and takes
over or lets it go on; ``human.attention=gated``: the human looks only when asked); give ``robot-rl learn`` the
same ``help.gate`` so its weights carry the critics and calibration the gate needs.
--live-port PORT shows the cameras, action and who drives at http://127.0.0.1:PORT/ while it runs (no install);
--rerun TARGET logs every step to Rerun: FILE.rrd, a viewer's address (rerun+http://HOST:9876/proxy) or spawn.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from robot_rl.actor.help import make_response
from robot_rl.actor.success import detector_for
from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config import Config
from robot_rl.learner.weights import weights_channel
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import ResidualDecider, run_episode
from robot_rl.sim.harness.human import SimulatedHuman


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--live-port", type=int, default=None, metavar="PORT",
                        help="live view in a browser at http://127.0.0.1:PORT/ (off by default)")
    parser.add_argument("--rerun", default=None, metavar="TARGET",
                        help="log every step to Rerun: FILE.rrd, a viewer's address (rerun+http://HOST:9876/proxy) "
                             "or spawn (the viz extra)")


def run(args: argparse.Namespace, cfg: Config) -> int:
    rec = None
    if args.rerun is not None:
        from robot_rl.viz.rerun_live import RerunMissing, open_stream

        try:
            rec = open_stream(args.rerun)
        except (ValueError, RerunMissing) as exc:
            print(f"robot-rl act: {exc}", file=sys.stderr)
            return 2
    policy, channel = load_policy(cfg), weights_channel(cfg)
    success = detector_for(cfg)
    with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer, contextlib.ExitStack() as stack:
        human = (SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits), seed=cfg.seed)
                 if cfg.human.enabled else None)
        decide = ResidualDecider(env, policy, human, cfg.act.explore, help=make_response(cfg.help, policy, cfg.seed))
        if args.live_port is not None:
            from robot_rl.viz.live import LiveDecider, LiveView

            view = stack.enter_context(LiveView(args.live_port))
            decide = LiveDecider(decide, view, version=lambda: policy.version)
            print(f"live view: {view.url}", flush=True)
        if rec is not None:
            from robot_rl.viz.rerun_live import RerunDecider

            stack.callback(rec.disconnect)
            stack.callback(rec.flush)
            decide = RerunDecider(decide, rec, version=lambda: policy.version)
            print(f"rerun: logging every step to {args.rerun}", flush=True)
        successes = 0
        for i in range(cfg.act.episodes):
            r = run_episode(env, cfg.act.seed + i, decide, writer=writer, source="policy",
                            policy_version=lambda: policy.version, between_ticks=lambda: policy.poll_weights(channel),
                            success=success)
            successes += r.success
            print(f"episode {i + 1:>4}/{cfg.act.episodes}  {'success' if r.success else 'failure'} in {r.steps:>3} "
                  f"steps  interventions {r.intervention_rate:4.0%}  help requests {r.help_requests}  "
                  f"weights v{r.policy_version}  "
                  f"success rate {successes / (i + 1):.0%}", flush=True)
    return 0
