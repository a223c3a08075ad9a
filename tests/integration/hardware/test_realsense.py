"""The RealSense backend through real librealsense, playing back .db3 recordings the tests write
with librealsense's software device and recorder (no camera on these machines)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from robot_rl.hardware.camera import StaleFrameError
from robot_rl.hardware.deadline import wait_for
from robot_rl.hardware.errors import DeviceNotFoundError
from robot_rl.hardware.image import crop_resize

rs = pytest.importorskip("pyrealsense2", reason="pyrealsense2 is not installed (pip install -e '.[realsense]')")

from robot_rl.hardware.realsense import RealSenseCamera, connected_devices, open_cameras  # noqa: E402
from robot_rl.hardware.realsense_recording import recording_info, write_recording  # noqa: E402

W, H, N, FPS = 64, 48, 90, 30


def _frames(seed: int, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 256, (n, H, W, 3), dtype=np.uint8)
    color[:, 0, 0, 0] = np.arange(n)  # frame number in a pixel, to tell frames apart after playback
    depth = (rng.integers(300, 2000, (n, H, W))).astype(np.uint16)
    return color, depth


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    color, depth = _frames(0)
    path = write_recording(tmp_path_factory.mktemp("rs") / "wrist.db3", color, depth, fps=FPS, serial="111122223333")
    return path, color, depth


@pytest.fixture
def cam_cfg(cfg):
    return dataclasses.replace(cfg.camera, backend="realsense", capture_width=W, capture_height=H, fps=FPS,
                               width=32, height=32, depth=True, reconnect_s=0.3, max_age_s=0.2)


def test_recording_plays_back_pixel_exact(recording):
    path, color, depth = recording
    info = recording_info(path)
    assert info.serial == "111122223333" and 0 < info.frames <= N  # the pipeline syncer may drop a few
    assert any(s.startswith("color 64x48") for s in info.streams) and any("depth" in s for s in info.streams)
    cfg = rs.config()
    cfg.enable_device_from_file(str(path), repeat_playback=False)
    pipe = rs.pipeline()
    pipe.start(cfg).get_device().as_playback().set_real_time(False)
    seen = set()
    try:
        while (got := pipe.try_wait_for_frames(1000))[0]:
            fs = got[1]
            c, d = fs.get_color_frame(), fs.get_depth_frame()
            i = c.get_frame_number()
            np.testing.assert_array_equal(np.asanyarray(c.get_data()), color[i])
            np.testing.assert_array_equal(np.asanyarray(d.get_data()), depth[i])
            seen.add(i)
    finally:
        pipe.stop()
    assert len(seen) > N // 2  # every frame delivered is exact; the pipeline's syncer may skip some


def test_camera_serves_newest_cropped_resized_frames(recording, cam_cfg):
    path, color, depth = recording
    crop = [8, 0, 48, 48]
    cfg = dataclasses.replace(cam_cfg, crops={"wrist": crop})
    with RealSenseCamera("wrist", cfg, recording=path) as cam:
        f1 = cam.read_latest()
        assert f1.image.shape == (32, 32, 3) and f1.image.dtype == np.uint8 and f1.depth.shape == (32, 32)
        k = round(f1.hw_stamp_ms * FPS / 1000.0)  # frame i was stamped i / fps s
        assert abs(f1.hw_stamp_ms - k * 1000.0 / FPS) < 1e-3
        np.testing.assert_array_equal(f1.image, crop_resize(color[k], crop, (32, 32)))
        # depth went through rs.align onto the colour stream; with equal intrinsics and no baseline it is the
        # identity up to librealsense's pixel rounding (a few holes), so nearly all depths match exactly
        same = f1.depth == crop_resize(depth[k], crop, (32, 32), nearest=True)
        assert f1.depth.dtype == np.uint16 and same.mean() > 0.9
        f2 = wait_for(lambda: (f := cam.read_latest(max_age_s=1.0)).index > f1.index + 2 and f, 2.0, "newer frames")
        assert f2.stamp > f1.stamp
        assert f2.hw_stamp_ms > f1.hw_stamp_ms or cam.reconnects > 0  # (unless the 3 s recording restarted)
        assert time.monotonic() - f2.stamp < 0.2


def test_end_of_stream_goes_stale_then_reconnects(recording, cam_cfg):
    """A recording that ends behaves like an unplugged camera: stale, reported, then recovered."""
    path, *_ = recording
    with RealSenseCamera("wrist", cam_cfg, recording=path) as cam:
        wait_for(lambda: cam.status.startswith("lost"), 5.0, "camera reported lost")
        with pytest.raises(StaleFrameError, match="old"):
            cam.read_latest(max_age_s=0.1)
        wait_for(lambda: cam.reconnects >= 1 and cam.status == "streaming", 5.0, "reconnected")
        wait_for(lambda: _fresh(cam), 5.0, "fresh frames after reconnect")


def test_unplug_and_replug_without_restarting(recording, cam_cfg, tmp_path):
    path, *_ = recording
    copy = tmp_path / "cam.db3"
    copy.write_bytes(path.read_bytes())
    with RealSenseCamera("wrist", cam_cfg, recording=copy) as cam:
        copy.rename(tmp_path / "unplugged.db3")
        wait_for(lambda: "not found" in cam.status, 5.0, "camera reported missing")
        with pytest.raises(StaleFrameError):
            cam.read_latest()
        (tmp_path / "unplugged.db3").rename(copy)
        wait_for(lambda: _fresh(cam), 5.0, "frames after replug")


def test_unknown_serial_fails_at_start_listing_connected(cam_cfg):
    cfg = dataclasses.replace(cam_cfg, serials={"wrist": "999999999999", "front": "1"})
    listed = ", ".join(connected_devices()) or "none"
    with pytest.raises(DeviceNotFoundError, match=rf"'999999999999' is not connected; connected: {listed}"):
        open_cameras(cfg)


def test_two_cameras_by_name(recording, cam_cfg, tmp_path):
    color, depth = _frames(1)
    other = write_recording(tmp_path / "front.db3", color, depth, fps=FPS, serial="444455556666")
    cfg = dataclasses.replace(cam_cfg, playback={"wrist": str(recording[0]), "front": str(other)})
    cams = open_cameras(cfg)
    try:
        assert set(cams) == {"wrist", "front"}
        assert all(c.read_latest().image.shape == (32, 32, 3) for c in cams.values())
    finally:
        for c in cams.values():
            c.disconnect()


def _fresh(cam) -> bool:
    try:
        cam.read_latest(max_age_s=0.1)
        return True
    except StaleFrameError:
        return False
