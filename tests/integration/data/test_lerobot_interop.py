"""``robot-rl buffer import`` / ``export`` with LeRobotDataset v3.0.

LeRobot itself cannot be installed beside torch 2.13 (lerobot 0.4.4 pins torch < 2.11), so the foreign dataset
here is written by this test with pyarrow and PyAV in LeRobot's v3.0 layout as LeRobot writes it: several
episodes sharing one data file and one AV1 video per camera (LeRobot's default codec), each episode a time window
in it. Our export is opened with Rerun's LeRobot reader (an independent implementation) and its task table with
pandas, as LeRobot reads it; it comes back through our import bit-exact but for the video frames."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rerun.experimental import LeRobotReader

from robot_rl.cli.main import main
from robot_rl.data.formats import LEROBOT, detect_format
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.data.synthetic import episode

HW = (32, 48)
FPS = 10


def frames(n: int, seed: int) -> np.ndarray:
    """A bright square moving over a soft gradient: what a codec is made for (noise would not survive it)."""
    y, x = np.mgrid[0:HW[0], 0:HW[1]]
    out = np.empty((n, *HW, 3), np.uint8)
    for t in range(n):
        out[t, ..., 0] = 40 + 3 * x
        out[t, ..., 1] = 60 + 4 * y
        out[t, ..., 2] = 90 + seed * 20
        cy, cx = 8 + (t + seed) % 12, 10 + 2 * ((t * 3 + seed) % 14)
        out[t, cy:cy + 8, cx:cx + 8] = (230, 220, 40)
    return out


def write_lerobot(root: Path, lengths=(12, 9, 15), state_dim=6, action_dim=7) -> dict:
    """A LeRobotDataset v3.0: one data file, one AV1 video per camera holding every episode back to back."""
    rng = np.random.default_rng(0)
    n = sum(lengths)
    state = rng.standard_normal((n, state_dim)).astype(np.float32)
    action = rng.uniform(-1, 1, (n, action_dim)).astype(np.float32)
    images = {cam: np.concatenate([frames(k, i + 3 * j) for i, k in enumerate(lengths)])
              for j, cam in enumerate(("top", "wrist"))}
    ep_index = np.concatenate([np.full(k, i) for i, k in enumerate(lengths)]).astype(np.int64)
    frame_index = np.concatenate([np.arange(k) for k in lengths]).astype(np.int64)
    (root / "data/chunk-000").mkdir(parents=True)
    pq.write_table(pa.table({
        "observation.state": pa.FixedSizeListArray.from_arrays(pa.array(state.reshape(-1)), state_dim),
        "action": pa.FixedSizeListArray.from_arrays(pa.array(action.reshape(-1)), action_dim),
        "timestamp": pa.array((frame_index / FPS).astype(np.float32)), "frame_index": pa.array(frame_index),
        "episode_index": pa.array(ep_index), "index": pa.array(np.arange(n, dtype=np.int64)),
        "task_index": pa.array(np.zeros(n, np.int64))}), root / "data/chunk-000/file-000.parquet")
    for cam, video in images.items():
        path = root / f"videos/observation.images.{cam}/chunk-000/file-000.mp4"
        path.parent.mkdir(parents=True)
        with av.open(str(path), "w") as c:
            s = c.add_stream("libsvtav1", rate=Fraction(FPS), options={"crf": "20", "g": "2", "preset": "10"})
            s.width, s.height, s.pix_fmt = HW[1], HW[0], "yuv420p"
            for i, img in enumerate(video):
                f = av.VideoFrame.from_ndarray(img, format="rgb24")
                f.pts = i
                c.mux(s.encode(f))
            c.mux(s.encode())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    eps = {"episode_index": list(range(len(lengths))), "tasks": [["stack the cube"]] * len(lengths),
           "length": list(lengths), "data/chunk_index": [0] * len(lengths), "data/file_index": [0] * len(lengths),
           "dataset_from_index": starts.tolist(), "dataset_to_index": (starts + lengths).tolist()}
    for cam in images:
        key = f"videos/observation.images.{cam}"
        eps |= {f"{key}/chunk_index": [0] * len(lengths), f"{key}/file_index": [0] * len(lengths),
                f"{key}/from_timestamp": (starts / FPS).tolist(),
                f"{key}/to_timestamp": ((starts + lengths) / FPS).tolist()}
    (root / "meta/episodes/chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(eps), root / "meta/episodes/chunk-000/file-000.parquet")
    pd.DataFrame({"task_index": [0]}, index=["stack the cube"]).to_parquet(root / "meta/tasks.parquet")
    video = {"dtype": "video", "shape": [*HW, 3], "names": ["height", "width", "channels"]}
    features = {"observation.images.top": video, "observation.images.wrist": video,
                "observation.state": {"dtype": "float32", "shape": [state_dim], "names": None},
                "action": {"dtype": "float32", "shape": [action_dim], "names": None},
                **{k: {"dtype": "float32" if k == "timestamp" else "int64", "shape": [1], "names": None}
                   for k in ("timestamp", "frame_index", "episode_index", "index", "task_index")}}
    (root / "meta/info.json").write_text(json.dumps({
        "codebase_version": "v3.0", "robot_type": "so100", "total_episodes": len(lengths), "total_frames": n,
        "total_tasks": 1, "chunks_size": 1000, "fps": FPS, "splits": {"train": f"0:{len(lengths)}"},
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "features": features}))
    return {"state": state, "action": action, "images": images, "starts": starts, "lengths": lengths}


def close_to(got: np.ndarray, want: np.ndarray) -> None:
    """Within lossy video's error on these frames: small on average, no pixel far off."""
    err = np.abs(got.astype(int) - want.astype(int))
    assert got.shape == want.shape and err.mean() < 3.0 and np.percentile(err, 99) < 40, (err.mean(), err.max())


