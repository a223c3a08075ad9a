"""``robot-rl bench buffer`` runs end to end at a tiny size and reports every measure with ratios."""

from __future__ import annotations

import json

from robot_rl.cli.main import main


def test_bench_buffer_small(tmp_path, capsys):
    rc = main(["bench", "buffer", f"bench.out_dir={tmp_path}", "bench.warmup=1",
               "buffer.bench.append_episodes=2", "buffer.bench.episode_len=20", "buffer.bench.cache_transitions=400",
               "buffer.bench.batch_size=16", "buffer.bench.sample_batches=5", "buffer.bench.refresh_episodes=2"])
    assert rc == 0
    rows = {r["measure"]: r for r in json.loads((tmp_path / "buffer.json").read_text())["rows"]}
    assert rows["append rows, writer end to end"]["per_s"] > 0
    assert rows["put() at 100 Hz, writer busy"]["p99_ms"] > 0
    assert rows["refresh: new 100-step episode"]["p50_ms"] > 0
    assert rows["sample b16 n3: plain numpy"]["ratio"] == 1.0
    assert rows["sample b16 n3: ours"]["ratio"] > 0
    assert "== bench buffer ==" in capsys.readouterr().out
