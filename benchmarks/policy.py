"""Policy-side throughput: learner updates/s at batch 256 and actor step latency (obs -> action).

Baselines in the same run: plain TD3 with 2 critics (what the 10-critic LayerNorm ensemble costs on
top), and the BC base alone (what the residual costs on the actor's hot path). Next to them, updates/s
with a trainable encoder (``learner.frozen_features=false``: the configured cameras, raw images, DrQ
shifts), timed over fewer updates. Targets (docs/architecture.md §6): >= 100 updates/s with frozen features, actor
step p99 <= 10 ms. The actor step with each help gate (its score every tick) is timed against the same step
without one: the help gate's budget is +1 ms at p99.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from benchmarks.report import BenchResult
from benchmarks.timing import ms, rate
from robot_rl.actor.help import make_response
from robot_rl.actor.policy import ResidualPolicy
from robot_rl.config.schema import Config
from robot_rl.learner.td3 import ResidualTD3
from robot_rl.policies.bc import BCNetwork, ChunkedBase
from robot_rl.policies.device import resolve_device
from robot_rl.policies.encoders import ObservationEncoder
from robot_rl.policies.help_model import HelpModel
from robot_rl.policies.residual import CriticEnsemble
from robot_rl.spec import ACTION_DIM, STATE_DIM, image_key


def _batch(obs_dim: int, b: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g).to(device) * 2 - 1

    return {"obs": r(b, obs_dim), "next_obs": r(b, obs_dim), "base_action": r(b, ACTION_DIM),
            "next_base_action": r(b, ACTION_DIM), "action": r(b, ACTION_DIM), "reward": r(b),
            "discount": torch.full((b,), 0.97, device=device)}


def _raw_obs(cfg: Config, b: int, device: torch.device, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {image_key(c): torch.randint(0, 256, (b, cfg.camera.height, cfg.camera.width, 3), generator=g,
                                        dtype=torch.uint8).to(device) for c in cfg.camera.names}
    return out | {"state": torch.randn(b, STATE_DIM, generator=g).to(device)}


def run(cfg: Config) -> BenchResult:
    device = resolve_device(cfg.learner.device)
    p, lc = cfg.policy, cfg.learner
    net = BCNetwork(cfg.camera.names, (cfg.camera.height, cfg.camera.width), STATE_DIM, p.chunk, p.feature_dim,
                    p.hidden_dim)
    obs_dim = net.features_dim
    rows = []
    n_updates = max(20, cfg.bench.steps // 3)
    results = {}
    for name, learner_cfg in (("residual TD3, configured", lc),
                              ("baseline: plain TD3, 2 critics", dataclasses.replace(lc, num_critics=2,
                                                                                    critic_subsample=2))):
        td3 = ResidualTD3(obs_dim, dataclasses.replace(learner_cfg, critic_warmup_updates=0), device)
        batch = _batch(obs_dim, lc.batch_size, device)
        hz, t = rate(lambda td3=td3, batch=batch: td3.update(batch), n_updates, warmup=5)
        results[name] = hz
        rows.append({"measure": f"learner update, batch {lc.batch_size}: {name} ({learner_cfg.num_critics} critics "
                                f"x {learner_cfg.hidden_dim})", "per_s": hz, "p50_ms": ms(t, 50), "p99_ms": ms(t, 99)})
    rows[0]["ratio"] = results["residual TD3, configured"] / results["baseline: plain TD3, 2 critics"]
    rows[0]["vs"] = "ensemble / plain TD3"
    td3 = ResidualTD3(obs_dim, dataclasses.replace(lc, critic_warmup_updates=0), device,
                      encoder=ObservationEncoder.spec_of(net))
    batch = _batch(obs_dim, lc.batch_size, device) | {k: _raw_obs(cfg, lc.batch_size, device, seed)
                                                      for seed, k in enumerate(("obs", "next_obs"))}
    hz, t = rate(lambda: td3.update(batch), max(2, n_updates // 10), warmup=1)
    rows.append({"measure": f"learner update, batch {lc.batch_size}: trainable encoder, {len(cfg.camera.names)} "
                            f"cameras {cfg.camera.width}x{cfg.camera.height}", "per_s": hz, "p50_ms": ms(t, 50),
                 "p99_ms": ms(t, 99), "ratio": results["residual TD3, configured"] / hz,
                 "vs": "time with encoder / frozen features"})

    rng = np.random.default_rng(0)
    obs = {image_key(c): rng.integers(0, 255, (cfg.camera.height, cfg.camera.width, 3), dtype=np.uint8)
           for c in cfg.camera.names}
    obs["state"] = rng.standard_normal(STATE_DIM).astype(np.float32)
    policy = ResidualPolicy(ChunkedBase(net, p.execute_steps, device), lc, device)
    hz_full, t_full = rate(lambda: policy.act(obs, explore=True), cfg.bench.steps, cfg.bench.warmup)
    base = ChunkedBase(net, p.execute_steps, device)
    hz_base, t_base = rate(lambda: base.act(obs), cfg.bench.steps, cfg.bench.warmup)
    cams = f"{len(cfg.camera.names)} cameras {cfg.camera.width}x{cfg.camera.height}"
    rows.append({"measure": f"actor step: BC base + residual, {cams}", "per_s": hz_full, "p50_ms": ms(t_full, 50),
                 "p99_ms": ms(t_full, 99), "ratio": hz_base / hz_full, "vs": "time with residual / base alone"})
    rows.append({"measure": f"actor step: baseline BC base alone, {cams}", "per_s": hz_base,
                 "p50_ms": ms(t_base, 50), "p99_ms": ms(t_base, 99)})
    rows += _help_rows(cfg, policy, obs, obs_dim, device, cams)
    notes = [f"help gates: {cfg.help.bank_size} bank features, {lc.num_critics} critics; 'extra' is the p99 minus "
             "the p99 of the same step without a gate, the two called alternately",
             f"device {device}, torch threads {torch.get_num_threads()}; features {obs_dim}; "
             f"targets: >= 100 updates/s, actor p99 <= 10 ms"]
    return BenchResult(suite="policy", rows=rows, notes=notes)


def _interleaved(a, b, n: int, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-call seconds of ``a`` and ``b``, called alternately (so both see the same machine noise)."""
    import time

    for _ in range(warmup):
        a(), b()
    ta, tb = np.empty(n), np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        a()
        t1 = time.perf_counter()
        b()
        ta[i], tb[i] = t1 - t0, time.perf_counter() - t1
    return ta, tb


