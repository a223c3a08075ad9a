"""robot-rl video: one frame per recorded row, recorded beside simulated, readable by OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from robot_rl.cli.main import main
from robot_rl.data.replay_store import ReplayStore
from robot_rl.sim.replay import EpisodeReplayer, load_episode
from robot_rl.viz.episode_video import BORDER, write_episode_video

from ..sim.recorded import copy_as_real, record


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return record(tmp_path_factory.mktemp("video"))


def _read(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def test_video_has_one_frame_per_row_and_the_expected_size(recorded, tmp_path):
    cfg, _, path = recorded
    with ReplayStore.open(path) as store:
        ep = load_episode(store, 0, cameras=["wrist", "front"])
    ep.cols["intervened"][3:6] = True  # the human drove these steps: red border
    with EpisodeReplayer(cfg, ["wrist", "front"], (32, 32)) as replayer:
        result = replayer.replay(ep, "action")
    info = write_episode_video(ep, result, tmp_path / "ep0.mp4", fps=10, tile=96, codec="mp4v")
    # 2 cameras of 96x96 tiles: [recorded | 4 px | simulated], rows 4 px apart, a 96 px panel, 6 px border
    assert (info.width, info.height) == (2 * 96 + 4 + 2 * BORDER, 2 * 96 + 4 + 96 + 2 * BORDER)
    frames = _read(info.path)
    assert len(frames) == info.frames == ep.length
    assert frames[0].shape == (info.height, info.width, 3)
    red = frames[4][:BORDER, :, :].reshape(-1, 3).mean(axis=0)  # BGR
    assert red[2] > 150 and red[1] < 80, red
    assert frames[1][:BORDER].mean() < 30  # no border while the policy acts
    # left tile is the recording, right tile the replay: the same scene, so nearly the same pixels
    left, right = frames[10][BORDER + 20:BORDER + 96, BORDER:BORDER + 96], \
        frames[10][BORDER + 20:BORDER + 96, BORDER + 100:BORDER + 196]
    assert left.std() > 10 and np.abs(left.astype(int) - right.astype(int)).mean() < 12


def test_video_command_and_bad_camera(recorded, tmp_path, capsys):
    _, overrides, path = recorded
    out = tmp_path / "v.mp4"
    assert main(["video", str(path), "--episode", "1", "--camera", "front", "--tile", "64", "--out", str(out),
                 *overrides]) == 0
    assert "action replay (seeded)" in capsys.readouterr().out
    frames = _read(out)
    with ReplayStore.open(path) as store:
        assert len(frames) == store.episode_bounds(1)[1] - store.episode_bounds(1)[0]
    assert main(["video", str(path), "--camera", "side", *overrides]) == 2
    assert "camera 'side' is not in" in capsys.readouterr().err


def test_video_of_a_real_episode_uses_joint_space(recorded, tmp_path, capsys):
    _, overrides, path = recorded
    real = copy_as_real(path, tmp_path / "real.zarr")
    assert main(["video", str(real), "--tile", "64", "--out", str(tmp_path / "r.mp4"), *overrides]) == 0
    assert "joint replay (arm-only)" in capsys.readouterr().out
    assert len(_read(tmp_path / "r.mp4")) > 10
