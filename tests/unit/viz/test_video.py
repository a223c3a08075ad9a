"""The MP4 sink: frames in, a file OpenCV reads back with the same count and size; H.264 through ffmpeg."""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np
import pytest

from robot_rl.viz.video import VideoSink


def _frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    return [np.stack([(xx * 4 + i * 9) % 256, (yy * 5) % 256, np.full_like(xx, 40 * i % 256)], -1).astype(np.uint8)
            for i in range(n)]


def _read(path) -> list[np.ndarray]:
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append(frame)


@pytest.mark.parametrize("codec", ["mp4v", pytest.param("h264", marks=pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="H.264 needs ffmpeg on PATH (apt-get install ffmpeg); optional"))])
def test_sink_writes_every_frame(tmp_path, codec):
    frames = _frames(7)
    with VideoSink(tmp_path / "v.mp4", fps=10, codec=codec) as sink:
        for f in frames:
            sink.write(f)
    assert sink.codec == codec and sink.frames == 7
    back = _read(tmp_path / "v.mp4")
    assert len(back) == 7 and back[0].shape == (48, 64, 3)
    assert np.abs(back[3][..., ::-1].astype(int) - frames[3].astype(int)).mean() < 12  # RGB in, BGR out
    if codec == "h264":
        probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                                "stream=codec_name,pix_fmt", "-of", "csv=p=0", str(tmp_path / "v.mp4")],
                               capture_output=True, text=True, check=True)
        assert probe.stdout.strip() == "h264,yuv420p"


def test_sink_refuses_a_frame_of_another_size(tmp_path):
    with VideoSink(tmp_path / "v.mp4", fps=10, codec="mp4v") as sink:
        sink.write(_frames(1)[0])
        with pytest.raises(ValueError, match="frame 1 is 32x48, the video is 64x48"):
            sink.write(np.zeros((48, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="codec 'avi'"):
        VideoSink(tmp_path / "x.mp4", fps=10, codec="avi")
