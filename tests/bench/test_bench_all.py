"""`omniroute bench all --quick` runs every scenario into a results directory.

Numbers are not asserted (they depend on the machine); only that each scenario ran or
was skipped with a reason, and that the files the README points to were written.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from router.cli import app


def test_bench_all_quick_writes_results_tables_and_plots(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "all", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    index = json.loads(next(tmp_path.glob("*-all-quick.json")).read_text())["results"]
    for name in ("core", "adapters", "rules", "scaling", "http", "simulate"):
        assert index[name]["status"] == "ok", (name, index[name])
    assert index["redis"]["status"] in {"ok", "skipped"}
    if index["redis"]["status"] == "skipped":
        assert index["redis"]["detail"]  # says why
    names = {p.name.split("-", 3)[-1] for p in tmp_path.iterdir()}
    for expected in ("core-quick.json", "adapters-quick.json", "rules-quick.json",
                     "scaling-quick.json", "http-quick.json", "simulate.json",
                     "all-quick.md", "throughput-quick.png", "latency-quick.png",
                     "scaling-quick.png", "simulate-comparison.png"):
        assert expected in names, (expected, sorted(names))
    markdown = next(tmp_path.glob("*-all-quick.md")).read_text()
    assert "| scenario | status |" in markdown and "## http" in markdown
