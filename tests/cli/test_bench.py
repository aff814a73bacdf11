"""``tredegar bench --smoke`` runs as a real command and writes valid JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TREDEGAR = Path(sys.executable).with_name("tredegar")
NAMES = ["publish", "catch-up", "spread", "in-sync", "query", "memory", "start"]
ABSOLUTE = {"in-sync", "memory", "start"}


def test_bench_smoke_writes_one_row_per_scenario(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    scratch = tmp_path / "scratch"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TREDEGAR_")}
    done = subprocess.run(
        [str(TREDEGAR), "bench", "--smoke", "--json", str(out), "--data", str(scratch)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text("utf-8"))
    assert isinstance(rows, list)
    assert [row["name"] for row in rows] == NAMES
    for row in rows:
        assert {
            "rate",
            "baseline",
            "ratio",
            "value",
            "goal",
            "sizes",
            "machine",
        } <= set(row), row
        assert isinstance(row["value"], (int, float)), row
        assert row["value"] > 0, row
        assert isinstance(row["goal"], (int, float)), row
        assert isinstance(row["sizes"], dict), row
        assert row["sizes"], row
        assert isinstance(row["met"], bool), row
        machine = row["machine"]
        assert isinstance(machine["cores"], int)
        assert machine["cores"] >= 1
        assert machine["python"].count(".") == 2
        assert machine["libraries"]["aiohttp"]
        assert machine["libraries"]["cryptography"]
        if row["name"] in ABSOLUTE:
            assert row["baseline"] is None, row
            assert row["ratio"] is None, row
        else:
            assert row["baseline"] > 0, row
            assert row["rate"] > 0, row
            assert abs(row["ratio"] - row["rate"] / row["baseline"]) < 1e-9, row
    for name in NAMES:
        assert f"| {name} |" in done.stdout, done.stdout
    # Every node it started has stopped.
    for command in Path("/proc").glob("*/cmdline"):
        try:
            text = command.read_bytes()
        except OSError:
            continue
        assert str(scratch).encode() not in text, text