def _help_rows(cfg: Config, policy: ResidualPolicy, obs: dict, obs_dim: int, device: torch.device,
               cams: str) -> list[dict]:
    """The actor step with the help gate scoring it, per gate, against the same step without."""
    g = torch.Generator().manual_seed(1)
    bank = torch.randn(cfg.help.bank_size, obs_dim, generator=g)
    policy.help_model = HelpModel.build(CriticEnsemble(obs_dim, cfg.learner.num_critics, cfg.learner.hidden_dim),
                                        bank, bank[:256], torch.zeros(256, ACTION_DIM), budget=cfg.help.budget,
                                        caution_budget=cfg.help.caution_budget).to(device)
    rows = []
    for gate in ("score", "thrifty", "random"):
        response = make_response(dataclasses.replace(cfg.help, gate=gate), policy)

        def step(response=response) -> None:
            out = policy.act(obs, explore=True)
            response.step(obs, out, intervening=False)
            response.acknowledge()  # never left asking: every tick scores

        plain, t = _interleaved(lambda: policy.act(obs, explore=True), step, cfg.bench.steps, cfg.bench.warmup)
        rows.append({"measure": f"actor step + help gate {gate}, {cams}", "per_s": 1.0 / float(np.mean(t)),
                     "p50_ms": ms(t, 50), "p99_ms": ms(t, 99), "ratio": ms(t, 99) - ms(plain, 99),
                     "vs": "extra ms at p99 (vs the step without, interleaved)"})
    policy.help_model = None
    return rows
