"""YAML that is valid but easy to get wrong: merge keys, boolean labels, anchors, imports."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from router_service import Draft, compile_composition, read_composition
from tutti.errors import CompositionError, ConfigError

HEADER = """\
composition: t
input: tutti.v1.Text
output: tutti.v1.Text
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "composition.yaml"
    path.write_text(HEADER + textwrap.dedent(text))
    return path


def problems_of(draft: Path | Draft) -> list[str]:
    with pytest.raises(CompositionError) as caught:
        compile_composition(draft if isinstance(draft, Draft) else read_composition(draft))
    return [str(problem) for problem in caught.value.problems]


def test_stages_sharing_defaults_through_a_merge_key_may_override_them(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        stages:
          a: &defaults {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text, budget_ms: 100}
          b: {<<: *defaults, endpoint: "127.0.0.1:2"}
          c:
            <<: *defaults
            endpoint: "127.0.0.1:3"
            budget_ms: 250
        flow: {sequence: [a, b, c]}
        """,
    )
    composition = compile_composition(read_composition(path))
    stages = composition.stages
    assert [stages[name].budget_ms for name in "abc"] == [100, 100, 250]  # c's own value wins
    assert [stages[name].endpoint for name in "abc"] == [
        "127.0.0.1:1",
        "127.0.0.1:2",
        "127.0.0.1:3",
    ]
    assert stages["c"].input == "tutti.v1.Text"  # and the rest comes from the defaults


def test_a_key_repeated_beside_a_merge_key_is_still_a_duplicate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        stages:
          a: &defaults {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}
          b:
            <<: *defaults
            budget_ms: 100
            budget_ms: 250
        flow: {sequence: [a, b]}
        """,
    )
    assert problems_of(path) == [f"{path}:9: duplicate key 'budget_ms' (first defined on line 8)"]


def test_a_yes_route_label_asks_to_be_quoted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        stages:
          ask: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Classification}
          a: {endpoint: "127.0.0.1:2", input: tutti.v1.Text, output: tutti.v1.Text}
        flow:
          route:
            by: ask
            cases:
              yes: a
              'no': a
            default: a
        """,
    )
    assert problems_of(path) == [
        f"{path}:11: key True (YAML reads yes/no/on/off as booleans) must be a string: quote it"
    ]


def test_a_flow_anchored_inside_itself_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        stages:
          a: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}
        flow: &f {sequence: [a, *f]}
        """,
    )
    # The YAML loader refuses the cycle before the compiler ever sees it.
    with pytest.raises(ConfigError, match=rf"{path}:6: invalid YAML: .*recursive"):
        read_composition(path)


def test_a_flow_node_that_contains_itself_is_reported_not_recursed_into(tmp_path: Path) -> None:
    """A document built by other means than our loader may still hold the cycle."""
    path = write(
        tmp_path,
        """\
        stages:
          a: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}
        flow:
          sequence: [a]
        """,
    )
    draft = read_composition(path)
    flow = draft.document["flow"]
    flow["sequence"].append(flow)  # what `flow: &f {sequence: [a, *f]}` would build
    assert problems_of(draft) == [f"{path}:7: flow node refers to itself (YAML anchor cycle)"]


def test_imports_given_as_one_string_is_an_error_naming_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        imports: tutti.support.v1.support_pb2
        stages:
          a: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}
        flow: a
        """,
    )
    assert problems_of(path) == [
        f"{path}:4: 'imports' must be a list of module names such as [acme.v1.orders_pb2]"
    ]


def test_a_module_that_fails_while_importing_is_reported_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "broken_types_pb2.py").write_text("raise RuntimeError('descriptor clash')\n")
    path = write(
        tmp_path,
        """\
        imports:
          - tutti.support.v1.support_pb2
          - broken_types_pb2
        stages:
          a: {endpoint: "127.0.0.1:1", input: tutti.v1.Text, output: tutti.v1.Text}
        flow: a
        """,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path))
        problems = problems_of(path)
    assert problems == [
        (
            f"{path}:6: cannot import 'broken_types_pb2' for its message types:"
            " RuntimeError: descriptor clash"
        )
    ]
