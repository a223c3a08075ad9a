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


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return "" if v is None else str(v)

    table = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=False))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(t, widths, strict=False)))
            for t in table]
    return "\n".join([line, sep, *body])


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
