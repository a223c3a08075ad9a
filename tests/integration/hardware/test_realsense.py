"""The RealSense backend through real librealsense, playing back .db3 recordings the tests write
with librealsense's software device and recorder (no camera on these machines)."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
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
    playback = pipe.start(cfg).get_device().as_playback()
    playback.set_real_time(False)  # paced by this reader: nothing is lost to a slow (loaded) consumer
    # start() plays in real time until the line above; on a loaded machine that can be most of the recording, so
    # rewind (a frame delivered twice is checked twice, no harm)
    playback.seek(datetime.timedelta(0))
    seen = set()
    deadline = time.monotonic() + 60.0
    try:
        while True:  # until the playback reports its end (not until a pause in delivery)
            ok, fs = pipe.try_wait_for_frames(200)
            if not ok:
                if playback.current_status() == rs.playback_status.stopped:
                    break
                assert time.monotonic() < deadline, f"playback still running after 60 s ({len(seen)} frames)"
                continue
            c, d = fs.get_color_frame(), fs.get_depth_frame()
            i = c.get_frame_number()
            np.testing.assert_array_equal(np.asanyarray(c.get_data()), color[i])
            np.testing.assert_array_equal(np.asanyarray(d.get_data()), depth[d.get_frame_number()])
            seen.add(i)
    finally:
        pipe.stop()
    # every frame delivered is exact; the pipeline's syncer skips some, more under load (80 of 90 seen here)
    assert len(seen) > N // 2


def _newer(cam, than: int, max_age_s: float = 5.0):
    """The newest frame once it is newer than frame ``than`` (a probe for wait_for)."""
    try:
        f = cam.read_latest(max_age_s=max_age_s)
    except StaleFrameError:  # between two playbacks of the recording
        return None
    return f if f.index > than else None


def test_camera_serves_newest_cropped_resized_frames(recording, cam_cfg):
    """Every frame served is the crop + resize of the recorded frame its hardware timestamp names, pixel
    for pixel, with the depth of that same frame; reads return the newest frame (whatever playback timing
    and dropped frames were)."""
    path, color, depth = recording
    crop = [8, 0, 48, 48]
    cfg = dataclasses.replace(cam_cfg, crops={"wrist": crop})
    with RealSenseCamera("wrist", cfg, recording=path) as cam:
        served = []
        while len(served) < 8:
            served.append(wait_for(lambda: _newer(cam, served[-1].index if served else 0), 10.0, "a newer frame"))
            received = cam.frames_received
            latest = cam.read_latest(max_age_s=5.0)
            assert latest.index >= received >= served[-1].index  # never older than the newest delivered
        for f in served:
            assert f.image.shape == (32, 32, 3) and f.image.dtype == np.uint8
            assert f.depth.shape == (32, 32) and f.depth.dtype == np.uint16
            k = round(f.hw_stamp_ms * FPS / 1000.0)  # frame i was stamped i / fps s
            assert 0 <= k < N and abs(f.hw_stamp_ms - k * 1000.0 / FPS) < 1e-3
            np.testing.assert_array_equal(f.image, crop_resize(color[k], crop, (32, 32)))
            # depth went through rs.align onto the colour stream; with equal intrinsics and no baseline it is the
            # identity up to librealsense's pixel rounding (a few holes), so nearly all depths match exactly
            assert (f.depth == crop_resize(depth[k], crop, (32, 32), nearest=True)).mean() > 0.9
        for a, b in itertools.pairwise(served):
            assert b.stamp >= a.stamp
            assert b.hw_stamp_ms > a.hw_stamp_ms or cam.reconnects > 0  # (unless the 3 s recording restarted)


def test_end_of_stream_goes_stale_then_reconnects(recording, cam_cfg):
    """A recording that ends behaves like an unplugged camera: stale, reported, then recovered."""
    path, *_ = recording
    with RealSenseCamera("wrist", cam_cfg, recording=path) as cam:
        # the window between "lost" and the restarted playback's first frame is short: one probe sees both
        message = wait_for(lambda: _stale_message(cam, 0.1), 15.0, "stale frames reported as lost")
        assert "old" in message and "lost: no frames" in message
        wait_for(lambda: cam.reconnects >= 1 and cam.status == "streaming", 10.0, "reconnected")
        wait_for(lambda: _fresh(cam), 10.0, "fresh frames after reconnect")


def test_unplug_and_replug_without_restarting(recording, cam_cfg, tmp_path):
    path, *_ = recording
    copy = tmp_path / "cam.db3"
    copy.write_bytes(path.read_bytes())
    with RealSenseCamera("wrist", cam_cfg, recording=copy) as cam:
        copy.rename(tmp_path / "unplugged.db3")
        wait_for(lambda: "not found" in cam.status, 15.0, "camera reported missing")  # after the 3 s playback
        with pytest.raises(StaleFrameError):
            cam.read_latest()
        (tmp_path / "unplugged.db3").rename(copy)
        wait_for(lambda: _fresh(cam), 10.0, "frames after replug")


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
        for c, frames in ((cams["wrist"], recording[1]), (cams["front"], color)):  # each its own recording
            f = wait_for(lambda c=c: _fresh(c) and c.read_latest(max_age_s=5.0), 10.0, f"{c.name} fresh frame")
            k = round(f.hw_stamp_ms * FPS / 1000.0)
            np.testing.assert_array_equal(f.image, crop_resize(frames[k], c.crop, (32, 32)))
    finally:
        for c in cams.values():
            c.disconnect()


def _stale_message(cam, max_age_s: float) -> str | None:
    """The StaleFrameError a reader gets now, if the camera also reports itself lost."""
    try:
        cam.read_latest(max_age_s=max_age_s)
    except StaleFrameError as exc:
        return str(exc) if "lost" in str(exc) else None
    return None


def _fresh(cam) -> bool:
    try:
        cam.read_latest(max_age_s=0.1)
        return True
    except StaleFrameError:
        return False
