"""``robot-rl bench interop``: how fast ``robot-rl buffer import`` / ``export`` move data, in multiples of real
time, and what a LeRobot round trip does to the camera frames.

The data is the twin's: scripted-expert episodes with its cameras (``camera.names``, ``camera.height`` x
``camera.width``, at ``task.control_hz``), ``bench.interop.episodes`` of them. Each conversion (Diffusion Policy
zarr, ROS 2 bag, LeRobot with H.264 and with AV1) is timed on the whole store; "x real time" is the robot time
the store holds over the wall time the conversion took (the target is 10x). The baseline, run in the same
process, is reading every episode of our own store once (what any conversion must do): the "x read" column says
how many such reads one conversion costs, a figure that moves less with the machine than the seconds do. The
frame error is measured on the twin's renders after export -> import (H.264 and AV1, crf ``interop.video_crf``);
every other field is checked bit-exact."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.report import BenchResult
from robot_rl.actor.wiring import row_schema
from robot_rl.config.schema import Config
from robot_rl.data.bag_interop import export_bag, import_bag
from robot_rl.data.dp_interop import export_diffusion_policy, import_diffusion_policy
from robot_rl.data.lerobot_interop import export_lerobot, import_lerobot
from robot_rl.data.recorder import EpisodeWriter
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import IMAGE_PREFIX
from robot_rl.data.storage import store_size_bytes
from robot_rl.sim.env import PickPlaceEnv
from robot_rl.sim.harness.collect import collect_demos

TARGET_X_REALTIME = 10.0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _read_all(path: Path) -> None:
    with ReplayStore.open(path, "r") as store:
        for ep in range(store.n_episodes):
            store.read_episode(ep)


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _frame_error(a: Path, b: Path, cameras: tuple[str, ...]) -> dict[str, float]:
    """Per-pixel absolute error of every camera frame, and whether everything else came back bit-exact."""
    errs, exact = [], True
    with ReplayStore.open(a, "r") as sa, ReplayStore.open(b, "r") as sb:
        for ep in range(sa.n_episodes):
            x, y = sa.read_episode(ep), sb.read_episode(ep)
            exact &= set(x) == set(y)
            for key, value in x.items():
                if key not in y:
                    continue
                if key.startswith(IMAGE_PREFIX):
                    errs.append(np.abs(value.astype(np.int16) - y[key].astype(np.int16)).ravel())
                else:
                    exact &= bool(value.dtype == y[key].dtype and np.array_equal(value, y[key], equal_nan=True))
            exact &= sa.episode_meta(ep) == sb.episode_meta(ep)
    e = np.concatenate(errs) if errs else np.zeros(1)
    return {"mean": float(e.mean()), "p99": float(np.percentile(e, 99)), "max": float(e.max()),
            "psnr_db": float(10 * np.log10(255.0 ** 2 / max(float(np.mean(e.astype(np.float64) ** 2)), 1e-12))),
            "exact_otherwise": exact}


def run(cfg: Config) -> BenchResult:
    ib = cfg.bench.interop
    io = cfg.interop
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="robot_rl_bench_interop_") as tmp:
        root = Path(tmp)
        store_path = root / "twin.zarr"
        print(f"twin data: {ib.episodes} scripted-expert episodes, cameras {cfg.camera.names} "
              f"{cfg.camera.height}x{cfg.camera.width} at {cfg.task.control_hz:g} Hz", flush=True)
        with PickPlaceEnv(cfg) as env, EpisodeWriter.from_config(cfg.buffer, row_schema(cfg),
                                                                 str(store_path)).start() as writer:
            collect_demos(cfg, env, writer, ib.episodes, cfg.seed)
        with ReplayStore.open(store_path, "r") as store:
            n_rows, n_eps, schema = store.n_rows, store.n_episodes, store.schema
        robot_s = n_rows / cfg.task.control_hz
        read_s = min(_timed(lambda: _read_all(store_path)) for _ in range(2))
        fps = cfg.task.control_hz
        steps: list[tuple[str, Callable[[], object], Path]] = [
            ("export dp", lambda: export_diffusion_policy(store_path, root / "dp.zarr"), root / "dp.zarr"),
            ("import dp", lambda: import_diffusion_policy(root / "dp.zarr", root / "from_dp.zarr",
                                                          control_hz=fps).close(), root / "from_dp.zarr"),
        ]
        steps += [
            ("export mcap", lambda: export_bag(store_path, root / "bag"), root / "bag"),
            ("import mcap", lambda: import_bag(root / "bag", root / "from_bag.zarr", control_hz=fps).close(),
             root / "from_bag.zarr"),
        ]
        for codec in ("libx264", "libsvtav1"):
            out, back = root / f"lerobot_{codec}", root / f"from_lerobot_{codec}.zarr"
            steps += [
                (f"export lerobot ({codec})", lambda out=out, codec=codec: export_lerobot(
                    store_path, out, fps=fps, task=cfg.task.name, codec=codec, crf=io.video_crf), out),
                (f"import lerobot ({codec})", lambda out=out, back=back: import_lerobot(out, back).close(), back),
            ]
        results = {}
        for name, fn, out in steps:
            wall = _timed(fn)
            size = store_size_bytes(str(out)) / 1e6 if out.suffix == ".zarr" else _size_mb(out)
            x = robot_s / wall
            results[name] = {"wall_s": wall, "x_realtime": x, "x_read": wall / read_s, "size_mb": size}
            rows.append({"conversion": name, "wall (s)": f"{wall:.2f}", "x real time": f"{x:.0f}",
                         "x read": f"{wall / read_s:.1f}", "size (MB)": f"{size:.1f}",
                         "met": x >= TARGET_X_REALTIME})
            print(f"  {name}: {wall:.2f} s, {x:.0f}x real time", flush=True)
        fidelity = {codec: _frame_error(store_path, root / f"from_lerobot_{codec}.zarr", schema.cameras)
                    for codec in ("libx264", "libsvtav1")}
        fidelity["dp"] = _frame_error(store_path, root / "from_dp.zarr", schema.cameras)
        fidelity["mcap"] = _frame_error(store_path, root / "from_bag.zarr", schema.cameras)
        ours_mb = store_size_bytes(str(store_path)) / 1e6
    for codec in ("libx264", "libsvtav1"):
        f = fidelity[codec]
        rows.append({"conversion": f"lerobot ({codec}) frames after the round trip",
                     "wall (s)": "-", "x real time": "-", "x read": "-",
                     "size (MB)": f"error mean {f['mean']:.2f}, p99 {f['p99']:.0f}, max {f['max']:.0f} "
                                  f"(PSNR {f['psnr_db']:.1f} dB); other fields exact: {f['exact_otherwise']}",
                     "met": f["exact_otherwise"]})
    notes = [f"{n_eps} episodes, {n_rows} rows = {robot_s / 60:.1f} min of robot time, 2 cameras "
             f"{schema.image_hw[0]}x{schema.image_hw[1]}; our store {ours_mb:.1f} MB; baseline: reading it all "
             f"{read_s:.2f} s ({robot_s / read_s:.0f}x real time)",
             f"Diffusion Policy round trip: frames exact {fidelity['dp']['max'] == 0}; MCAP round trip: frames "
             f"exact {fidelity['mcap']['max'] == 0}; LeRobot crf {io.video_crf}, keyframe every 2 frames"]
    return BenchResult("interop", rows, notes, ok=all(r["met"] is not False for r in rows))
