"""Broken compositions are rejected before serving, each error naming its line and stage."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router_service import compile_composition, read_composition
from tutti.errors import CompositionError, ConfigError

CLASSIFICATION = "tutti.v1.Classification"

HEADER = """\
composition: broken
input: tutti.v1.Text
output: tutti.v1.Text
stages:
  triage: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Classification}
  a: {endpoint: "127.0.0.1:2", input: tutti.v1.Text, output: tutti.v1.Text}
  b: {endpoint: "127.0.0.1:3", input: tutti.v1.Text, output: tutti.v1.Text}
  label: {endpoint: "127.0.0.1:4", input: tutti.v1.Text, output: tutti.v1.Classification}
  merger: {endpoint: "127.0.0.1:5", kind: merger}
"""

# (name, text after HEADER, expected line, stage named in the error or "", words in the message)
CASES = [
    ("unknown_stage", "flow:\n  sequence: [a, nope]\n", 11, "nope", "unknown stage 'nope'"),
    ("unknown_stage_suggests", "flow: tirage\n", 10, "tirage", "did you mean 'triage'"),
    (
        "cycle",
        "flows:\n  one: {sequence: [a, two]}\n  two: {sequence: [b, one]}\nflow: one\n",
        12,
        "one",
        "cycle in flows: one -> two -> one",
    ),
    (
        "duplicate_stage",
        '  a: {endpoint: "127.0.0.1:9", input: tutti.v1.Text, output: tutti.v1.Text}\nflow: a\n',
        10,
        "",
        "duplicate key 'a' (first defined on line 6)",
    ),
    (
        "sequence_type_mismatch",
        "flow:\n  sequence: [a, label, b]\n",
        11,
        "b",
        "'label' outputs tutti.v1.Classification but 'b' takes tutti.v1.Text",
    ),
    (
        "route_cases_differ",
        "flow:\n  route:\n    by: triage\n    cases: {x: a, y: label}\n    default: b\n",
        13,
        "label",
        "route cases differ: 'label' has output tutti.v1.Classification",
    ),
    (
        "route_without_default",
        "flow:\n  route:\n    by: triage\n    cases: {x: a}\n",
        12,
        "",
        "route without 'default'",
    ),
    (
        "classifier_not_classification",
        "flow:\n  route: {by: a, cases: {x: a}, default: b}\n",
        11,
        "a",
        "a route's classifier must return tutti.v1.Classification, not tutti.v1.Text",
    ),
    (
        "weight_not_positive",
        "flow:\n  split:\n    - {weight: 0, to: a}\n    - {weight: 2, to: b}\n",
        12,
        "",
        "'weight' must be greater than 0",
    ),
    ("unknown_top_level_key", "flowz: a\nflow: a\n", 10, "", "unknown key 'flowz'"),
    (
        "unknown_stage_key",
        '  c: {endpoint: "127.0.0.1:6", input: tutti.v1.Text, output: tutti.v1.Text, budget: 5}\nflow: a\n',
        10,
        "c",
        "unknown key 'budget'",
    ),
    (
        "unknown_node_kind",
        "flow:\n  parallel: [a, b]\n",
        11,
        "",
        "unknown flow node 'parallel'",
    ),
    (
        "flow_output_differs_from_composition",
        "flow: label\n",
        3,
        "label",
        "composition output is tutti.v1.Text but its flow returns tutti.v1.Classification",
    ),
    (
        "missing_flow",
        "",
        1,
        "",
        "missing required key 'flow'",
    ),
    (
        "stage_without_endpoint",
        "  c: {input: tutti.v1.Text, output: tutti.v1.Text}\nflow: c\n",
        10,
        "c",
        "missing 'endpoint'",
    ),
    (
        "stage_without_types",
        '  c: {endpoint: "127.0.0.1:6"}\nflow: c\n',
        10,
        "c",
        "input/output types unknown",
    ),
    (
        "unknown_message_type",
        '  c: {endpoint: "127.0.0.1:6", input: tutti.v1.Text, output: acme.v1.Nope}\nflow: a\n',
        10,
        "c",
        "output type 'acme.v1.Nope' is unknown",
    ),
    (
        "merge_by_model_stage",
        "flow:\n  fanout:\n    branches: [label, label]\n    merge: {by: a, strategy: majority_vote}\n",
        13,
        "a",
        "not a merger stage",
    ),
    (
        "unknown_merge_strategy",
        "flow:\n  fanout:\n    branches: {x: label, y: label}\n    merge: {by: merger, strategy: loudest}\n",
        13,
        "",
        "unknown merge strategy 'loudest'",
    ),
    (
        "quorum_over_branches",
        "flow:\n  fanout:\n    branches: {x: label, y: label}\n    merge: {by: merger, strategy: majority_vote}\n    quorum: 3\n",
        14,
        "",
        "quorum 3 is more than the 2 branches",
    ),
    (
        "quorum_not_a_whole_number",
        "flow:\n  fanout:\n    branches: {x: label, y: label}\n    merge: {by: merger, strategy: majority_vote}\n    quorum: 1.5\n",
        14,
        "",
        "'quorum' must be a whole number, not 1.5",
    ),
    (
        "escalate_threshold_out_of_range",
        "flow:\n  route: {by: triage, cases: {x: a}, default: b, escalate: {below: 1.5, to: b}}\n",
        11,
        "triage",
        "confidence in [0, 1]",
    ),
    (
        "merger_as_step",
        "flow:\n  sequence: [a, merger]\n",
        11,
        "merger",
        "a merger stage can only be used as a fan-out's merge",
    ),
    (
        "negative_budget",
        "budget: {latency_ms: -5}\nflow: a\n",
        10,
        "",
        "'latency_ms' must be greater than 0",
    ),
    (
        "stage_budget_not_a_number",
        '  c: {endpoint: "127.0.0.1:6", input: tutti.v1.Text, output: tutti.v1.Text, budget_ms: .nan}\nflow: a\n',
        10,
        "c",
        "'budget_ms' must be a finite number",
    ),
    (
        "latency_budget_infinite",
        "budget: {latency_ms: .inf}\nflow: a\n",
        10,
        "",
        "'latency_ms' must be a finite number",
    ),
    (
        "price_not_a_number",
        (
            '  c: {endpoint: "127.0.0.1:6", input: tutti.v1.Text, output: tutti.v1.Text,\n'
            "      price: {per_call_usd: .nan}}\nflow: a\n"
        ),
        11,
        "c",
        "'per_call_usd' must be a finite number",
    ),
    (
        "cache_ttl_infinite",
        (
            '  c: {endpoint: "127.0.0.1:6", input: tutti.v1.Text, output: tutti.v1.Text,\n'
            "      cache: {ttl_s: .inf}}\nflow: a\n"
        ),
        11,
        "c",
        "'ttl_s' must be a finite number",
    ),
    (
        "escalate_targets_differ",
        "flow:\n  escalate:\n    from: label\n    tiers: [{below: 0.5, to: a}]\n",
        13,
        "a",
        "escalate targets differ: 'a' has output tutti.v1.Text",
    ),
    (
        "cascade_without_confidence",
        "flow:\n  cascade: {steps: [a, b], below: 0.5}\n",
        11,
        "",
        "cascade reads confidence from tutti.v1.Text",
    ),
]


@pytest.mark.parametrize(
    ("case", "tail", "line", "stage", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_broken_composition_is_rejected_with_line_and_stage(
    tmp_path: Path, case: str, tail: str, line: int, stage: str, words: str
) -> None:
    path = tmp_path / f"{case}.yaml"
    path.write_text(HEADER + tail)
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path))
    matching = [p for p in caught.value.problems if words in p.message]
    assert matching, f"no problem mentions {words!r}: {[str(p) for p in caught.value.problems]}"
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.line == line, str(problem)
    assert problem.stage == stage
    assert str(problem).startswith(f"{path}:{line}: ")


def test_every_error_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(HEADER + "flow:\n  sequence: [nope, label, b]\n")
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path))
    assert len(caught.value.problems) >= 2


def test_invalid_yaml_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent("""\
        composition: x
        stages:
          a: {endpoint: [unclosed
        flow: a
        """)
    )
    with pytest.raises(ConfigError) as caught:
        read_composition(path)
    assert caught.value.problems[0].line in (3, 4)
    assert "invalid YAML" in str(caught.value)


def test_declared_types_must_agree_with_the_live_stage(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(HEADER + "flow: a\n")
    with pytest.raises(CompositionError) as caught:
        compile_composition(read_composition(path), {"a": ("tutti.v1.Text", "tutti.v1.Completion")})
    assert any(
        p.stage == "a"
        and "declares output tutti.v1.Text but the live stage says tutti.v1.Completion" in p.message
        for p in caught.value.problems
    )


def test_a_valid_composition_compiles_and_warns_about_budgets_that_cannot_add_up(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ok.yaml"
    text = HEADER.replace(
        'a: {endpoint: "127.0.0.1:2",', 'a: {endpoint: "127.0.0.1:2", budget_ms: 80,'
    ).replace('b: {endpoint: "127.0.0.1:3",', 'b: {endpoint: "127.0.0.1:3", budget_ms: 50,')
    path.write_text(text + "budget: {latency_ms: 100}\nflow:\n  sequence: [a, b]\n")
    composition = compile_composition(read_composition(path))
    assert composition.flow.input_type == "tutti.v1.Text"
    assert any("add up to 130 ms" in w for w in composition.warnings)