def test_import_a_lerobot_dataset_sharing_files_between_episodes(tmp_path, capsys):
    src = tmp_path / "so100_stack"
    data = write_lerobot(src)
    assert detect_format(src) == LEROBOT
    assert main(["buffer", "import", str(src), str(tmp_path / "ours.zarr"), "interop.cameras=[wrist,top]"]) == 0
    assert "imported 3 episodes (36 rows) of lerobot" in capsys.readouterr().out
    with ReplayStore.open(tmp_path / "ours.zarr") as store:
        assert store.schema.cameras == ("wrist", "top") and store.schema.image_hw == HW
        assert [store.episode_bounds(i)[1] - store.episode_bounds(i)[0] for i in range(3)] == [12, 9, 15]
        for i in range(3):
            ep, lo, n = store.read_episode(i), data["starts"][i], data["lengths"][i]
            np.testing.assert_array_equal(ep["obs/state"], data["state"][lo:lo + n])  # bit-exact
            np.testing.assert_array_equal(ep["action"][:-1], data["action"][lo:lo + n - 1])
            assert ep["success"][n - 2] and ep["terminated"][n - 2] and not ep["intervened"].any()
            for cam in ("wrist", "top"):  # the episode's window of the shared video, frame for frame
                close_to(ep[f"obs/images/{cam}"], data["images"][cam][lo:lo + n])
            assert store.episode_meta(i).source == EpisodeSource.demo
    assert main(["buffer", "verify", str(tmp_path / "ours.zarr")]) == 0


def _our_store(path: Path) -> list[dict]:
    schema = RowSchema(cameras=("front", "wrist"), image_hw=HW, state_dim=10, action_dim=7, joints_dim=7,
                       help=True, reward=True)
    store = ReplayStore.create(path, schema, chunk_len=8)
    eps = []
    for seed, n in enumerate((11, 7)):
        rng = np.random.default_rng(seed)
        cols = episode(schema, n, seed, takeover=(2, 5))
        cols |= {"obs/images/front": frames(n, seed), "obs/images/wrist": frames(n, seed + 5),
                 "obs/joints": rng.standard_normal((n, 7)).astype(np.float32),
                 "help_score": rng.random(n).astype(np.float32), "help_level": rng.integers(0, 3, n).astype(np.int8),
                 "success_prob": rng.random(n).astype(np.float32), "success_detected": rng.random(n) > 0.5,
                 "success_label": rng.integers(-1, 2, n).astype(np.int8)}
        cols["help_score"][0] = np.nan  # not judged
        store.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy, seed=40 + seed, success=seed == 0))
        eps.append(cols)
    store.close()
    return eps


def test_export_opens_in_rerun_and_pandas_and_comes_back_exact(tmp_path, capsys):
    eps = _our_store(tmp_path / "ours.zarr")
    out = tmp_path / "lerobot"
    assert main(["buffer", "export", str(tmp_path / "ours.zarr"), str(out), "--format", "lerobot",
                 "interop.task=put the cube on the target"]) == 0
    assert "exported 2 episodes (18 rows)" in capsys.readouterr().out
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_frames"] == 18 and info["fps"] == 10
    assert info["features"]["observation.images.front"]["info"]["video.codec"] == "h264"
    tasks = pd.read_parquet(out / "meta/tasks.parquet")  # as LeRobot's load_tasks reads it
    assert list(tasks.index) == ["put the cube on the target"]
    assert tasks.loc["put the cube on the target"].task_index == 0
    stats = json.loads((out / "meta/stats.json").read_text())
    assert np.array(stats["observation.images.front"]["mean"]).shape == (3, 1, 1)
    np.testing.assert_allclose(stats["action"]["max"], np.max([e["action"].max(0) for e in eps], 0), rtol=1e-6)

    reader = LeRobotReader(out)  # Rerun's own LeRobot reader
    assert reader.version == "v3" and reader.episodes() == [0, 1]
    seen: dict[str, list] = {}
    for chunk in reader.stream(1).to_chunks():
        batch = chunk.to_record_batch()
        for name in batch.schema.names:
            if name.endswith((":scalars", ":sample", ":codec")):
                seen.setdefault(f"{chunk.entity_path} {name.split(':')[1]}", []).extend(batch.column(name).to_pylist())
    np.testing.assert_allclose(seen["/action scalars"], eps[1]["action"], rtol=1e-6)
    np.testing.assert_allclose(seen["/observation.state scalars"], eps[1]["obs/state"], rtol=1e-6)
    assert len(seen["/observation.images.wrist sample"]) == 7, "one video sample per frame of the episode"
    assert seen["/observation.images.wrist codec"]

    assert main(["buffer", "import", str(out), str(tmp_path / "back.zarr")]) == 0
    with ReplayStore.open(tmp_path / "back.zarr") as back:
        assert back.schema.to_json() == ReplayStore.open(tmp_path / "ours.zarr").schema.to_json()
        for i, want in enumerate(eps):
            got = back.read_episode(i)
            assert back.episode_meta(i).seed == 40 + i and back.episode_meta(i).source == EpisodeSource.policy
            assert back.episode_meta(i).success == (i == 0)
            for key, value in want.items():
                if key.startswith("obs/images/"):
                    close_to(got[key], value)
                else:
                    assert got[key].dtype == value.dtype, key
                    np.testing.assert_array_equal(got[key], value, err_msg=key)  # bit-exact, NaN included


