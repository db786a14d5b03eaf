"""`tutti tune` on generated data: the chosen setting is the one a hand count picks, the file
keeps everything but the threshold, and a live `tutti eval` of the result gives the same
figures as the offline replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workbench.evaluation.test_eval import (
    CHEAP_USD,
    CONFIDENCES,
    STRONG_USD,
    tutti,
    write_case,
)
from tutti.located_yaml import load_located
from workbench.tune import find_knobs, grid, rewrite


def test_tune_picks_the_best_threshold_under_the_cost_cap_and_eval_confirms_it(
    tmp_path: Path,
) -> None:
    composition, data = write_case(tmp_path, below=0.3)
    original = composition.read_text()
    composition.write_text(
        "# the graded desk\n" + original.replace("flow:", "flow:  # tuned below")
    )
    tuned = tmp_path / "tuned.yaml"
    result = tutti(
        "tune",
        str(composition),
        "--data",
        str(data),
        "--max-cost-share",
        "0.5",
        "--write-to",
        str(tuned),
        "--out",
        str(tmp_path / "tune"),
    )
    assert result.returncode == 0, result.stderr
    # Under 0.5 * strong's $0.01: escalating below t costs $0.011 for each confidence under t.
    # The most escalations that fit: 4 of 12 (0.1-0.4) cost (8*0.001 + 4*0.011)/12 = $0.00433;
    # 5 (t = 0.5, adding 0.45) would cost $0.00517. On the grid of 0.05 steps only t = 0.45
    # escalates exactly those four (0.4 is not below 0.4).
    found = json.loads((tmp_path / "tune" / "tune.json").read_text())
    chosen = found["chosen"]
    assert chosen["values"] == {"cascade cheap > strong": 0.45}
    n = len(CONFIDENCES)
    assert chosen["accuracy"] == pytest.approx((7 + 4) / n)
    assert chosen["cost_per_item_usd"] == pytest.approx(
        (8 * CHEAP_USD + 4 * (CHEAP_USD + STRONG_USD)) / n
    )
    assert len(found["settings"]) == 21
    # Only the threshold changed; the comments stayed.
    assert tuned.read_text() == composition.read_text().replace("below: 0.3}", "below: 0.45}")
    # A live eval of the tuned file: the same accuracy and the same cost, to the cent.
    out = tmp_path / "eval"
    live = tutti("eval", str(tuned), "--data", str(data), "--out", str(out))
    assert live.returncode == 0, live.stderr
    composed = json.loads((out / "report.json").read_text())["systems"][0]
    assert composed["accuracy"] == pytest.approx(chosen["accuracy"])
    assert round(composed["total_cost_usd"], 2) == round(chosen["cost_per_item_usd"] * 3 * n, 2)
    assert composed["cost_per_item_usd"] == pytest.approx(chosen["cost_per_item_usd"])


def test_min_quality_takes_the_cheapest_setting_that_reaches_it(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path, below=0.3)
    result = tutti(
        "tune",
        str(composition),
        "--data",
        str(data),
        "--min-quality",
        "1.0",
        "--out",
        str(tmp_path / "tune"),
    )
    assert result.returncode == 0, result.stderr
    chosen = json.loads((tmp_path / "tune" / "tune.json").read_text())["chosen"]
    assert chosen["values"] == {"cascade cheap > strong": 0.5}  # the first that escalates 0.45


def test_a_composition_without_thresholds_is_told_so(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    composition.write_text(composition.read_text().split("flow:")[0] + "flow: cheap\n")
    result = tutti("tune", str(composition), "--data", str(data))
    assert result.returncode == 2
    assert "no thresholds to tune" in result.stderr


def test_knobs_are_found_in_every_kind_and_rewritten_in_place() -> None:
    text = (
        "flows:\n"
        "  c: {cascade: {steps: [a, b], below: 0.4}}  # keep me\n"
        "flow:\n"
        "  escalate:\n"
        "    from: {route: {by: t, cases: {x: a}, default: b, escalate: {below: 0.2, to: b}}}\n"
        "    tiers:\n"
        "      - {below: 0.5, to: c}\n"
        "      - below: 0.7  # strong\n"
        "        to: b\n"
    )
    document, _ = load_located(text, "t.yaml")
    knobs = find_knobs(document)
    assert [(k.name, k.line, k.value) for k in knobs] == [
        ("cascade a > b", 2, 0.4),
        ("route escalate -> b", 5, 0.2),
        ("escalate -> c", 7, 0.5),
        ("escalate -> b", 8, 0.7),
    ]
    written = rewrite(text, {knobs[0]: 0.35, knobs[3]: 0.9})
    assert written == text.replace("below: 0.4}", "below: 0.35}").replace(
        "below: 0.7 ", "below: 0.9 "
    )
    assert len(grid(knobs, {}, 1000)) <= 1000 and len(grid(knobs[:2], {}, 1000)) == 441
