"""Helpers to run the writer / reader child processes of these tests."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


class Child:
    """A ``python -m tests.integration.data.<module>`` process whose stdout lines are collected."""

    def __init__(self, module: str, *args: object) -> None:
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - a file, not a pipe: never blocks the child
        self.proc = subprocess.Popen([sys.executable, "-m", f"tests.integration.data.{module}", *map(str, args)],
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=self._err, text=True)
        self.lines: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def committed(self) -> list[int]:
        return [int(x.split()[1]) for x in list(self.lines) if x.startswith("committed ")]

    def wait_for(self, condition, timeout: float = 60.0) -> None:
        """Poll ``condition()`` until true; fail with the child's stderr at the deadline."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None and not condition():
                self.finish()
                pytest.fail(f"child exited ({self.proc.returncode}) early:\n{self.stderr()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"timed out; child stderr:\n{self.stderr()}")
            time.sleep(0.005)

    def finish(self, timeout: float = 60.0) -> int:
        rc = self.proc.wait(timeout)
        self._pump.join(timeout)
        return rc

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()
