from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.storage import ZipStore

from robot_rl.data import layout as L
from robot_rl.data.dp_interop import export_diffusion_policy, import_diffusion_policy
from robot_rl.data.errors import StoreError
from robot_rl.data.replay_store import ReplayStore

from .helpers import assert_same_episode


def test_export_is_a_diffusion_policy_zarr_and_imports_back_identically(tmp_path, store_with):
    store, eps = store_with([7, 12, 9], sources=["demo", "policy", "teleop"])
    store.close()
    src = ReplayStore.open(tmp_path / "store.zarr")
    assert export_diffusion_policy(src, tmp_path / "dp.zarr") == 3

    dp = zarr.open_group(tmp_path / "dp.zarr", mode="r")
    assert dp.metadata.zarr_format == 2  # what Diffusion Policy's zarr 2.x reads
    assert (tmp_path / "dp.zarr/data/wrist/.zarray").is_file()
    assert sorted(dp["data"].array_keys()) == sorted([
        "wrist", "front", "state", "action", "base_action", "residual_action", "policy_action", "intervened",
        "reward", "success", "terminated", "truncated", "t_obs", "t_action"])
    assert dp["meta/episode_ends"].dtype == np.int64 and list(dp["meta/episode_ends"][:]) == [7, 19, 28]
    assert all(dp["data"][k].shape[0] == 28 for k in dp["data"].array_keys())  # DP's own assertion
    np.testing.assert_array_equal(dp["data/wrist"][7:19], eps[1]["obs/images/wrist"])

    back = import_diffusion_policy(tmp_path / "dp.zarr", tmp_path / "back.zarr")
    assert back.schema == src.schema  # camera order kept
    for i, want in enumerate(eps):
        assert_same_episode(back.read_episode(i), want)
        assert back.episode_meta(i) == src.episode_meta(i)


def write_pusht_like(path, lengths, scale=255.0):
    """A zarr 2 group laid out like Diffusion Policy's pusht replay buffer."""
    root = zarr.open_group(path, mode="w", zarr_format=2)
    n = sum(lengths)
    rng = np.random.default_rng(0)
    comp = numcodecs.Blosc(cname="zstd")
    img = (rng.integers(0, 256, (n, 16, 16, 3)) / 255.0 * scale).astype(np.float32)
    root.create_array("data/img", data=img, chunks=(4, 16, 16, 3), compressors=comp)
    root.create_array("data/state", data=rng.standard_normal((n, 5)), compressors=comp)
    root.create_array("data/action", data=rng.standard_normal((n, 2)).astype(np.float32), compressors=comp)
    root.create_array("data/keypoint", data=rng.standard_normal((n, 9, 2)), compressors=comp)
    root.create_array("meta/episode_ends", data=np.cumsum(lengths).astype(np.int64))
    return img, root


@pytest.mark.parametrize("scale", [255.0, 1.0])
def test_import_a_diffusion_policy_dataset_as_demonstrations(tmp_path, scale):
    img, root = write_pusht_like(tmp_path / "pusht.zarr", [4, 6], scale)
    store = import_diffusion_policy(tmp_path / "pusht.zarr", tmp_path / "ours.zarr", control_hz=10)
    assert store.schema.cameras == ("img",) and store.schema.state_dim == 5 and store.schema.action_dim == 2
    assert store.n_episodes == 2 and list(store.episode_ends) == [4, 10]
    ep = store.read_episode(1)
    np.testing.assert_array_equal(ep["obs/images/img"], np.rint(img[4:] * (255 / scale)).astype(np.uint8))
    np.testing.assert_array_equal(ep["obs/state"], root["data/state"][4:].astype(np.float32))
    np.testing.assert_array_equal(ep["base_action"], ep["action"])
    assert not ep["residual_action"].any() and not ep["intervened"].any()
    np.testing.assert_array_equal(ep["success"], [0, 0, 0, 0, 1, 0])  # the last transition
    np.testing.assert_array_equal(ep["terminated"], ep["success"])
    np.testing.assert_allclose(ep["t_obs"], np.arange(6) / 10)
    meta = store.episode_meta(0)
    assert meta.source == L.EpisodeSource.demo and meta.success


def test_import_options_and_errors(tmp_path):
    write_pusht_like(tmp_path / "pusht.zarr", [5])
    store = import_diffusion_policy(tmp_path / "pusht.zarr", tmp_path / "a.zarr", state_keys=["state", "keypoint"],
                                    success=False)
    assert store.schema.state_dim == 5 + 18
    assert store.read_episode(0)["truncated"][3] and not store.read_episode(0)["success"].any()
    root = zarr.open_group(tmp_path / "nostate.zarr", mode="w", zarr_format=2)
    root.create_array("data/img", data=np.zeros((3, 8, 8, 3), np.uint8))
    root.create_array("data/action", data=np.zeros((3, 2), np.float32))
    root.create_array("meta/episode_ends", data=np.array([3]))
    with pytest.raises(StoreError, match="state_keys"):
        import_diffusion_policy(tmp_path / "nostate.zarr", tmp_path / "b.zarr")
    zarr.open_group(tmp_path / "empty.zarr", mode="w")
    with pytest.raises(StoreError, match="not a Diffusion Policy replay zarr"):
        import_diffusion_policy(tmp_path / "empty.zarr", tmp_path / "c.zarr")


def test_import_from_a_zip(tmp_path):
    lengths = [3, 4]
    zip_store = ZipStore(tmp_path / "dp.zarr.zip", mode="w")
    root = zarr.open_group(zip_store, mode="w", zarr_format=2)
    root.create_array("data/img", data=np.full((7, 8, 8, 3), 9, np.uint8))
    root.create_array("data/state", data=np.zeros((7, 2), np.float32))
    root.create_array("data/action", data=np.ones((7, 2), np.float32))
    root.create_array("meta/episode_ends", data=np.cumsum(lengths))
    zip_store.close()
    store = import_diffusion_policy(tmp_path / "dp.zarr.zip", tmp_path / "ours.zarr")
    assert store.n_episodes == 2 and (store.read_episode(1)["obs/images/img"] == 9).all()
