"""Replay store and sampler: append rows/s and ``put`` latency, sample batches/s, refresh time.

- **append**: rows with the configured cameras (two 128x128 by default) + 18-D state, end to end
  through the background writer into a zarr store on local disk (target >= 100x the control rate),
  next to the same rows written without the thread; the control thread's ``put`` latency while the
  writer works (target p99 < 1 ms) at 10x the control rate, next to the same rows only checked and
  copied (the machine's own jitter: on a shared CPU it can exceed the target by itself);
- **sample**: batches/s at ``buffer.bench.batch_size`` with n-step ``buffer.n_step`` from a cache
  of ``buffer.bench.cache_transitions`` (built in RAM, synthetic frames): ours (output memory reused
  once a batch is released, the default; and fresh memory per batch) against baselines in the
  same run, one batch of each in turn, rate = 1 / median batch time: a plain numpy buffer (uniform
  indices, n-step summed at sampling time, ignoring episode ends; it shares the cache's image
  arrays so both fit in RAM) and, when installed (``pip install -e .[bench]``), torchrl's
  ``ReplayBuffer`` + ``LazyTensorStorage`` holding ``obs`` and ``next_obs`` as torchrl users do
  (at most 20k transitions, for memory; timed in a block of its own, as its allocation churn
  changes how fast fresh memory is for the others);
- **refresh**: time for the learner's cache to pick up a newly committed 100-step episode.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch

from benchmarks.report import BenchResult
from benchmarks.timing import ms
from robot_rl.config.schema import Config
from robot_rl.data.cache import ReplayCache
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import STATE_KEY, RowSchema
from robot_rl.data.sampler import Sampler
from robot_rl.data.storage import store_size_bytes
from robot_rl.data.synthetic import episode, frames

STATE_DIM = 18
TORCHRL_MAX = 20_000


def run(cfg: Config) -> BenchResult:
    schema = RowSchema.from_camera_config(cfg.camera, state_dim=STATE_DIM)
    pool = frames(schema, 64, cfg.seed)
    rows: list[dict] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="robot_rl_bench_buffer_") as tmp:
        rows += _append(cfg, schema, pool, f"{tmp}/append.zarr", notes)
        rows += _refresh(cfg, schema, pool, f"{tmp}/refresh.zarr")
    rows += _sample(cfg, schema, pool, notes)
    return BenchResult("buffer", rows, notes)


def _row(cols: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    return {k: v[t] for k, v in cols.items()}


# ------------------------------------------------------------------------------------------ append
def _paced(n: int, hz: float, step: Callable[[int], object]) -> np.ndarray:
    """Call ``step(i)`` ``n`` times at ``hz`` (a control loop's rhythm); returns each call's seconds."""
    lat = np.empty(n)
    tick = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        step(i)
        lat[i] = time.perf_counter() - t0
        tick += 1.0 / hz
        time.sleep(max(0.0, tick - time.perf_counter()))
    return lat


def _append(cfg: Config, schema: RowSchema, pool: dict, path: str, notes: list[str]) -> list[dict]:
    b, buf = cfg.buffer.bench, cfg.buffer
    episodes = [episode(schema, b.episode_len, e, frame_pool=pool, takeover=(10, 20))
                for e in range(min(b.append_episodes, 8))]
    n_rows = b.append_episodes * b.episode_len
    target = 100 * cfg.task.control_hz
    opts = {"chunk_len": buf.chunk_len, "compression": buf.compression,
            "compression_level": buf.compression_level, "fsync": buf.fsync}

    # reference: the same episodes written synchronously, no thread (what the writer thread costs)
    with ReplayStore.create(f"{path}.direct", schema, **opts) as direct:
        start = time.perf_counter()
        for e in range(b.append_episodes):
            direct.add_episode(episodes[e % len(episodes)], EpisodeMeta(seed=e))
        direct_rate = n_rows / (time.perf_counter() - start)

    store = ReplayStore.create(path, schema, **opts)
    with EpisodeWriter(store, buf.queue_size) as writer:
        start = time.perf_counter()
        for e in range(b.append_episodes):
            cols = episodes[e % len(episodes)]
            writer.begin_episode("policy", seed=e)
            for t in range(b.episode_len):
                writer.put(_row(cols, t), block=True)
            writer.end_episode(success=True)
        writer.flush()
        writer_rate = n_rows / (time.perf_counter() - start)
        size = store_size_bytes(path)

        # put() latency at 10x the control rate while the writer compresses and writes, and the
        # same rows only validated and copied (no writer at all): the machine's noise floor
        pace = 10 * cfg.task.control_hz
        n_put = min(n_rows, int(5 * pace))
        overflows = 0

        def put(i: int) -> None:
            nonlocal overflows
            t = i % b.episode_len
            if t == 0:
                writer.begin_episode("policy", seed=i)
            overflows += not writer.put(_row(episodes[0], t))
            if t == b.episode_len - 1:
                writer.end_episode(success=True)

        lat = _paced(n_put, pace, put)
        writer.flush()
    floor = _paced(n_put, pace, lambda i: schema.validate(_row(episodes[0], i % b.episode_len)))
    notes.append(f"append: {n_rows} rows of {schema.row_nbytes / 1e3:.0f} KB raw take "
                 f"{size / n_rows / 1e3:.1f} KB each on disk ({buf.compression}, chunks of {buf.chunk_len} rows)")
    return [
        {"measure": "append rows, writer end to end", "per_s": writer_rate, "ratio": writer_rate / target,
         "vs": f"target {target:g} rows/s (100x control)"},
        {"measure": "append rows, direct (no thread)", "per_s": direct_rate, "ratio": writer_rate / direct_rate,
         "vs": "writer / direct (same run)"},
        {"measure": f"put() at {pace:g} Hz, writer busy", "per_s": None, "p50_ms": ms(lat, 50), "p99_ms": ms(lat, 99),
         "ratio": ms(lat, 99) / 1.0, "vs": f"p99 / 1 ms target; max {lat.max() * 1e3:.2f} ms; {overflows} overflows"},
        {"measure": f"row check+copy alone at {pace:g} Hz", "per_s": None, "p50_ms": ms(floor, 50),
         "p99_ms": ms(floor, 99), "ratio": ms(lat, 99) / max(ms(floor, 99), 1e-6),
         "vs": "put p99 / this p99 (machine noise floor)"},
    ]


# ----------------------------------------------------------------------------------------- refresh
def _refresh(cfg: Config, schema: RowSchema, pool: dict, path: str) -> list[dict]:
    b, buf = cfg.buffer.bench, cfg.buffer
    writer_store = ReplayStore.create(path, schema, chunk_len=buf.chunk_len, compression=buf.compression)
    reader = ReplayStore.open(path, "r")
    cache = ReplayCache(schema, (b.refresh_episodes + 1) * 100, n_step=buf.n_step, gamma=buf.gamma)
    times, idle = np.empty(b.refresh_episodes), np.empty(b.refresh_episodes)
    for i in range(b.refresh_episodes):
        writer_store.add_episode(episode(schema, 100, i, frame_pool=pool), EpisodeMeta(source=EpisodeSource.policy))
        t0 = time.perf_counter()
        added = cache.refresh(reader)
        times[i] = time.perf_counter() - t0
        assert added == 1, f"refresh saw {added} new episodes, expected 1"
        t0 = time.perf_counter()
        cache.refresh(reader)
        idle[i] = time.perf_counter() - t0
    writer_store.close()
    return [
        {"measure": "refresh: new 100-step episode", "per_s": 1 / np.median(times), "p50_ms": ms(times, 50),
         "p99_ms": ms(times, 99), "vs": f"+ poll period/2 (buffer.poll_interval_s={buf.poll_interval_s:g})"},
        {"measure": "refresh: poll, nothing new", "per_s": 1 / np.median(idle), "p50_ms": ms(idle, 50),
         "p99_ms": ms(idle, 99)},
    ]


# ------------------------------------------------------------------------------------------ sample
class PlainNumpyBuffer:
    """The baseline: what one writes by hand. Uniform indices, n-step summed at sampling time with
    done masking, no episode boundaries, no mixing; arrays shared with the cache (no copy)."""

    def __init__(self, arrays: dict[str, np.ndarray], reward: np.ndarray, done: np.ndarray, size: int,
                 image_keys: tuple[str, ...], n: int, gamma: float, rng: np.random.Generator) -> None:
        self.a, self.reward, self.done, self.size = arrays, reward, done, size
        self.image_keys, self.n, self.gamma, self.rng = image_keys, n, gamma, rng

    def sample(self, b: int) -> dict[str, torch.Tensor]:
        idx = self.rng.integers(0, self.size - self.n, b)
        nxt = idx + self.n
        out = {}
        for k in (*self.image_keys, STATE_KEY):
            out[k] = torch.from_numpy(self.a[k][idx])
            out["next_" + k] = torch.from_numpy(self.a[k][nxt])
        out["action"] = torch.from_numpy(self.a["action"][idx])
        ret, alive = np.zeros(b, np.float32), np.ones(b, bool)
        for k in range(self.n):
            ret += alive * self.gamma**k * self.reward[idx + k]
            alive &= ~self.done[idx + k]
        out["reward"], out["discount"] = torch.from_numpy(ret), torch.from_numpy(alive * self.gamma**self.n)
        return out


def _sample(cfg: Config, schema: RowSchema, pool: dict, notes: list[str]) -> list[dict]:
    b, buf = cfg.buffer.bench, cfg.buffer
    rng = np.random.default_rng(2)
    cache = ReplayCache(schema, b.cache_transitions, n_step=buf.n_step, gamma=buf.gamma,
                        reward_mode=buf.reward_mode, offline_sources=buf.offline_sources)
    reward, done = np.zeros(b.cache_transitions, np.float32), np.zeros(b.cache_transitions, bool)
    start, ep = time.perf_counter(), 0
    while cache.size + b.episode_len <= b.cache_transitions:
        takeover = (b.episode_len // 2, b.episode_len // 2 + b.episode_len // 5) if ep % 3 == 0 else None
        cols = episode(schema, b.episode_len, ep, frame_pool=pool, takeover=takeover)
        s = cache.size
        cache.add_episode(cols, "demo" if ep % 10 == 0 else "policy")
        reward[s:cache.size], done[s:cache.size] = cols["reward"], cols["terminated"]
        ep += 1
    notes.append(f"sample: cache of {cache.size} rows ({ep} episodes) built in RAM in "
                 f"{time.perf_counter() - start:.1f} s; {_kb_per_row(cache):.1f} KB per transition")
    bs = b.batch_size
    plain = PlainNumpyBuffer(cache.arrays, reward, done, cache.size, schema.image_keys, buf.n_step, buf.gamma, rng)
    methods: dict[str, Callable[[], object]] = {
        "ours": Sampler(cache, bs, offline_fraction=buf.offline_fraction, seed=0).sample,
        "ours, fresh memory": Sampler(cache, bs, offline_fraction=buf.offline_fraction, pooled_batches=0,
                                      seed=0).sample,
        "plain numpy": lambda: plain.sample(bs),
    }
    times = _interleaved(methods, b.sample_batches, min(cfg.bench.warmup, 3))
    # torchrl runs in its own block: its allocation churn changes how fast the others' memory is
    torchrl_sample, torchrl_note = _torchrl(cache, schema, bs)
    notes.append(torchrl_note)
    if torchrl_sample is not None:
        times |= _interleaved({"torchrl LazyTensorStorage": torchrl_sample}, b.sample_batches,
                              min(cfg.bench.warmup, 3))
    base = 1.0 / np.median(times["plain numpy"])
    out = []
    for name, t in times.items():
        hz = 1.0 / float(np.median(t))
        out.append({"measure": f"sample b{bs} n{buf.n_step}: {name}", "per_s": hz, "p50_ms": ms(t, 50),
                    "p99_ms": ms(t, 99), "ratio": hz / base, "vs": "plain numpy (same run)"})
    return out


def _interleaved(methods: dict[str, Callable[[], object]], n: int, warmup: int) -> dict[str, np.ndarray]:
    """Seconds per call of each method, one call of each in turn, so all see the same machine."""
    for fn in methods.values():
        for _ in range(warmup):
            fn()
    times = {m: np.empty(n) for m in methods}
    for i in range(n):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[name][i] = time.perf_counter() - t0
    return times


def _kb_per_row(cache: ReplayCache) -> float:
    return sum(a.itemsize * int(np.prod(a.shape[1:])) for a in cache.arrays.values()) / 1e3


def _torchrl(cache: ReplayCache, schema: RowSchema, bs: int) -> tuple[Callable[[], object] | None, str]:
    try:
        from tensordict import TensorDict
        from torchrl.data import LazyTensorStorage, ReplayBuffer
    except ImportError:
        return None, "torchrl not installed: its baseline is skipped (pip install -e .[bench] adds torchrl 0.14.1)"
    off, on = cache.pools()
    starts = np.sort(np.concatenate([off, on]))[:TORCHRL_MAX]
    rb = ReplayBuffer(storage=LazyTensorStorage(len(starts)), batch_size=bs)
    arr = cache.arrays
    for lo in range(0, len(starts), 1000):
        rows = starts[lo:lo + 1000]
        nxt = rows + arr["nstep_steps"][rows]
        obs = {k: torch.from_numpy(arr[k][rows]) for k in (*schema.image_keys, STATE_KEY)}
        next_obs = {k: torch.from_numpy(arr[k][nxt]) for k in (*schema.image_keys, STATE_KEY)}
        rb.extend(TensorDict({"obs": obs, "next": next_obs, "action": torch.from_numpy(arr["action"][rows]),
                              "reward": torch.from_numpy(arr["nstep_return"][rows]),
                              "discount": torch.from_numpy(arr["nstep_discount"][rows])}, batch_size=[len(rows)]))
    import torchrl

    return rb.sample, (f"torchrl {torchrl.__version__}: ReplayBuffer(LazyTensorStorage({len(starts)})) storing obs and "
                       "next obs (2x the image memory per transition)")
