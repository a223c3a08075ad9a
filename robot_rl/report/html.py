"""The training report as one self-contained HTML file (plots embedded as PNG data URIs) plus the PNGs.

A small inline script checks, once the page has loaded, that every plot decoded (``naturalWidth > 0``),
shows a banner if one did not, and records on ``<body>`` how many plots there are and loaded
(``data-plots``, ``data-plots-loaded``) and on each plot its page rectangle (``data-rect``): what the
headless-Chromium check (:mod:`robot_rl.report.browser`) reads.
"""

from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_rl.report.plots import learner_figures, store_figures
from robot_rl.report.stats import EpisodeStats

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f8}
main{max-width:1100px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}.sub{color:#666;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border-radius:8px;padding:10px 14px;
box-shadow:0 1px 3px #0002;min-width:140px}.card b{display:block;font-size:22px}.card span{color:#666;font-size:12px}
figure{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;margin:12px 0;padding:8px}
figure img{display:block;width:100%;height:auto}figcaption{color:#555;font-size:12px;padding:4px 6px 0}
table{border-collapse:collapse;background:#fff;font-size:12px;width:100%}th,td{padding:3px 8px;text-align:right;
border-bottom:1px solid #eee}th{background:#eef;position:sticky;top:0}td:nth-child(2),th:nth-child(2){text-align:left}
tr.ok td:nth-child(5){color:#1a7f37;font-weight:600}tr.fail td:nth-child(5){color:#b42318}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:8px 12px;border-radius:4px}
#broken{display:none;background:#fde8e8;border-left:4px solid #b42318;padding:8px 12px;margin:8px 0}
"""

_SCRIPT = """
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img.plot')];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  imgs.forEach(i => { const r = i.getBoundingClientRect();
    i.dataset.rect = [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round).join(','); });
  document.body.dataset.plots = imgs.length;
  document.body.dataset.plotsLoaded = ok.length;
  document.body.dataset.pageHeight = document.documentElement.scrollHeight;
  if (ok.length < imgs.length) { const b = document.getElementById('broken');
    b.textContent = (imgs.length - ok.length) + ' plot(s) failed to load'; b.style.display = 'block'; }
});
"""


@dataclass(frozen=True)
class Report:
    html: Path
    pngs: list[Path]
    plots: int


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return html.escape(str(v))


def _cards(eps: Sequence[EpisodeStats], log: Sequence[dict[str, Any]], window: int) -> str:
    cards: list[tuple[str, str]] = [("episodes", str(len(eps)))]
    if eps:
        last = eps[-window:]
        policy = [e for e in eps if e.source == "policy"]
        cards += [("success, all", f"{np.mean([e.success for e in eps]):.0%}"),
                  (f"success, last {len(last)}", f"{np.mean([e.success for e in last]):.0%}"),
                  ("interventions, policy episodes",
                   f"{np.mean([e.intervention_rate for e in policy]):.0%}" if policy else "–"),
                  ("mean length (steps)", f"{np.mean([e.steps for e in eps]):.1f}"),
                  ("steps in all", f"{sum(e.steps for e in eps):,}"),
                  ("latest weights used", f"v{max(e.policy_version for e in eps)}")]
    if log:
        cards += [("learner updates", f"{log[-1]['updates']:,}"), ("weights published", f"v{log[-1]['version']}")]
    return "".join(f'<div class="card"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in cards)


def _table(eps: Sequence[EpisodeStats]) -> str:
    head = ["#", "source", "seed", "status", "success", "steps", "intervened", "rate", "take-overs", "return",
            "weights", "start", "duration s", "cycle ms", "cycle p95 ms"]
    rows = []
    for e in eps:
        start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.wall_start))
        cells = [e.index, e.source, e.seed, e.status, e.success, e.steps, e.intervened_steps,
                 f"{e.intervention_rate:.0%}", e.takeovers, e.ret, f"v{e.policy_version}", start, e.duration_s,
                 e.cycle_ms_mean, e.cycle_ms_p95]
        rows.append(f'<tr class="{"ok" if e.success else "fail"}">' + "".join(f"<td>{_fmt(c)}</td>" for c in cells)
                    + "</tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _figure(name: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img class="plot" data-plot="{name}" alt="{html.escape(caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(caption)}</figcaption></figure>')


def write_report(out_dir: str | Path, store_path: str, eps: Sequence[EpisodeStats],
                 learner_log: Sequence[dict[str, Any]] = (), learner_log_path: str | None = None,
                 window: int = 10) -> Report:
    """Write ``out_dir/report.html`` (self-contained) and one PNG per plot; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = store_figures(eps, window) if eps else {}
    learner = learner_figures(learner_log) if learner_log else {}
    pngs = []
    for name, (_, png) in {**figures, **learner}.items():
        path = out / f"{name}.png"
        path.write_bytes(png)
        pngs.append(path)
    store_section = ("".join(_figure(n, c, p) for n, (c, p) in figures.items()) if figures
                     else '<p class="note">The store holds no committed episodes yet.</p>')
    if learner:
        learner_section = (f'<p class="sub">from {html.escape(str(learner_log_path))}: {len(learner_log)} '
                           "records</p>" + "".join(_figure(n, c, p) for n, (c, p) in learner.items()))
    else:
        learner_section = ('<p class="note">No learner log: pass <code>--learner-log LEARNER_DIR/metrics.jsonl'
                           "</code> (the learner writes it at every published weights version).</p>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>robot_rl training report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body><main>
<h1>Training report</h1>
<p class="sub">store <code>{html.escape(store_path)}</code> · written {time.strftime("%Y-%m-%d %H:%M:%S")}</p>
<div id="broken"></div>
<div class="cards">{_cards(eps, learner_log, window)}</div>
<h2>Episodes</h2>{store_section}
<h2>Learner</h2>{learner_section}
<h2>Per episode</h2>{_table(eps) if eps else '<p class="note">No episodes.</p>'}
</main><script>{_SCRIPT}</script></body></html>
"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return Report(path, pngs, len(figures) + len(learner))
