"""`tutti eval` end to end on generated data whose every figure is known in advance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.evaluation import route_classifiers
from workbench.mesh import Mesh

ROOT = Path(__file__).resolve().parents[3]
CHEAP_USD, STRONG_USD = 0.001, 0.01
# Confidences of the cheap model, one per item: right from 0.5 on.
CONFIDENCES = [0.95, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1]
LABELS = ["billing", "account", "shipping"]

COMPOSITION = """\
composition: graded
input: tutti.v1.Text
output: tutti.v1.Classification
stages:
  cheap:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Classification
    price: {{per_call_usd: {cheap}}}
    serve: {{backend: python, factory: "tests.workbench.evaluation.graded:cheap"}}
  strong:
    endpoint: "127.0.0.1:1"
    input: tutti.v1.Text
    output: tutti.v1.Classification
    price: {{per_call_usd: {strong}}}
    serve: {{backend: python, factory: "tests.workbench.evaluation.graded:strong"}}
flow:
  cascade: {{steps: [cheap, strong], below: {below}}}
"""


def write_case(folder: Path, below: float = 0.5) -> tuple[Path, Path]:
    composition = folder / "graded.yaml"
    composition.write_text(COMPOSITION.format(cheap=CHEAP_USD, strong=STRONG_USD, below=below))
    data = folder / "items.csv"
    rows = ["id,text,label"]
    for label in LABELS:  # every label with every confidence
        for i, confidence in enumerate(CONFIDENCES):
            rows.append(f"{label}-{i},{label} {confidence},{label}")
    data.write_text("\n".join(rows) + "\n")
    return composition, data


def tutti(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_eval_reports_the_figures_a_hand_count_gives(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    out = tmp_path / "report"
    result = tutti("eval", str(composition), "--data", str(data), "--out", str(out))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    n = len(CONFIDENCES) * len(LABELS)
    sure = sum(1 for c in CONFIDENCES if c >= 0.5) * len(LABELS)  # cheap right, cascade stops
    unsure = n - sure
    systems = {s["name"]: s for s in report["systems"]}
    assert list(systems) == ["graded", "cheap", "strong"]
    composed, cheap, strong = systems["graded"], systems["cheap"], systems["strong"]
    assert composed["kind"] == "composition" and cheap["kind"] == strong["kind"] == "baseline"
    assert composed["accuracy"] == pytest.approx(1.0)
    assert cheap["accuracy"] == pytest.approx(sure / n)
    assert strong["accuracy"] == pytest.approx(1.0)
    expected_cost = (sure * CHEAP_USD + unsure * (CHEAP_USD + STRONG_USD)) / n
    assert composed["cost_per_item_usd"] == pytest.approx(expected_cost)
    assert cheap["cost_per_item_usd"] == pytest.approx(CHEAP_USD)
    assert strong["cost_per_item_usd"] == pytest.approx(STRONG_USD)
    assert composed["reach"] == pytest.approx({"cheap": 1.0, "strong": unsure / n})
    # Per label: 7 of its 12 right; its wrong answers, "not-LABEL", are labels of their own
    # with F1 0. Macro-F1 = (3 * 2*7/(7+12) + 3 * 0) / 6.
    assert cheap["macro_f1"] == pytest.approx((3 * 14 / 19) / 6)
    assert all(s["errors"] == 0 for s in report["systems"])
    comparison = report["comparison"]
    assert (comparison["cheapest"], comparison["strongest"]) == ("cheap", "strong")
    assert comparison["pgr"] == pytest.approx(1.0)
    assert comparison["cost_saved"] == pytest.approx(1 - expected_cost / STRONG_USD)
    assert comparison["routing"] == {
        "hard_sent_cheap": 0,
        "hard_sent_dear": unsure,
        "easy_sent_cheap": sure,
        "easy_sent_dear": 0,
    }
    assert (out / "report.png").stat().st_size > 0
    assert "graded *" in result.stdout and "PGR 1.000" in result.stdout
    lines = (out / "outcomes.jsonl").read_text().splitlines()
    assert len(lines) == 3 * n


def test_a_missing_label_column_is_named_with_file_and_line(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    data.write_text("id,text,lable\n1,billing 0.9,billing\n")
    result = tutti("eval", str(composition), "--data", str(data))
    assert result.returncode == 2, result.stderr
    assert f"{data}:1:" in result.stderr and "'lable'" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_label_path_is_refused_before_anything_starts(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    result = tutti("eval", str(composition), "--data", str(data), "--label-path", "lable")
    assert result.returncode == 2, result.stderr
    assert "'lable'" in result.stderr and "label" in result.stderr
    assert "systems:" not in result.stderr  # nothing was started


def test_a_routes_classifier_is_no_baseline() -> None:
    """Its labels name the route's cases (departments), not the answers compared."""
    document = {"flow": {"sequence": [{"escalate": {"from": {"route": {"by": "triage"}}}}]}}
    assert route_classifiers(document) == {"triage"}


def test_a_label_no_model_was_trained_on_is_named_with_its_line(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    card = tmp_path / "models" / "cheap" / "model.json"
    card.parent.mkdir(parents=True)
    card.write_text(json.dumps({"labels": LABELS}))
    text = composition.read_text().replace(
        'factory: "tests.workbench.evaluation.graded:cheap"',
        'factory: "tests.workbench.evaluation.graded:cheap", options: {model: models/cheap}',
    )
    composition.write_text(text)
    data.write_text(data.read_text() + "odd-1,refunds 0.9,refunds\n")
    result = tutti("eval", str(composition), "--data", str(data))
    assert result.returncode == 2, result.stderr
    line = len(data.read_text().splitlines())
    assert f"{data}:{line}: 'label' is 'refunds'" in result.stderr
    assert "--allow-unseen-labels" in result.stderr


def test_eval_on_a_running_router_compares_the_compositions_it_serves(tmp_path: Path) -> None:
    composition, data = write_case(tmp_path)
    alone = tmp_path / "strong-only.yaml"
    text = composition.read_text().replace("composition: graded", "composition: strong-only")
    alone.write_text(text.split("flow:")[0] + "flow: strong\n")
    with Mesh.start([composition, alone]) as mesh:
        out = tmp_path / "report"
        result = tutti(
            "eval",
            str(composition),
            "--data",
            str(data),
            "--router",
            mesh.router_address,
            "--against",
            "strong-only",
            "--out",
            str(out),
        )
        missing = tutti(
            "eval",
            str(composition),
            "--data",
            str(data),
            "--router",
            mesh.router_address,
            "--against",
            "nope",
        )
    assert result.returncode == 0, result.stderr
    systems = {s["name"]: s for s in json.loads((out / "report.json").read_text())["systems"]}
    assert list(systems) == ["graded", "strong-only"]
    assert systems["strong-only"]["accuracy"] == pytest.approx(1.0)
    assert systems["strong-only"]["cost_per_item_usd"] == pytest.approx(STRONG_USD)
    assert missing.returncode == 2
    assert "serves no composition 'nope' (it serves: graded, strong-only)" in missing.stderr
