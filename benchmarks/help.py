"""The help experiment: does a robot that asks when unsure let the person look away, and learn as well?

Variants (``bench.help.variants``), each the residual with the simulated human on the learning experiment's seed
and BC base, rewarded by ``buffer.reward_mode`` (default ``both``: -1 before a take-over and +1 on success, since a
person who looks only when asked does not see every failure), every one with the same graded response
(``help.*``: slower when unsure, held still when asking): ``always`` (the human watches every step),
``gated_score`` (it looks only when our score asks, or at a glance), ``gated_thrifty`` (asked by ThriftyDAgger's
gate) and ``gated_random`` (asked at random, same budget).

Figures per evaluation point: the policy's success alone on held-out seeds; the human's attention (steps it
watched or drove over training steps, since the last point), its take-overs and the requests. Request quality
comes from the same evaluation episodes: the policy runs alone, its gate scores every step in the shadow (asks
nothing, holds nothing), and since nobody helps, what follows a request is what would have followed it. A
request is right when the episode fails or the policy drifts from the expert (the simulated human's own drift
test) within ``horizon`` steps: precision; recall: the failed episodes that had a request before their end.

Writes ``<out>/seed<k>/<variant>.json`` as it goes (resumed like the learning experiment), ``<out>/points.json``
and ``<out>/help.png``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.learning import _kept, _plain, _save, _with, prepare_seed, train_episode
from benchmarks.report import BenchResult
from robot_rl.actor.help import make_response
from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config.schema import Config
from robot_rl.learner.loop import Learner
from robot_rl.learner.weights import weights_channel
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.episodes import ResidualDecider, StepDecision, run_episode
from robot_rl.sim.harness.evaluate import eval_seeds
from robot_rl.sim.harness.human import SimulatedHuman

GATES = {"always": "score", "gated_score": "score", "gated_thrifty": "thrifty", "gated_random": "random"}


@dataclass
class HelpCurve:
    variant: str
    seed: int
    env_steps: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    success: list[float] = field(default_factory=list)  # the policy alone, held-out seeds
    attention: list[float | None] = field(default_factory=list)  # human watching or driving / training steps
    intervention: list[float | None] = field(default_factory=list)
    requests: list[float | None] = field(default_factory=list)  # help requests per training episode
    recall: list[float | None] = field(default_factory=list)
    precision: list[float | None] = field(default_factory=list)
    eval_requests: list[int] = field(default_factory=list)
    eval_failures: list[int] = field(default_factory=list)
    episode_success: list[list[bool]] = field(default_factory=list)
    updates: int = 0


class ShadowDecider:
    """The policy alone with its gate scoring in the shadow, and per step whether it drifts from the expert."""

    def __init__(self, env: PickPlaceEnv, inner: ResidualDecider, expert: ScriptedExpert, threshold: float) -> None:
        self.env, self.inner, self.expert, self.threshold = env, inner, expert, threshold
        self.requests: list[int] = []
        self.drifting: list[bool] = []

    def reset(self, seed: int) -> None:
        self.inner.reset(seed)
        self.expert.reset(seed)
        self.requests, self.drifting = [], []

    def __call__(self, obs: dict) -> StepDecision:
        d = self.inner(obs)
        gap = float(np.mean(np.abs(d.policy_action - self.expert.act(self.env.task_state()))))
        if d.help_request:
            self.requests.append(len(self.drifting))
        self.drifting.append(gap > self.threshold)
        return d


def right_requests(requests: list[int], drifting: list[bool], failed: bool, horizon: int, patience: int) -> int:
    """How many requests the policy's next ``horizon`` steps justify: the episode failed, or a drift of
    ``patience`` steps in a row starts within them."""
    if failed:
        return len(requests)
    runs, start = [], None
    for i, d in enumerate([*drifting, False]):
        if d and start is None:
            start = i
        elif not d and start is not None:
            if i - start >= patience:
                runs.append(start)
            start = None
    return sum(any(t <= s <= t + horizon for s in runs) for t in requests)


def shadow_evaluate(env: PickPlaceEnv, decide: ShadowDecider, seeds: list[int], horizon: int,
                    patience: int) -> dict:
    success, requests, right, failed, flagged = [], 0, 0, 0, 0
    for seed in seeds:
        r = run_episode(env, seed, decide)
        success.append(bool(r.success))
        requests += len(decide.requests)
        right += right_requests(decide.requests, decide.drifting, not r.success, horizon, patience)
        if not r.success:
            failed += 1
            flagged += bool(decide.requests)
    return {"success": float(np.mean(success)), "episode_success": success, "requests": requests,
            "precision": right / requests if requests else None, "failures": failed,
            "recall": flagged / failed if failed else None}


def _variant_config(cfg: Config, variant: str, vdir: Path) -> Config:
    return _with(cfg, buffer={"path": str(vdir / "replay.zarr")},
                 policy={"path": str(vdir / "bc.pt")}, learner={"dir": str(vdir / "learner")},
                 human={"enabled": True, "attention": "always" if variant == "always" else "gated"},
                 help={"gate": GATES[variant]})


def run_variant(cfg: Config, variant: str, root: Path, progress=None) -> HelpCurve:
    import shutil

    hb = cfg.bench.help
    vdir = root / f"help_{variant}"
    shutil.rmtree(vdir, ignore_errors=True)
    vdir.mkdir(parents=True)
    shutil.copytree(cfg.buffer.path, vdir / "replay.zarr")
    shutil.copy(cfg.policy.path, vdir / "bc.pt")
    cfg = _variant_config(cfg, variant, vdir)
    curve = HelpCurve(variant, cfg.seed)
    seeds = eval_seeds(hb.eval_episodes)
    with PickPlaceEnv(cfg) as env:
        policy = load_policy(cfg)
        channel = weights_channel(cfg, signed=False)
        learner = Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits), seed=cfg.seed)
        decide = ResidualDecider(env, policy, human, explore=True, help=make_response(cfg.help, policy, cfg.seed))
        shadow = ShadowDecider(env, ResidualDecider(env, policy, None, explore=False, help_shadow=True,
                                                    help=make_response(cfg.help, policy, cfg.seed + 1)),
                               ScriptedExpert(cfg.expert, env.limits), cfg.human.drift_threshold)
        steps, episode, start = 0, 0, time.perf_counter()
        window = {"steps": 0, "attention": 0, "intervened": 0, "requests": 0, "episodes": 0}

        def evaluate_point() -> None:
            policy.poll_weights(channel)
            ev = shadow_evaluate(env, shadow, seeds, hb.horizon, cfg.human.drift_patience)
            n = window["steps"]
            curve.env_steps.append(steps)
            curve.wall_s.append(time.perf_counter() - start)
            curve.success.append(ev["success"])
            curve.episode_success.append(ev["episode_success"])
            curve.attention.append(window["attention"] / n if n else None)
            curve.intervention.append(window["intervened"] / n if n else None)
            curve.requests.append(window["requests"] / window["episodes"] if window["episodes"] else None)
            curve.recall.append(ev["recall"])
            curve.precision.append(ev["precision"])
            curve.eval_requests.append(ev["requests"])
            curve.eval_failures.append(ev["failures"])
            curve.updates = learner.td3.updates
            window.update(steps=0, attention=0, intervened=0, requests=0, episodes=0)
            print(f"  [{variant} seed {cfg.seed}] {steps} steps: success {ev['success']:.0%}, attention "
                  f"{_pct(curve.attention[-1])}, interventions {_pct(curve.intervention[-1])}, requests/episode "
                  f"{curve.requests[-1] if curve.requests[-1] is not None else float('nan'):.2f}, recall "
                  f"{_pct(ev['recall'])}, precision {_pct(ev['precision'])} ({ev['requests']} requests), "
                  f"{curve.wall_s[-1] / 60:.1f} min", flush=True)
            if progress is not None:
                progress(curve)

        evaluate_point()
        next_eval = hb.eval_every
        with open_writer(cfg) as writer:
            while steps < hb.env_steps:
                r = train_episode(env, cfg.seed * 1_000_000 + episode, decide, writer, policy, channel, learner)
                steps, episode = steps + r.steps, episode + 1
                window["steps"] += r.steps
                window["attention"] += r.steps if variant == "always" else r.attention_steps
                window["intervened"] += r.intervened_steps
                window["requests"] += r.help_requests
                window["episodes"] += 1
                if steps >= next_eval or steps >= hb.env_steps:
                    evaluate_point()
                    next_eval += hb.eval_every
    return curve


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _settings(cfg: Config, variant: str) -> dict:
    out = {"variant": variant, "seed": cfg.seed, "task": cfg.task, "camera": cfg.camera, "expert": cfg.expert,
           "policy": dataclasses.replace(cfg.policy, path=""), "learner": dataclasses.replace(cfg.learner, dir=""),
           "human": cfg.human, "help": cfg.help, "reward": cfg.buffer.reward_mode,
           "base": dataclasses.replace(cfg.bench.learning, out_dir=""),
           "run": {k: getattr(cfg.bench.help, k) for k in ("env_steps", "eval_every", "eval_episodes", "horizon")}}
    return json.loads(json.dumps(out, default=_plain))


def _plot(curves: list[HelpCurve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("success", "success (policy alone)"), ("attention", "human attention"),
            ("recall", "recall of failures"), ("precision", "precision of requests")]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for k, variant in enumerate(dict.fromkeys(c.variant for c in curves)):
        group = [c for c in curves if c.variant == variant]
        n = min(len(c.env_steps) for c in group)
        x = np.mean([c.env_steps[:n] for c in group], axis=0)
        for ax, (key, _) in zip(axes, keys, strict=True):
            ys = np.array([[np.nan if v is None else v for v in getattr(c, key)[:n]] for c in group], dtype=float)
            if not np.isnan(ys).all():
                with warnings.catch_warnings():  # a point no seed has (no training yet) is left out
                    warnings.simplefilter("ignore", RuntimeWarning)
                    ax.plot(x, np.nanmean(ys, 0), marker="o", ms=3, label=variant, color=f"C{k}")
    for ax, (_, label) in zip(axes, keys, strict=True):
        ax.set_xlabel("env steps"), ax.set_ylabel(label), ax.set_ylim(-0.05, 1.05), ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def run(cfg: Config) -> BenchResult:
    hb = cfg.bench.help
    out = Path(hb.out_dir)
    curves: list[HelpCurve] = []
    for seed in hb.seeds:
        print(f"seed {seed}: demonstrations and BC base (in {hb.base_from})", flush=True)
        base_cfg = dataclasses.replace(cfg, bench=dataclasses.replace(cfg.bench, learning=dataclasses.replace(
            cfg.bench.learning, resume=True)))
        seed_cfg = prepare_seed(base_cfg, seed, Path(hb.base_from) / f"seed{seed}")
        root = out / f"seed{seed}"
        root.mkdir(parents=True, exist_ok=True)
        for variant in hb.variants:
            path, settings = root / f"{variant}.json", _settings(seed_cfg, variant)
            kept = _kept(path, settings, hb.resume)
            if kept is not None:
                print(f"  [{variant} seed {seed}] kept from {path}", flush=True)
                curves.append(HelpCurve(**{f.name: kept[f.name] for f in dataclasses.fields(HelpCurve)}))
                continue
            progress = functools.partial(_save, path, settings=settings, complete=False)
            curves.append(run_variant(seed_cfg, variant, root, progress))
            _save(path, curves[-1], settings=settings, complete=True)
    out.mkdir(parents=True, exist_ok=True)
    _plot(curves, out / "help.png")
    rows = []
    for variant in hb.variants:
        group = [c for c in curves if c.variant == variant]
        if not group:
            continue
        final = [c.success[-1] for c in group]
        rows.append({"variant": variant, "seeds": len(group), "start": float(np.mean([c.success[0] for c in group])),
                     "final": float(np.mean(final)), "final_min": min(final), "final_max": max(final),
                     "attention": _mean([_mean(c.attention) for c in group]),
                     "interventions": _mean([_mean(c.intervention) for c in group]),
                     "requests_per_episode": _mean([_mean(c.requests) for c in group]),
                     "recall": _mean([_mean(c.recall) for c in group]),
                     "precision": _mean([_mean(c.precision) for c in group]),
                     "wall_min": float(np.mean([c.wall_s[-1] for c in group]) / 60)})
    points = [{"variant": c.variant, "seed": c.seed, **{k: getattr(c, k)[i] for k in (
        "env_steps", "wall_s", "success", "attention", "intervention", "requests", "recall", "precision",
        "eval_requests", "eval_failures", "episode_success")}} for c in curves for i in range(len(c.env_steps))]
    settings = {k: getattr(cfg, k) for k in ("task", "camera", "learner", "human", "help")}
    settings["bench"] = hb
    (out / "points.json").write_text(json.dumps({"settings": json.loads(json.dumps(settings, default=_plain)),
                                                 "points": points, "summary": rows}, indent=1, default=_plain))
    notes = [f"plot: {out / 'help.png'}; points: {out / 'points.json'}",
             f"{hb.eval_episodes} held-out episodes a point, requests judged over {hb.horizon} steps; budget "
             f"{cfg.help.budget:g} (caution {cfg.help.caution_budget:g}), human call delay "
             f"{cfg.human.call_delay_steps} steps, glance rate {cfg.human.glance_rate:g}, watch "
             f"{cfg.human.watch_steps} steps"]
    return BenchResult(suite="help", rows=rows, notes=notes)
