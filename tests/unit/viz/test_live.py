"""The live view: what the actor decides is served as frames and state over HTTP, off the control thread."""

from __future__ import annotations

import json
import urllib.request

import cv2
import numpy as np
import pytest

from robot_rl.sim.harness.episodes import StepDecision
from robot_rl.viz.episode_video import BORDER
from robot_rl.viz.live import LiveDecider, LiveView


class Scripted:
    """A decider whose human drives from step 2 on."""

    human = None

    def reset(self, seed: int) -> None:
        self.t = 0

    def __call__(self, obs):
        self.t += 1
        a = np.array([0.5, -0.5, 0, 0, 0, 0, 1], np.float32)
        return StepDecision(action=a, policy_action=a, intervened=self.t > 2)


def _obs(i: int) -> dict[str, np.ndarray]:
    img = np.full((32, 32, 3), 40 * i % 256, np.uint8)
    return {"images/wrist": img, "images/front": img[:, ::-1].copy(), "state": np.zeros(10, np.float32)}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def test_live_view_serves_the_newest_step(tmp_path):
    with LiveView(port=0) as view:
        with pytest.raises(urllib.error.HTTPError, match="503"):
            _get(view.url + "frame.jpg")  # nothing decided yet
        decide = LiveDecider(Scripted(), view, version=lambda: 4, tile=64)
        decide.reset(7)
        for i in range(3):
            d = decide(_obs(i))
        assert d.intervened
        state = json.loads(_get(view.url + "state.json"))
        assert state == {"seed": 7, "step": 2, "intervened": True, "action": [0.5, -0.5, 0, 0, 0, 0, 1.0],
                         "frames": 3}
        jpg = cv2.imdecode(np.frombuffer(_get(view.url + "frame.jpg"), np.uint8), cv2.IMREAD_COLOR)
        assert jpg.shape == (64 + 96 + 2 * BORDER, 2 * 64 + 2 * BORDER, 3)
        assert jpg[:BORDER, :, 2].mean() > 150  # red border: the human drives
        with urllib.request.urlopen(view.url + "stream.mjpg", timeout=10) as stream:
            assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
            assert stream.readline() == b"--frame\r\n"
        assert b"stream.mjpg" in _get(view.url)
