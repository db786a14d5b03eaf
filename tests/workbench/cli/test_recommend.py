"""`tutti recommend`: the rules, the starter compositions they write, the prompts and the command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from router_service import compile_composition, read_composition
from workbench.recommend import (
    CATEGORIES,
    SIMPLE_SHARE,
    STRUCTURE,
    Answers,
    Cost,
    Latency,
    Pattern,
    Structure,
    ask,
    questionnaire,
    recommend,
)

ROOT = Path(__file__).resolve().parents[3]
RUN_TIMEOUT_S = 30.0


def answers(
    structure: Structure = Structure.SINGLE,
    simple_share: int = 50,
    latency: Latency = Latency.SECONDS,
    cost: Cost = Cost.MEDIUM,
    categories: int = 0,
) -> Answers:
    return Answers(structure, simple_share, latency, cost, categories)


# One set of answers per pattern (and per variant of a pattern's starter file).
EACH_PATTERN = {
    "sequential": (answers(Structure.STAGES), Pattern.SEQUENTIAL),
    "fan-out": (answers(Structure.PERSPECTIVES, latency=Latency.BATCH), Pattern.FANOUT),
    "router": (answers(Structure.VARYING, 20, categories=3), Pattern.ROUTER),
    "router+escalate": (
        answers(Structure.VARYING, 70, Latency.INTERACTIVE, Cost.HIGH, 3),
        Pattern.ROUTER,
    ),
    "router, many categories": (
        answers(Structure.VARYING, 30, cost=Cost.LOW, categories=12),
        Pattern.ROUTER,
    ),
    "cascade": (answers(Structure.VARYING, 80, categories=0), Pattern.CASCADE),
    "single model": (answers(Structure.SINGLE, 90, cost=Cost.LOW), Pattern.SINGLE_MODEL),
}


def test_distinct_stages_get_a_sequential_composition() -> None:
    result = recommend(answers(Structure.STAGES, 90, Latency.INTERACTIVE, Cost.HIGH, 4))
    assert result.pattern is Pattern.SEQUENTIAL
    assert "sequence: [prepare, answer, review]" in result.composition


def test_several_opinions_get_a_fan_out_with_a_majority_vote() -> None:
    result = recommend(answers(Structure.PERSPECTIVES, latency=Latency.SECONDS, cost=Cost.HIGH))
    assert result.pattern is Pattern.FANOUT
    assert "merge: {by: merger, strategy: majority_vote}" in result.composition
    assert "kind: merger" in result.composition


def test_several_opinions_interactive_and_cost_sensitive_get_a_cascade_with_a_note() -> None:
    result = recommend(answers(Structure.PERSPECTIVES, latency=Latency.INTERACTIVE, cost=Cost.HIGH))
    assert result.pattern is Pattern.CASCADE
    assert "Note:" in result.reason and "fan-out" in result.reason


def test_known_categories_get_a_router_citing_the_count() -> None:
    result = recommend(answers(Structure.VARYING, 30, cost=Cost.LOW, categories=3))
    assert result.pattern is Pattern.ROUTER
    assert "3 known categories" in result.reason
    assert "default: general" in result.composition
    assert "escalate:" not in result.composition


def test_cost_sensitive_router_with_mostly_simple_requests_escalates() -> None:
    for cost in (Cost.MEDIUM, Cost.HIGH):
        result = recommend(answers(Structure.VARYING, 50, cost=cost, categories=2))
        assert result.pattern is Pattern.ROUTER
        assert "escalate: {below: 0.5, to: general}" in result.composition
        assert f"{cost} cost sensitivity and 50% simple requests" in result.reason


def test_varying_requests_without_categories_but_mostly_simple_get_a_cascade() -> None:
    for categories in (0, 1):
        result = recommend(answers(Structure.VARYING, 60, categories=categories))
        assert result.pattern is Pattern.CASCADE
        assert "60% are simple" in result.reason
        assert "below: 0.7" in result.composition


def test_varying_requests_without_categories_and_mostly_hard_get_one_strong_model() -> None:
    assert recommend(answers(Structure.VARYING, 20)).pattern is Pattern.SINGLE_MODEL


def test_one_uniform_task_gets_a_single_model() -> None:
    result = recommend(answers(Structure.SINGLE, 30, cost=Cost.HIGH))
    assert result.pattern is Pattern.SINGLE_MODEL
    assert "flow: model" in result.composition


def test_one_uniform_task_mostly_simple_and_cost_sensitive_gets_a_cascade() -> None:
    assert recommend(answers(Structure.SINGLE, 80, cost=Cost.HIGH)).pattern is Pattern.CASCADE
    assert recommend(answers(Structure.SINGLE, 100, cost=Cost.HIGH)).pattern is Pattern.SINGLE_MODEL


@pytest.mark.parametrize(
    ("latency", "budget_ms"),
    [(Latency.INTERACTIVE, 800), (Latency.SECONDS, 5000), (Latency.BATCH, 60000)],
)
def test_the_latency_need_sets_the_budget(latency: Latency, budget_ms: int) -> None:
    result = recommend(answers(latency=latency))
    assert f"latency_ms: {budget_ms}," in result.composition
    assert f"{budget_ms} ms" in result.reason


@pytest.mark.parametrize("case", list(EACH_PATTERN), ids=list(EACH_PATTERN))
def test_every_starter_composition_compiles_cleanly(case: str, tmp_path: Path) -> None:
    given, pattern = EACH_PATTERN[case]
    result = recommend(given)
    assert result.pattern is pattern
    path = tmp_path / "composition.yaml"
    path.write_text(result.composition, encoding="utf-8")
    composition = compile_composition(read_composition(path))
    assert composition.input_type == "tutti.v1.Text"
    assert composition.warnings == ()
    assert all(spec.serve is not None for spec in composition.stages.values() if not spec.is_merger)


# -- the prompt loop, driven through injected input and output -----------------


def test_an_invalid_answer_is_asked_again_then_the_valid_one_is_taken() -> None:
    replies = iter(["sideways", "varying"])
    shown: list[str] = []
    assert ask(STRUCTURE, lambda prompt: next(replies), shown.append) is Structure.VARYING
    assert any("expected one of stages, varying, perspectives, single" in line for line in shown)
    assert any("distinct processing stages" in line for line in shown)  # the choices are shown


def test_an_out_of_range_number_is_asked_again() -> None:
    replies = iter(["150", "lots", "70%"])
    shown: list[str] = []
    assert ask(SIMPLE_SHARE, lambda prompt: next(replies), shown.append) == 70
    assert sum("try again" in line for line in shown) == 2


def test_enter_takes_the_default_shown_in_the_prompt() -> None:
    prompts: list[str] = []

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return ""

    assert ask(CATEGORIES, read, lambda line: None) == 0
    assert prompts == ["categories [0]: "]


def test_a_whole_interactive_session_writes_the_recommended_file(tmp_path: Path) -> None:
    replies = iter(["varying", "80", "interactive", "high", "4"])
    shown: list[str] = []
    out = tmp_path / "support.yaml"
    code = questionnaire(
        structure=None,
        simple_share=None,
        latency=None,
        cost=None,
        categories=None,
        out=str(out),
        force=False,
        interactive=True,
        read=lambda prompt: next(replies),
        write=shown.append,
    )
    assert code == 0
    assert "recommendation: router" in shown
    assert "escalate:" in out.read_text(encoding="utf-8")


def test_end_of_input_at_a_prompt_quits_with_130_and_writes_nothing(tmp_path: Path) -> None:
    def read(prompt: str) -> str:
        raise EOFError

    out = tmp_path / "composition.yaml"
    code = questionnaire(
        structure="stages",
        simple_share=None,
        latency=None,
        cost=None,
        categories=None,
        out=str(out),
        force=False,
        interactive=True,
        read=read,
        write=lambda line: None,
    )
    assert code == 130
    assert not out.exists()


# -- the command, run as a real process without a terminal ----------------------

FLAGS = (
    "--structure",
    "varying",
    "--simple-share",
    "70",
    "--latency",
    "interactive",
    "--cost",
    "high",
    "--categories",
    "3",
)


def tutti(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m workbench ARGS` with stdin that is not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        env={**os.environ, "OTEL_SDK_DISABLED": "true"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def test_recommend_writes_the_file_and_says_check_lists_its_placeholders(tmp_path: Path) -> None:
    out = tmp_path / "support.yaml"
    result = tutti("recommend", *FLAGS, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "recommendation: router" in result.stdout
    assert f"wrote {out}; its models are named placeholders" in result.stdout
    assert f"`tutti check {out}` lists" in result.stdout
    check = tutti("check", str(out))
    # Never a starter that check passes and up refuses: the triage and 3 + 1 factories.
    assert check.returncode == 1, check.stdout
    assert check.stdout.splitlines()[0] == f"{out}: 5 errors"


def test_recommend_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "composition.yaml"
    out.write_text("mine\n", encoding="utf-8")
    refused = tutti("recommend", *FLAGS, "--out", str(out))
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert out.read_text(encoding="utf-8") == "mine\n"
    forced = tutti("recommend", *FLAGS, "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert out.read_text(encoding="utf-8").startswith("# A starter router composition")


def test_a_missing_flag_without_a_terminal_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "composition.yaml"
    result = tutti("recommend", *FLAGS[:6], "--categories", "3", "--out", str(out))
    assert result.returncode == 2
    assert "missing --cost" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_an_out_of_range_flag_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    result = tutti("recommend", *FLAGS, "--simple-share", "150", "--out", str(tmp_path / "c.yaml"))
    assert result.returncode == 2
    assert "--simple-share: expected 0-100, not 150" in result.stderr


def test_help_describes_every_flag_and_shows_a_scripted_call() -> None:
    result = tutti("recommend", "--help")
    assert result.returncode == 0
    for flag in ("--structure", "--simple-share", "--latency", "--cost", "--categories", "--out"):
        assert flag in result.stdout
    assert "tutti recommend --structure varying --simple-share 70" in result.stdout
