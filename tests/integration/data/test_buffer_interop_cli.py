"""``robot-rl buffer import`` / ``export`` with Diffusion Policy's replay zarr: the format detected from what is on
disk (zarr format 2 and 3, a folder or a .zip, written with zarr itself as Diffusion Policy's ``ReplayBuffer``
lays it out), keys mapped by ``interop.*`` with errors naming what the dataset has, the destination written
whole or not at all, ``inspect`` on a foreign dataset saying how to import it, and the imported episodes
training the BC base."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.storage import ZipStore

from robot_rl.cli.main import main
from robot_rl.data.formats import DP, LEROBOT, MCAP, OURS, detect_format, write_atomically
from robot_rl.data.replay_store import ReplayStore

from .episodes import CHUNK_LEN, SCHEMA


def write_dp(root: zarr.Group, lengths=(6, 9), hw=(16, 16), state_dim=10, action_dim=7) -> dict:
    """Arrays laid out as Diffusion Policy's ReplayBuffer keeps them: flat data/<key>, meta/episode_ends."""
    n = sum(lengths)
    rng = np.random.default_rng(0)
    data = {"camera_0": rng.integers(0, 256, (n, *hw, 3), dtype=np.uint8),
            "camera_1": rng.integers(0, 256, (n, *hw, 3), dtype=np.uint8),
            "robot_eef_pose": rng.standard_normal((n, state_dim)).astype(np.float32),
            "action": rng.uniform(-1, 1, (n, action_dim)).astype(np.float32)}
    for k, v in data.items():
        root.create_array(f"data/{k}", data=v, chunks=(4, *v.shape[1:]))
    root.create_array("meta/episode_ends", data=np.cumsum(lengths).astype(np.int64))
    return data


MAP = ["interop.cameras=[camera_0,camera_1]", "interop.state_keys=[robot_eef_pose]"]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_import_a_dp_folder_detected_and_mapped(tmp_path, capsys, zarr_format):
    src = tmp_path / "dp.zarr"
    data = write_dp(zarr.open_group(src, mode="w", zarr_format=zarr_format))
    assert detect_format(src) == DP
    assert main(["buffer", "import", str(src), str(tmp_path / "ours.zarr"), *MAP]) == 0
    assert "imported 2 episodes" in capsys.readouterr().out
    with ReplayStore.open(tmp_path / "ours.zarr") as store:
        assert store.schema.cameras == ("camera_0", "camera_1") and store.n_episodes == 2
        ep = store.read_episode(1)
        assert store.episode_meta(1).source.name == "demo" and store.episode_meta(1).success
    np.testing.assert_array_equal(ep["obs/images/camera_1"], data["camera_1"][6:])
    np.testing.assert_array_equal(ep["obs/state"], data["robot_eef_pose"][6:])  # bit-exact
    np.testing.assert_array_equal(ep["action"][:-1], data["action"][6:-1])
    assert main(["buffer", "verify", str(tmp_path / "ours.zarr")]) == 0


def test_import_a_dp_zip_and_export_back(tmp_path, capsys):
    with ZipStore(str(tmp_path / "dp.zip"), mode="w") as zs:
        data = write_dp(zarr.open_group(zs, mode="w", zarr_format=2))
    assert detect_format(tmp_path / "dp.zip") == DP
    assert main(["buffer", "import", str(tmp_path / "dp.zip"), str(tmp_path / "ours.zarr"), *MAP]) == 0
    assert main(["buffer", "export", str(tmp_path / "ours.zarr"), str(tmp_path / "back.zarr"), "--format", "dp"]) == 0
    back = zarr.open_group(tmp_path / "back.zarr", mode="r")  # as Diffusion Policy's ReplayBuffer opens it
    assert back.metadata.zarr_format == 2 and list(back["meta/episode_ends"][:]) == [6, 15]
    np.testing.assert_array_equal(back["data/camera_0"][:], data["camera_0"])
    np.testing.assert_array_equal(back["data/state"][:], data["robot_eef_pose"])
    assert detect_format(tmp_path / "back.zarr") == DP, "our export is a DP zarr, not one of our stores"


