"""The benchmark harness runs end to end (numbers are reported, never asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import core
from bench.report import write_result


def test_core_quick_plan_produces_every_section() -> None:
    plan = core.Plan(((50, 300),), (200,), 300, 1)
    results = core.run(plan, progress=lambda _message: None)
    assert [row["queued"] for row in results["lifecycles"]] == [300]
    assert results["lifecycles"][0]["lifecycles_per_s"]["median"] > 0
    assert results["scaling"][0]["queued"] == 200
    assert set(results["subscribers"]) == {
        "without", "with", "catch_all", "catch_all_with", "overhead_fraction",
        "overhead_fraction_on_catch_all", "overhead_fraction_of_medians",
        "overhead_fraction_paired", "overhead_fraction_paired_on_catch_all",
    }
    assert "| agents | queued |" in core.markdown(results)


def test_result_files_record_machine_and_versions(tmp_path: Path) -> None:
    path = write_result("smoke", {"n": 1}, {"value": 2.0}, directory=tmp_path)
    text = path.read_text()
    for field in ('"machine"', '"cpu"', '"versions"', '"python"', '"parameters"', '"date"'):
        assert field in text


def test_gc_pauses_records_every_generation() -> None:
    from bench import gc_pauses

    results = gc_pauses.measure(gc_pauses.Plan(agents=20, queued=2_000, lifecycles=500),
                                progress=lambda _message: None)
    assert set(results["generations"]) == {"0", "1", "2"}
    assert results["elapsed_s"] > 0
    assert "| generation |" in gc_pauses.markdown(results)