def test_bad_lerobot_datasets_get_errors_naming_what_they_have(tmp_path, capsys):
    src = tmp_path / "ds"
    write_lerobot(src)
    dst = tmp_path / "out.zarr"
    assert main(["buffer", "import", str(src), str(dst), "interop.cameras=[front]"]) == 1
    err = capsys.readouterr().err
    assert "no camera ['front']" in err and "observation.images.top" in err and "interop.cameras" in err
    assert main(["buffer", "import", str(src), str(dst), "interop.action_key=observation.state"]) == 1
    err = capsys.readouterr().err
    assert "has 6 dimensions, the robot's action has 7" in err and "interop.action_key" in err
    assert main(["buffer", "import", str(src), str(dst), "interop.state_keys=[observation.joints]"]) == 1
    assert "no feature 'observation.joints'" in capsys.readouterr().err

    video = src / "videos/observation.images.wrist/chunk-000/file-000.mp4"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])  # cut short: the last episodes are gone
    assert main(["buffer", "import", str(src), str(dst)]) == 1
    assert "truncated?" in capsys.readouterr().err
    data = src / "data/chunk-000/file-000.parquet"
    data.write_bytes(data.read_bytes()[:-100])
    assert main(["buffer", "import", str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert str(data) in err and "truncated?" in err
    assert not dst.exists() and not list(tmp_path.glob(".*partial")), "nothing half-written"


def test_an_older_lerobot_dataset_is_refused_with_how_to_convert(tmp_path, capsys):
    src = tmp_path / "ds"
    write_lerobot(src)
    info = json.loads((src / "meta/info.json").read_text())
    (src / "meta/info.json").write_text(json.dumps({**info, "codebase_version": "v2.1"}))
    assert main(["buffer", "import", str(src), str(tmp_path / "out.zarr")]) == 1
    assert "v2.1" in (err := capsys.readouterr().err) and "convert" in err


@pytest.mark.parametrize(("codec", "name"), [("libx264", "h264"), ("libsvtav1", "av1")])
def test_export_codecs(tmp_path, codec, name):
    eps = _our_store(tmp_path / "ours.zarr")
    assert main(["buffer", "export", str(tmp_path / "ours.zarr"), str(tmp_path / "lr"), "--format", "lerobot",
                 f"interop.video_codec={codec}"]) == 0
    with av.open(str(tmp_path / "lr/videos/observation.images.front/chunk-000/file-001.mp4")) as c:
        assert c.streams.video[0].codec_context.codec.canonical_name == name
        assert sum(1 for _ in c.decode(video=0)) == 7
    assert main(["buffer", "import", str(tmp_path / "lr"), str(tmp_path / "back.zarr")]) == 0
    with ReplayStore.open(tmp_path / "back.zarr") as back:
        close_to(back.read_episode(1)["obs/images/front"], eps[1]["obs/images/front"])


def test_bad_export_settings_name_the_key(tmp_path, capsys):
    _our_store(tmp_path / "ours.zarr")
    assert main(["buffer", "export", str(tmp_path / "ours.zarr"), str(tmp_path / "lr"), "--format", "lerobot",
                 "interop.video_codec=mjpeg"]) == 2
    assert "interop.video_codec" in capsys.readouterr().err
    assert not (tmp_path / "lr").exists()


def test_imported_lerobot_episodes_train_the_bc_base(tmp_path, capsys):
    write_lerobot(tmp_path / "ds")
    store = tmp_path / "ours.zarr"
    assert main(["buffer", "import", str(tmp_path / "ds"), str(store), "interop.cameras=[wrist,top]"]) == 0
    assert main(["train-bc", f"buffer.path={store}", f"policy.path={tmp_path / 'bc.pt'}", "camera.names=[wrist,top]",
                 f"camera.height={HW[0]}", f"camera.width={HW[1]}", "policy.epochs=1", "policy.feature_dim=8",
                 "policy.hidden_dim=32", "policy.eval_every=0"]) == 0, capsys.readouterr().err
    assert (tmp_path / "bc.pt").is_file()