def test_a_mapping_that_does_not_fit_names_what_the_dataset_has(tmp_path, capsys):
    src = tmp_path / "dp.zarr"
    write_dp(zarr.open_group(src, mode="w", zarr_format=2))
    assert main(["buffer", "import", str(src), str(tmp_path / "a.zarr")]) == 1  # no data/state
    err = capsys.readouterr().err
    assert "no data/state" in err and "robot_eef_pose" in err and "state_keys" in err
    assert main(["buffer", "import", str(src), str(tmp_path / "b.zarr"), *MAP, "interop.action_key=act"]) == 1
    assert "no data/act" in capsys.readouterr().err
    assert not (tmp_path / "a.zarr").exists() and not (tmp_path / "b.zarr").exists()
    assert not list(tmp_path.glob(".*partial")), "nothing half-written is left behind"


def test_inspect_on_a_foreign_dataset_says_how_to_import_it(tmp_path, capsys):
    src = tmp_path / "dp.zarr"
    write_dp(zarr.open_group(src, mode="w", zarr_format=2))
    assert main(["buffer", "inspect", str(src)]) == 1
    assert f"robot-rl buffer import {src} DST" in capsys.readouterr().err


def test_detection_tells_the_formats_apart_and_names_what_is_there(tmp_path):
    ours = ReplayStore.create(tmp_path / "ours.zarr", SCHEMA, chunk_len=CHUNK_LEN)
    ours.close()
    assert detect_format(tmp_path / "ours.zarr") == OURS
    (tmp_path / "le" / "meta").mkdir(parents=True)
    (tmp_path / "le" / "meta" / "info.json").write_text("{}")
    assert detect_format(tmp_path / "le") == LEROBOT
    (tmp_path / "bag.mcap").write_bytes(b"\x89MCAP0\r\n")
    assert detect_format(tmp_path / "bag.mcap") == MCAP
    assert main(["buffer", "import", str(tmp_path / "le"), str(tmp_path / "x.zarr")]) == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hi")
    with pytest.raises(Exception, match=r"notes\.txt"):
        detect_format(tmp_path / "other")


def test_the_destination_appears_whole_or_not_at_all(tmp_path):
    def fails(tmp):
        tmp.mkdir()
        (tmp / "half").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(tmp_path / "dst", fails)
    assert not (tmp_path / "dst").exists() and not list(tmp_path.iterdir())
    write_atomically(tmp_path / "dst", lambda tmp: tmp.mkdir())
    with pytest.raises(Exception, match="--overwrite"):
        write_atomically(tmp_path / "dst", lambda tmp: tmp.mkdir())


def test_overwrite_replaces_a_file_or_a_folder_with_the_new_one(tmp_path):
    dst = tmp_path / "sub" / "view.rrd"
    write_atomically(dst, lambda tmp: tmp.write_text("old"))
    write_atomically(dst, lambda tmp: tmp.write_text("new"), overwrite=True)
    assert dst.read_text() == "new"

    def folder(tmp):
        tmp.mkdir()
        (tmp / "data").write_text("folder")

    write_atomically(dst, folder, overwrite=True)
    assert (dst / "data").read_text() == "folder"
    write_atomically(dst, lambda tmp: tmp.write_text("file again"), overwrite=True)
    assert dst.read_text() == "file again" and sorted(p.name for p in dst.parent.iterdir()) == ["view.rrd"]


def test_imported_episodes_train_the_bc_base(tmp_path, capsys):
    src = tmp_path / "dp.zarr"
    write_dp(zarr.open_group(src, mode="w", zarr_format=2), lengths=(12, 14), hw=(32, 32))
    store = tmp_path / "ours.zarr"
    assert main(["buffer", "import", str(src), str(store), *MAP]) == 0
    common = [f"buffer.path={store}", f"policy.path={tmp_path / 'bc.pt'}", "camera.names=[camera_0,camera_1]",
              "camera.height=32", "camera.width=32", "policy.epochs=1", "policy.feature_dim=8",
              "policy.hidden_dim=32", "policy.eval_every=0"]
    assert main(["train-bc", *common]) == 0, capsys.readouterr().err
    assert (tmp_path / "bc.pt").is_file()
