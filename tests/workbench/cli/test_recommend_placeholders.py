"""The starter without data: named placeholders that `tutti check` lists until each is filled in."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from router_service import read_composition
from specialist_service import training
from workbench.check import check
from workbench.recommend import (
    PLACEHOLDER_MODULE,
    Answers,
    Cost,
    Latency,
    Pattern,
    Structure,
    recommend,
)

EACH_PATTERN = {
    Pattern.SEQUENTIAL: Answers(Structure.STAGES, 50, Latency.SECONDS, Cost.MEDIUM, 0),
    Pattern.FANOUT: Answers(Structure.PERSPECTIVES, 50, Latency.BATCH, Cost.MEDIUM, 0),
    Pattern.ROUTER: Answers(Structure.VARYING, 70, Latency.INTERACTIVE, Cost.HIGH, 16),
    Pattern.CASCADE: Answers(Structure.VARYING, 80, Latency.SECONDS, Cost.MEDIUM, 0),
    Pattern.SINGLE_MODEL: Answers(Structure.SINGLE, 90, Latency.SECONDS, Cost.LOW, 0),
}
PROBLEM = re.compile(r"^  (?P<file>.+):(?P<line>\d+): stage '(?P<stage>[^']+)': (?P<what>.*)$")


def starter(pattern: Pattern, folder: Path) -> Path:
    result = recommend(EACH_PATTERN[pattern])
    assert result.pattern is pattern
    path = folder / "composition.yaml"
    path.write_text(result.composition)
    return path


def checked(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = check([str(path)])
    return code, capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("pattern", list(EACH_PATTERN), ids=[str(p) for p in EACH_PATTERN])
def test_check_lists_every_placeholder_of_every_starter_at_its_serve_line(
    pattern: Pattern, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(pattern, tmp_path)
    served = {n for n, s in read_composition(path).stages.items() if s.serve and not s.is_merger}

    code, lines = checked(path, capsys)

    assert code == 1
    assert lines[0] == f"{path}: {len(served)} error{'s' if len(served) > 1 else ''}"
    problems = [PROBLEM.match(line) for line in lines[1:]]
    assert all(problems), lines
    assert {p["stage"] for p in problems if p} == served
    text = path.read_text().splitlines()
    for problem in problems:
        assert problem is not None and problem["file"] == str(path)
        assert text[int(problem["line"]) - 1].lstrip().startswith("serve:"), problem
        stage = problem["stage"]
        assert problem["what"] in (
            f"model: model file models/{stage}/model.joblib does not exist (relative to the"
            " composition's folder): train it with `tutti train DATA --model cheap --out"
            f" {os.path.relpath(tmp_path / 'models' / stage)}`, or write a trained starter with"
            " `tutti recommend --data DATA`",
            f"factory: no module {PLACEHOLDER_MODULE} to import (looked beside the composition"
            f" and on the Python path): write {PLACEHOLDER_MODULE}.py with a callable {stage},"
            " or point `factory` at your own model",
        )


@pytest.mark.parametrize("pattern", list(EACH_PATTERN), ids=[str(p) for p in EACH_PATTERN])
def test_every_model_stage_of_every_starter_has_a_price(pattern: Pattern, tmp_path: Path) -> None:
    stages = read_composition(starter(pattern, tmp_path)).stages
    for spec in stages.values():
        if not spec.is_merger:
            assert spec.price is not None and spec.price.per_call_usd > 0, spec.name


def test_the_router_starter_has_a_case_for_every_category(tmp_path: Path) -> None:
    draft = read_composition(starter(Pattern.ROUTER, tmp_path))
    cases = dict(draft.document["flow"]["route"]["cases"])
    assert cases == {f"category_{n}": f"category_{n}" for n in range(1, 17)}
    assert set(cases) <= set(draft.stages)


def fill_in_the_router(path: Path, define: list[str]) -> None:
    """Train the triage's model file and write the factories named in `define`."""
    rows = training.LabelledData(
        ("password reset", "forgot password", "invoice wrong", "refund invoice"),
        ("category_1", "category_1", "category_2", "category_2"),
        "tickets.csv",
    )
    training.train(rows, "cheap", path.parent / "models" / "triage", log=lambda _: None)
    factories = "".join(f"def {name}():\n    return Reply()\n\n\n" for name in define)
    (path.parent / f"{PLACEHOLDER_MODULE}.py").write_text(
        "class Reply:\n    def predict(self, message):\n        return message\n\n\n" + factories
    )


def test_the_router_starter_passes_check_once_every_placeholder_is_filled_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(Pattern.ROUTER, tmp_path)
    fill_in_the_router(path, [*(f"category_{n}" for n in range(1, 17)), "general"])

    code, lines = checked(path, capsys)

    assert code == 0, lines
    assert lines[0].startswith(f"{path}: ok: composition 'starter'")


def test_a_factory_its_module_does_not_define_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = starter(Pattern.ROUTER, tmp_path)
    fill_in_the_router(path, [f"category_{n}" for n in range(1, 17)])

    code, lines = checked(path, capsys)

    assert code == 1
    module = tmp_path / f"{PLACEHOLDER_MODULE}.py"
    assert lines[1:] == [
        f"  {path}:{lines[1].split(':')[1]}: stage 'general': factory: {module} defines no general"
    ]


def test_a_module_that_may_define_anything_is_left_to_the_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A star import or a module __getattr__ may define the factory: check cannot tell."""
    path = starter(Pattern.SINGLE_MODEL, tmp_path)
    module = tmp_path / f"{PLACEHOLDER_MODULE}.py"
    for source in ("from json import *\n", "def __getattr__(name):\n    return None\n"):
        module.write_text(source)
        assert checked(path, capsys)[0] == 0, source
    module.write_text("if True:\n    def model():\n        return None\n")
    assert checked(path, capsys)[0] == 0
