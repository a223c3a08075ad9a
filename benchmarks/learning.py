"""The learning experiment: BC alone, BC + residual (sparse reward), BC + residual (RLIF reward + simulated
human), HG-DAgger and a HIL-SERL-style full policy (no base: RLPD from the demos and the human's take-overs,
sparse reward), on the same seeds, same demos, same BC base (or its encoder) per seed.

Actor and learner alternate in one process (an episode, then the updates it allows at UTD), so runs
are reproducible and wall-clock is the sum of both; in production they overlap in two processes.
Writes ``<out>/curves.json`` (every curve), ``<out>/points.json`` (every evaluation point as a record, with the
run's settings: what ``docs/bench_learning.json`` holds) and ``<out>/learning.png`` (success, intervention rate
and cycle time against env steps, success against wall-clock; mean and spread over seeds).

An experiment takes hours on a CPU, so each piece is kept as it finishes and reused when the same command runs
again (``bench.learning.resume``): a seed's BC base (``seed<k>/bc.pt`` + ``base.json``) and each variant's curve
(``seed<k>/<variant>.json``) carry the settings they were made with, and are made again when those differ.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import multiprocessing
import os
import shutil
import signal
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np
import torch

from benchmarks.report import BenchResult
from robot_rl.actor.wiring import load_policy, open_writer
from robot_rl.config.schema import Config
from robot_rl.data.modes import RewardMode
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import OPTIONAL, REWARD_KEYS
from robot_rl.learner.loop import Learner
from robot_rl.learner.metrics_log import ScalarLog
from robot_rl.learner.weights import weights_channel
from robot_rl.policies import bundle as bundles
from robot_rl.policies.bc import ChunkedBase
from robot_rl.policies.train_bc import load_dataset, train_bc
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.expert import ScriptedExpert
from robot_rl.sim.harness.collect import collect_demos
from robot_rl.sim.harness.episodes import ResidualDecider, run_episode
from robot_rl.sim.harness.evaluate import eval_seeds, evaluate
from robot_rl.sim.harness.human import SimulatedHuman


@dataclass
class Curve:
    variant: str
    seed: int
    env_steps: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    intervention: list[float | None] = field(default_factory=list)  # None: no training episodes yet
    cycle_steps: list[float | None] = field(default_factory=list)  # mean length of successful eval episodes
    episode_success: list[list[bool]] = field(default_factory=list)  # per point, per evaluation seed
    episode_steps: list[list[int]] = field(default_factory=list)
    updates: int = 0

    def record(self, results: list) -> None:
        """One evaluation's episodes (success and length per held-out seed) and its cycle time."""
        done = [r.steps for r in results if r.success]
        self.cycle_steps.append(float(np.mean(done)) if done else None)
        self.episode_success.append([bool(r.success) for r in results])
        self.episode_steps.append([int(r.steps) for r in results])


def _paired_cycle(curve: Curve) -> tuple[float, float, int] | None:
    """Cycle time at the first and the last point on the evaluation seeds both solved: (first, last, seeds), so
    a policy that also solves harder (longer) episodes is not counted slower for it."""
    if len(curve.episode_success) < 2:
        return None
    both = [i for i, (a, b) in enumerate(zip(curve.episode_success[0], curve.episode_success[-1], strict=True))
            if a and b]
    if not both:
        return None
    first, last = curve.episode_steps[0], curve.episode_steps[-1]
    return float(np.mean([first[i] for i in both])), float(np.mean([last[i] for i in both])), len(both)


def _with(cfg: Config, **sections: dict) -> Config:
    return dataclasses.replace(cfg, **{k: dataclasses.replace(getattr(cfg, k), **v) for k, v in sections.items()})


def _plain(o: object) -> object:
    return o.value if isinstance(o, Enum) else dataclasses.asdict(o)  # type: ignore[call-overload]


