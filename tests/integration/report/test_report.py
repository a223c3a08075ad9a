"""robot-rl report: statistics per episode, a self-contained HTML file whose plots render in headless
Chromium (present, decoded, and not blank on screen)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import time

import cv2
import numpy as np
import pytest

from robot_rl.cli.main import main
from robot_rl.data import synthetic
from robot_rl.data.layout import EpisodeMeta, EpisodeSource
from robot_rl.data.replay_store import ReplayStore
from robot_rl.data.row_schema import RowSchema
from robot_rl.report.browser import find_chromium, render_dom, screenshot
from robot_rl.report.stats import episode_stats, load_learner_log

SCHEMA = RowSchema(cameras=("wrist",), image_hw=(8, 8), state_dim=10, joints_dim=7)
STORE_PLOTS = {"success", "interventions", "length", "cycle_time", "weights"}
LEARNER_PLOTS = {"learner_losses", "learner_q", "learner_versions"}
chromium = pytest.mark.skipif(find_chromium() is None, reason="needs Chromium: apt-get install chromium "
                              "(tools/setup.sh installs it when run as root, as CI does)")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A store of 4 demos then 16 policy episodes (a take-over in the first 8, success in the last 10),
    and the learner's metrics.jsonl beside it, as the demo lays them out."""
    root = tmp_path_factory.mktemp("report")
    t0 = time.time() - 3600
    with ReplayStore.create(root / "replay.zarr", SCHEMA) as store:
        for i in range(20):
            policy = i >= 4
            cols = synthetic.episode(SCHEMA, 12 + i % 5, seed=i, takeover=(3, 6) if policy and i < 12 else None,
                                     success=not policy or i >= 10)
            store.add_episode(cols, EpisodeMeta(source=EpisodeSource.policy if policy else EpisodeSource.demo,
                                                success=not policy or i >= 10, seed=i,
                                                policy_version=(i - 4) // 3 if policy else -1,
                                                wall_start=t0 + 60 * i))
    (root / "learner").mkdir()
    with (root / "learner" / "metrics.jsonl").open("w") as f:
        for v in range(1, 9):
            f.write(json.dumps({"time": t0 + 300 + 90 * v, "updates": 50 * v, "version": v, "episodes": 4 + v,
                                "critic_loss": 1.0 / v, "actor_loss": -0.1 * v, "q_mean": 0.05 * v}) + "\n")
        f.write('{"time": 1, "upd')  # a line torn by a kill
    return root


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    """``robot-rl report`` on the run, once: (output folder, what it printed)."""
    out = tmp_path_factory.mktemp("rep")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["report", str(run_dir / "replay.zarr"), "--out", str(out)]) == 0
    return out, printed.getvalue()


def test_episode_stats(run_dir):
    with ReplayStore.open(run_dir / "replay.zarr") as store:
        eps = episode_stats(store)
    assert len(eps) == 20 and [e.source for e in eps[:5]] == ["demo"] * 4 + ["policy"]
    e = eps[5]
    assert e.steps == 12 + 5 % 5 - 1 and e.intervened_steps == 3 and e.takeovers == 1
    assert e.intervention_rate == pytest.approx(3 / e.steps)
    assert e.cycle_ms_mean == pytest.approx(100.0) and not eps[5].success and eps[12].success
    assert [r["version"] for r in load_learner_log(run_dir / "learner" / "metrics.jsonl")] == list(range(1, 9))


def test_report_command_writes_html_and_pngs(report):
    out, printed = report
    assert "8 plots, 20 episodes, 8 learner records" in printed  # found learner/metrics.jsonl
    page = (out / "report.html").read_text()
    assert len(re.findall(r'<img class="plot" data-plot="(\w+)"', page)) == 8
    assert "src=\"http" not in page and "<link" not in page  # self-contained
    assert page.count("<tr class=") == 20
    for name in STORE_PLOTS | LEARNER_PLOTS:
        img = cv2.imread(str(out / f"{name}.png"))
        assert img is not None and img.shape[1] >= 900 and img.std() > 5, name


def test_report_without_learner_log_or_store(tmp_path, capsys):
    with ReplayStore.create(tmp_path / "s.zarr", SCHEMA) as store:
        store.add_episode(synthetic.episode(SCHEMA, 5), EpisodeMeta())
    assert main(["report", str(tmp_path / "s.zarr"), "--out", str(tmp_path / "r")]) == 0
    assert "5 plots, 1 episodes, no learner log" in capsys.readouterr().out
    assert "No learner log" in (tmp_path / "r" / "report.html").read_text()
    assert main(["report", str(tmp_path / "nothing.zarr")]) == 2
    assert "no replay store at" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "s.zarr"), "--learner-log", str(tmp_path / "none.jsonl")]) == 2


@chromium
def test_report_renders_in_headless_chromium_with_its_plots(report, tmp_path):
    png, page = screenshot(report[0] / "report.html", tmp_path / "report.png", width=1200)
    assert page.plots == page.plots_loaded == 8  # every <img> decoded: naturalWidth > 0
    assert {b.name for b in page.boxes} == STORE_PLOTS | LEARNER_PLOTS
    shot = cv2.imread(str(png))
    assert shot.shape[0] >= max(b.y + b.height for b in page.boxes)
    for b in page.boxes:
        assert b.width > 600 and b.height > 150, b
        region = shot[b.y:b.y + b.height, b.x:b.x + b.width].astype(np.float32)
        ink = (region.min(axis=2) < 200).mean()  # axes, lines, labels: not a blank white box
        colour = (region.max(axis=2) - region.min(axis=2) > 60).mean()  # coloured curves and points
        assert ink > 0.01 and colour > 0.001 and region.std() > 10, (b.name, ink, colour)


@chromium
def test_the_chromium_check_catches_a_broken_plot(report, tmp_path):
    """The check can fail: a plot whose data does not decode is counted and bannered."""
    path = tmp_path / "report.html"
    shutil.copy(report[0] / "report.html", path)
    path.write_text(path.read_text().replace("data:image/png;base64,iVBOR", "data:image/png;base64,AAAA", 1))
    rendered = render_dom(path)
    assert rendered.plots == 8 and rendered.plots_loaded == 7
    assert "1 plot(s) failed to load" in rendered.dom
