"""camera_node with its RealSense backend, through real librealsense playing a recording (no camera needed):
the frames it publishes are the recording's frames, cropped and resized, stamped in ROS time, newest first."""

from __future__ import annotations

import numpy as np
import pytest
from robot_rl_ros import qos
from robot_rl_ros.conversions import msg_to_image, stamp_to_ns
from sensor_msgs.msg import Image

from tests.ros.conftest import wait_for

pytest.importorskip("pyrealsense2", reason="the realsense extra is not installed")

W, H, N = 64, 48, 90


def test_realsense_camera_node_publishes_the_recording(tmp_path, probe, spawn):
    from robot_rl.hardware.image import centre_square, crop_resize
    from robot_rl.hardware.realsense_recording import write_recording

    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
    path = write_recording(tmp_path / "wrist.db3", color, fps=30, serial="111122223333")
    images = probe.collect(Image, qos.IMAGE.format(name="wrist"), qos.SENSOR)
    node = spawn("camera_node", ["camera.backend=realsense", "camera.names=[wrist]", f"camera.capture_width={W}",
                                 f"camera.capture_height={H}", "camera.width=32", "camera.height=32", "camera.fps=30",
                                 f"+camera.playback.wrist={path}"])

    def ten_frames() -> bool:
        assert node.alive(), node.output()[-3000:]
        return len(images) >= 10

    wait_for(ten_frames, 60, "10 frames from the camera node")
    expected = [crop_resize(c, centre_square(W, H), (32, 32)) for c in color]
    with probe.lock:
        got = list(images)
    for recv, msg in got:
        img = msg_to_image(msg, (32, 32))
        assert any(np.array_equal(img, e) for e in expected), "a published frame is not a recorded frame"
        age = (recv - stamp_to_ns(msg.header.stamp)) * 1e-9
        assert -0.01 < age < 0.5, f"capture stamp {age:.3f} s before receipt"
    assert node.alive()