def _settings(cfg: Config, variant: str | None = None) -> dict:
    """What a seed's BC base (``variant`` None) or a variant's curve depends on, as plain JSON; paths left out."""
    lb = cfg.bench.learning
    out: dict = {"seed": cfg.seed, "task": cfg.task, "camera": cfg.camera, "expert": cfg.expert,
                 "policy": dataclasses.replace(cfg.policy, path=""), "demos": lb.demos, "demo_noise": lb.demo_noise}
    if variant is not None:
        out.update(variant=variant, learner=dataclasses.replace(cfg.learner, dir=""), human=cfg.human,
                   reward=dataclasses.replace(cfg.buffer, path=""),
                   run={k: getattr(lb, k) for k in ("env_steps", "eval_every", "eval_episodes", "dagger_every",
                                                    "dagger_epochs")})
    return json.loads(json.dumps(out, default=_plain))


def _differences(old: dict, new: dict) -> list[str]:
    """The keys whose values differ, dotted one level deep (``learner.utd``)."""
    out: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            out.append(key)
    return out


def _kept(path: Path, settings: dict, resume: bool, partial: bool = False) -> dict | None:
    """The JSON kept at ``path`` when resuming and it was made with ``settings``, else None (with the reason);
    ``partial``: a curve stopped part way counts."""
    if not resume or not path.is_file():
        return None
    try:
        kept = json.loads(path.read_text())
        old = kept["settings"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        print(f"  {path}: unreadable: making it again", flush=True)
        return None
    if old == settings:
        if kept.get("complete", True) or partial:
            return kept
        print(f"  {path}: stopped before the end: making it again", flush=True)
        return None
    print(f"  {path}: made with other settings ({', '.join(_differences(old, settings))}): making it again", flush=True)
    return None


def _seed_config(cfg: Config, seed: int, root: Path) -> Config:
    """The config of one seed: its seed, its demonstrations and BC base under ``root``."""
    return _with(dataclasses.replace(cfg, seed=seed), buffer={"path": str(root / "demos.zarr")},
                 policy={"path": str(root / "bc.pt")})


def prepare_seed(cfg: Config, seed: int, root: Path) -> Config:
    """Demonstrations and a BC base for one seed (kept from an earlier run with the same settings when
    ``bench.learning.resume``); returns the config pointing at them."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = _seed_config(cfg, seed, root)
    settings, stamp = _settings(cfg), root / "base.json"  # not bc.json: the "bc" variant's curve
    if _kept(stamp, settings, cfg.bench.learning.resume) is None or not Path(cfg.policy.path).is_file():
        stamp.unlink(missing_ok=True)
        shutil.rmtree(cfg.buffer.path, ignore_errors=True)
        noisy = _with(cfg, expert={"noise_std": cfg.bench.learning.demo_noise})
        with PickPlaceEnv(cfg) as env, open_writer(cfg) as writer:
            collect_demos(noisy, env, writer, cfg.bench.learning.demos, seed=10_000 * (seed + 1))
        net, _ = train_bc(cfg, load_dataset(cfg.buffer.path, cfg.camera.names, cfg.policy.chunk))
        bundles.save(net.to_bundle(), cfg.policy.path)
        stamp.write_text(json.dumps({"settings": settings}, indent=1))  # last: bc.pt and the demos are complete
    else:
        print(f"seed {seed}: kept BC base {cfg.policy.path}", flush=True)
    return cfg


def copy_demos(src: str | Path, dst: Path, *, reward: bool) -> None:
    """The seed's demonstrations as the run's store. With ``reward``, a store with the reward classifier's fields
    (the demos get their defaults): an existing store keeps its schema, so a writer opened on a plain copy would
    drop the detector's decisions from every training row."""
    if not reward:
        shutil.copytree(src, dst)
        return
    with ReplayStore.open(src, "r") as demos:
        schema = dataclasses.replace(demos.schema, reward=True)
        with ReplayStore.create(dst, schema, chunk_len=demos.chunk_len) as out:
            for ep in range(demos.n_episodes):
                cols = demos.read_episode(ep)
                n = len(cols["action"])
                cols |= {k: np.full(n, OPTIONAL[k]) for k in REWARD_KEYS if k not in cols}
                out.add_episode(cols, demos.episode_meta(ep))


def run_variant(cfg: Config, variant: str, root: Path, progress: Callable[[Curve], None] | None = None, *,
                name: str | None = None, success=None, reward_mode: RewardMode | None = None) -> Curve:
    """One variant on one seed; ``progress`` gets the curve so far after each evaluation. ``name``: the curve's
    name and folder (default ``variant``); ``success``: a reward classifier's detector decides success in the
    training episodes (evaluation stays on the twin's check); ``reward_mode``: instead of the variant's."""
    lb = cfg.bench.learning
    vdir = root / (name or variant)
    shutil.rmtree(vdir, ignore_errors=True)
    vdir.mkdir(parents=True)
    copy_demos(cfg.buffer.path, vdir / "replay.zarr", reward=success is not None)
    shutil.copy(cfg.policy.path, vdir / "bc.pt")
    reward = RewardMode.sparse if variant in ("residual_sparse", "hil_serl") else RewardMode.rlif
    reward = reward_mode or reward
    learner: dict = {"dir": str(vdir / "learner")}
    if variant == "hil_serl":  # HIL-SERL's recipe: no base, RLPD from demos + take-overs, sparse reward, no BC term
        learner |= {"use_base": False, "residual_scale": 1.0, "demo_bc_weight": 0.0}
    cfg = _with(cfg, buffer={"path": str(vdir / "replay.zarr"), "reward_mode": reward},
                policy={"path": str(vdir / "bc.pt")}, learner=learner,
                human={"enabled": variant in ("residual_rlif_human", "hg_dagger", "hil_serl")})
    curve = Curve(name or variant, cfg.seed)
    seeds = eval_seeds(lb.eval_episodes)
    with PickPlaceEnv(cfg) as env:
        policy = load_policy(cfg)
        if variant == "bc":
            rate, results = evaluate(env, policy, seeds)
            curve.env_steps, curve.wall_s = [0, lb.env_steps], [0.0, 0.0]
            curve.success, curve.intervention = [rate, rate], [None, None]
            curve.record(results), curve.record(results)
            return curve
        channel = weights_channel(cfg, signed=False)
        # the evaluation curve goes where the learner's numbers go: <vdir>/tensorboard, W&B
        scalars = ScalarLog.for_learner(vdir, cfg.learner, f"{name or variant}-seed{cfg.seed}-eval",
                                        {"variant": variant, "seed": cfg.seed})
        learner = (Learner(cfg, cfg.buffer.path, cfg.policy.path, channel)
                   if variant.startswith("residual") or variant == "hil_serl" else None)
        human = SimulatedHuman(cfg.human, ScriptedExpert(cfg.expert, env.limits)) if cfg.human.enabled else None
        decide = ResidualDecider(env, policy, human, explore=True)
        steps, episode, start = 0, 0, time.perf_counter()
        window: list[tuple[int, int]] = []  # (intervened steps, steps) since the last evaluation
        rate, results = evaluate(env, policy, seeds)
        curve.env_steps.append(0), curve.wall_s.append(0.0), curve.success.append(rate), curve.intervention.append(None)
        curve.record(results)
        next_eval = lb.eval_every
        with open_writer(cfg, reward=success is not None) as writer:
            while steps < lb.env_steps:
                r = train_episode(env, cfg.seed * 1_000_000 + episode, decide, writer, policy, channel, learner,
                                  success)
                steps, episode = steps + r.steps, episode + 1
                window.append((r.intervened_steps, r.steps))
                if learner is None and variant == "hg_dagger" and episode % lb.dagger_every == 0:
                    _dagger_update(cfg, policy)
                if steps >= next_eval or steps >= lb.env_steps:
                    policy.poll_weights(channel)
                    rate, results = evaluate(env, policy, seeds)
                    curve.record(results)
                    curve.env_steps.append(steps)
                    curve.wall_s.append(time.perf_counter() - start)
                    curve.success.append(rate)
                    curve.intervention.append(sum(i for i, _ in window) / max(1, sum(n for _, n in window)))
                    window.clear()
                    next_eval += lb.eval_every
                    if scalars is not None:
                        scalars.log({"success": rate, "intervention": curve.intervention[-1],
                                     "cycle_steps": curve.cycle_steps[-1]}, steps, prefix="eval/")
                    print(f"  [{name or variant} seed {cfg.seed}] {steps} steps: success {rate:.0%}, interventions "
                          f"{curve.intervention[-1]:.0%}, cycle {curve.cycle_steps[-1] or float('nan'):.0f} steps, "
                          f"{curve.wall_s[-1] / 60:.1f} min", flush=True)
                    if progress is not None:
                        curve.updates = learner.td3.updates if learner is not None else 0
                        progress(curve)
        curve.updates = learner.td3.updates if learner is not None else 0
        if learner is not None:
            learner.close()
        if scalars is not None:
            scalars.close()
    return curve


def train_episode(env: PickPlaceEnv, seed: int, decide, writer, policy, channel, learner: Learner | None,
                  success=None):
    """One training episode, recorded and committed, then the learner's share of updates (UTD): actor and
    learner alternate, so runs are reproducible. ``success``: a reward classifier's detector decides success
    (else the twin's check). Returns the episode's result."""
    r = run_episode(env, seed, decide, writer=writer, source="policy", policy_version=lambda: policy.version,
                    between_ticks=lambda: policy.poll_weights(channel), success=success)
    writer.flush()
    if learner is not None:
        learner.ingest()
        while learner.updates_allowed() > 0:
            learner.update_once()
    return r


def _paired_row(group: list[Curve]) -> dict:
    paired = [p for p in map(_paired_cycle, group) if p is not None]
    if not paired:
        return {"cycle_both_start": None, "cycle_both_final": None, "cycle_both_seeds": 0}
    return {"cycle_both_start": float(np.mean([p[0] for p in paired])),
            "cycle_both_final": float(np.mean([p[1] for p in paired])),
            "cycle_both_seeds": int(sum(p[2] for p in paired))}


def _at(curve: Curve, steps: int) -> float | None:
    """Success at the first evaluation at or after ``steps`` env steps (None if the curve stops before)."""
    return next((r for s, r in zip(curve.env_steps, curve.success, strict=True) if s >= steps), None)


def _mean_known(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _dagger_update(cfg: Config, policy) -> None:
    """HG-DAgger: fine-tune the BC base on the demonstrations plus every human-corrected step so far."""
    data = load_dataset(cfg.buffer.path, cfg.camera.names, cfg.policy.chunk, interventions=True)
    net, _ = train_bc(cfg, data, progress=False, init=policy.base.net, epochs=cfg.bench.learning.dagger_epochs)
    policy.base = ChunkedBase(net, cfg.policy.execute_steps, policy.device)


def _plot(curves: list[Curve], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(20, 4))
    for k, variant in enumerate(dict.fromkeys(c.variant for c in curves)):
        color = f"C{k}"  # one colour per variant in every panel, also where a variant has nothing to draw
        group = [c for c in curves if c.variant == variant]
        n = min(len(c.env_steps) for c in group)
        x = np.mean([c.env_steps[:n] for c in group], axis=0)
        wall = np.mean([c.wall_s[:n] for c in group], axis=0) / 60
        for ax, xs, key in ((axes[0], x, "success"), (axes[1], x, "intervention"), (axes[2], wall, "success"),
                            (axes[3], x, "cycle_steps")):
            ys = np.array([[np.nan if v is None else v for v in (getattr(c, key) + [None] * n)[:n]] for c in group],
                          dtype=float)
            if np.isnan(ys).all():
                continue
            with warnings.catch_warnings():  # a point no seed has (no training episodes yet) is left out
                warnings.simplefilter("ignore", RuntimeWarning)
                ax.plot(xs, np.nanmean(ys, 0), label=variant, marker="o", ms=3, color=color)
                ax.fill_between(xs, np.nanmin(ys, 0), np.nanmax(ys, 0), alpha=0.15, color=color)
    for ax, (xl, yl) in zip(axes, [("env steps", "success rate"), ("env steps", "intervention rate"),
                                   ("wall-clock (min)", "success rate"),
                                   ("env steps", "cycle time (steps, successful episodes)")], strict=True):
        ax.set_xlabel(xl), ax.set_ylabel(yl), ax.grid(alpha=0.3)
        if "rate" in yl:
            ax.set_ylim(-0.05, 1.05)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _exit_with_parent(parent: int) -> None:
    """A worker gets SIGTERM when the bench process (pid ``parent``) dies (Linux ``PR_SET_PDEATHSIG``): a
    stopped experiment must not leave its seeds running on the cores. Elsewhere a no-op."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the line above: no signal will come
        os._exit(1)


def _run_seed(cfg: Config, seed: int, torch_threads: int = 0) -> list[Curve]:
    """Every variant on one seed; each variant's curve is also written to ``<out>/seed<seed>/<variant>.json``."""
    if torch_threads:
        torch.set_num_threads(torch_threads)
    lb = cfg.bench.learning
    root = Path(lb.out_dir) / f"seed{seed}"
    if lb.report_only:
        seed_cfg = _seed_config(cfg, seed, root)
        if _kept(root / "base.json", _settings(seed_cfg), resume=True) is None:
            print(f"seed {seed}: no BC base made with these settings: left out", flush=True)
            return []
    else:
        print(f"seed {seed}: demonstrations and BC base", flush=True)
        seed_cfg = prepare_seed(cfg, seed, root)
    curves = []
    for variant in lb.variants:
        path, settings = root / f"{variant}.json", _settings(seed_cfg, variant)
        kept = _kept(path, settings, lb.resume or lb.report_only, partial=lb.report_only)
        if kept is not None:
            stopped = "" if kept.get("complete", True) else f" (stopped at {kept['env_steps'][-1]} steps)"
            print(f"  [{variant} seed {seed}] kept from {path}{stopped}", flush=True)
            curves.append(Curve(**{f.name: kept[f.name] for f in dataclasses.fields(Curve) if f.name in kept}))
            continue
        if lb.report_only:
            print(f"  [{variant} seed {seed}] not made yet: left out", flush=True)
            continue
        progress = functools.partial(_save, path, settings=settings, complete=False)
        curves.append(run_variant(seed_cfg, variant, root, progress))
        _save(path, curves[-1], settings=settings, complete=True)
    return curves


def _item(values: list, i: int) -> object:
    """``values[i]``, or None for a curve kept from before that field was recorded."""
    return values[i] if i < len(values) else None


def _points(cfg: Config, curves: list[Curve]) -> dict:
    """Every evaluation point as one record, with the settings of the run: what ``docs/bench_learning.json``
    holds and the README's learning table is read from. Each point keeps its evaluation episodes (success and
    length per held-out seed), so the file alone is enough to recompute any figure of the table."""
    lb = cfg.bench.learning
    points = [{"variant": c.variant, "seed": c.seed, "env_steps": c.env_steps[i], "wall_s": c.wall_s[i],
               "success": c.success[i], "eval_episodes": lb.eval_episodes, "intervention": c.intervention[i],
               "cycle_steps": _item(c.cycle_steps, i), "episode_success": _item(c.episode_success, i),
               "episode_steps": _item(c.episode_steps, i)}
              for c in curves for i in range(len(c.env_steps))]
    settings = {k: getattr(cfg, k) for k in ("task", "camera", "expert", "policy", "learner", "human")}
    settings["bench"] = lb
    settings["torch_threads"] = torch.get_num_threads()
    return {"settings": json.loads(json.dumps(settings, default=_plain)), "points": points,
            "updates": {f"{c.variant}/seed{c.seed}": c.updates for c in curves}}


def _save(path: Path, curve: Curve, *, settings: dict, complete: bool) -> None:
    """The curve with its settings; while it runs, ``complete`` is false (resuming makes it again, but the
    points so far are there to look at)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**dataclasses.asdict(curve), "complete": complete, "settings": settings}, indent=1))
    tmp.replace(path)  # never half a file


def run(cfg: Config) -> BenchResult:
    lb = cfg.bench.learning
    out = Path(lb.out_dir)
    curves: list[Curve] = []
    if lb.workers > 1:  # seeds in parallel processes, one torch thread each ("spawn": MuJoCo's GL is not fork-safe)
        with ProcessPoolExecutor(lb.workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
            for seed_curves in pool.map(_run_seed, [cfg] * len(lb.seeds), lb.seeds, [1] * len(lb.seeds)):
                curves.extend(seed_curves)
    else:
        for seed in lb.seeds:
            curves.extend(_run_seed(cfg, seed))
    if not curves:
        raise SystemExit(f"bench learning: nothing to report in {out} (report_only and no piece made with these "
                         "settings)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "curves.json").write_text(json.dumps([dataclasses.asdict(c) for c in curves], indent=1))
    _plot(curves, out / "learning.png")
    rows = []
    for variant in lb.variants:
        group = [c for c in curves if c.variant == variant]
        if not group:
            continue
        final = [c.success[-1] for c in group]
        reached = [next((s for s, r in zip(c.env_steps, c.success, strict=True) if r >= 0.9), None) for c in group]
        rows.append({"variant": variant, "seeds": len(group), "start": float(np.mean([c.success[0] for c in group])),
                     "at_half": _mean_known([_at(c, lb.env_steps // 2) for c in group]),
                     "final": float(np.mean(final)), "final_min": min(final), "final_max": max(final),
                     "steps_to_90%": None if None in reached else int(np.mean(reached)),
                     "env_steps": int(np.mean([c.env_steps[-1] for c in group])),
                     "wall_min": float(np.mean([c.wall_s[-1] for c in group]) / 60),
                     "interventions_last": float(np.mean([c.intervention[-1] or 0.0 for c in group])),
                     "cycle_start": _mean_known([c.cycle_steps[0] for c in group if c.cycle_steps]),
                     "cycle_final": _mean_known([c.cycle_steps[-1] for c in group if c.cycle_steps]),
                     **_paired_row(group),
                     "updates": int(np.mean([c.updates for c in group]))})
    (out / "points.json").write_text(json.dumps({**_points(cfg, curves), "summary": rows}, indent=1,
                                                default=_plain))
    notes = [f"plot: {out / 'learning.png'}; curves: {out / 'curves.json'}; points: {out / 'points.json'}",
             f"task {cfg.task.name}, {lb.demos} demos with expert noise {lb.demo_noise:g}, "
             f"{lb.eval_episodes} eval episodes per point, learner {cfg.learner.num_critics} critics x "
             f"{cfg.learner.hidden_dim} hidden, UTD {cfg.learner.utd}, batch {cfg.learner.batch_size}, residual scale "
             f"{cfg.learner.residual_scale:g}, Q-filtered BC weight {cfg.learner.demo_bc_weight:g}; BC "
             f"{cfg.policy.epochs} epochs, cameras {len(cfg.camera.names)}x{cfg.camera.width}x{cfg.camera.height}; "
             f"torch threads {torch.get_num_threads()}"]
    return BenchResult(suite="learning", rows=rows, notes=notes)
