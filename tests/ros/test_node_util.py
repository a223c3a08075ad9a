"""``run_node``: a stop signal that arrives while the node is still being built (a learner reading a large
store, a robot connecting) ends the process at once; it used to wait for the construction to finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.ros.conftest import PACKAGE

SLOW_NODE = textwrap.dedent("""
    import sys, time
    from robot_rl_ros.node_util import run_node

    def make(cfg):
        print("building", flush=True)
        # A construction that takes a minute, running Python as a real one does (reading a store, connecting).
        # Not one time.sleep(60): the kernel may deliver SIGINT to one of rclpy's threads, and then a single long
        # sleep in the main thread is not interrupted, so the handler would only run when it ended.
        for _ in range(600):
            time.sleep(0.1)
        raise AssertionError("the construction was not interrupted")

    sys.exit(run_node(make, [sys.argv[0]]))
""")


def test_a_stop_signal_during_construction_ends_the_node_at_once(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(PACKAGE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_NODE], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == "building"  # blocks until the construction has started
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)  # far below the construction's 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = proc.stdout.read()
    assert code == 0, rest
    assert "not interrupted" not in rest
