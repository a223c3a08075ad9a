"""One format for every benchmark: a printed table plus a JSON file with the machine it ran on.

Benchmarks compare against a baseline measured in the same process (ratios, not absolute times:
shared CI machines are noisy), so rows carry a ``ratio`` column where a baseline exists.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from robot_rl.report.table import format_table


@dataclass
class BenchResult:
    suite: str
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    ok: bool = True  # False: a property the suite checks failed (robot-rl bench exits 1)


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "mujoco_gl": os.environ.get("MUJOCO_GL", ""),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    return info


def write_report(result: BenchResult, out_dir: str | Path) -> Path:
    """Print the table and write ``<out_dir>/<suite>.json``; returns the JSON path."""
    result.machine = result.machine or machine_info()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{result.suite}.json"
    payload = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"), **asdict(result)}
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"\n== bench {result.suite} ==")
    print(format_table(result.rows))
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {path}")
    return path
