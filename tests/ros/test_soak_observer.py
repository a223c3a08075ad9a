"""The soak's observer times each event by when it was published, not when it got round to reading it: the
soak judges "did the arm move while halted" and "how fast did it halt" from these times."""

from __future__ import annotations

import json
import time

from robot_rl_ros import qos
from std_msgs.msg import Bool

from .conftest import wait_for


def test_observer_times_a_latched_sample_by_its_publication(probe, spawn, tmp_path):
    pub = probe.node.create_publisher(Bool, qos.ROBOT_HALTED, qos.LATCHED)
    before = time.monotonic()
    pub.publish(Bool(data=True))
    after = time.monotonic()
    out = tmp_path / "events.jsonl"
    observer = spawn("soak_nodes", ["observer", str(out)])  # starts after the publication: the sample is latched
    lines = wait_for(lambda: out.exists() and [json.loads(x) for x in out.read_text().splitlines()
                                               if '"halted"' in x], 60.0, "the observer to log the halted sample")
    e = lines[0]
    assert e["v"] is True and observer.alive()
    assert before - 0.05 <= e["t"] <= after + 0.05, f"published at {before:.3f}..{after:.3f}, logged at {e['t']:.3f}"
    assert e["rt"] > after + 0.2, "it was read once the observer had started, well after"
