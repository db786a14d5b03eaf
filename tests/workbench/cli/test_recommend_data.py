"""`tutti recommend --data`: trained models, a composition that check passes, up serves and routes."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from router_service import compile_composition, read_composition
from tests.workbench.cli.labelled import KEYWORDS, labelled_rows, write_labelled
from tests.workbench.cli.running import Up, free_port, tutti
from tutti.messages import CLASSIFICATION

TRAIN_TIMEOUT_S = 120.0
# Shipping alone is a department of one label: its specialist is a constant model.
DEPARTMENTS = "money: [billing, loans]\nlogistics: [shipping]\nsupport: [account, cards, app]\n"


@dataclass(frozen=True)
class Recommended:
    composition: Path
    stdout: str  # what `tutti recommend` printed


def recommend_data(folder: Path, *flags: str) -> Recommended:
    """`tutti recommend --data` on the keyword texts, cheap models only, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = write_labelled(folder / "tickets.csv", labelled_rows())
    out = folder / "desk" / "composition.yaml"
    result = tutti(
        "recommend", "--data", str(data), "--strong", "cheap", "--out", str(out), *flags,
        timeout=TRAIN_TIMEOUT_S,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return Recommended(out, result.stdout)


@pytest.fixture(scope="module")
def cascade(tmp_path_factory: pytest.TempPathFactory) -> Recommended:
    return recommend_data(tmp_path_factory.mktemp("cascade"))


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Recommended:
    folder = tmp_path_factory.mktemp("router")
    (folder / "departments.yaml").write_text(DEPARTMENTS)
    return recommend_data(folder, "--departments", str(folder / "departments.yaml"))


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Up, Path]]:
    """The recommended composition brought up by `tutti up`; Ctrl-C'd after."""
    recommended: Recommended = request.getfixturevalue(request.param)
    up = Up.start(str(recommended.composition), free_port(), tmp_path / "stderr.log")
    try:
        yield up, recommended.composition
    finally:
        up.stop(signal.SIGINT)


def card(composition: Path, stage: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (composition.parent / "models" / stage / "model.json").read_text()
    )
    return data


@pytest.mark.parametrize(
    ("served", "text", "label", "first"),
    [
        ("cascade", "there is a problem with my invoice and the refund", "billing", "cheap"),
        ("router", "I am locked out and forgot my password", "account", "triage"),
    ],
    indirect=["served"],
)
def test_the_recommended_composition_is_checked_served_and_routes_an_obvious_text_right(
    served: tuple[Up, Path], text: str, label: str, first: str
) -> None:
    up, composition = served
    check = tutti("check", str(composition))
    assert check.returncode == 0, check.stdout
    assert "tutti.v1.Text -> tutti.v1.Classification" in check.stdout

    result = tutti(
        "route", str(composition), "--router", up.endpoints["router"],
        "--json", json.dumps({"text": text}),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr + up.output()
    answer = json.loads(result.stdout)
    assert answer["output"]["label"] == label
    assert answer["execution"]["stages"][0]["stage"] == first


def test_the_cascade_is_a_cheap_model_then_the_strong_one_over_every_category(
    cascade: Recommended,
) -> None:
    composition = compile_composition(read_composition(cascade.composition))
    assert (composition.input_type, composition.output_type) == ("tutti.v1.Text", CLASSIFICATION)
    assert list(composition.stages) == ["cheap", "strong"]
    text = cascade.composition.read_text()
    assert "cascade:\n    steps: [cheap, strong]" in text
    assert "recommendation: cascade" in cascade.stdout
    for stage in ("cheap", "strong"):
        assert card(cascade.composition, stage)["labels"] == sorted(KEYWORDS)
        spec = composition.stages[stage]
        assert spec.serve is not None
        assert dict(spec.serve) == {"backend": "sklearn", "model": f"models/{stage}/model.joblib"}
    listed = text.split("categories (labels) found in", 1)[1]
    assert all(label in listed for label in KEYWORDS)


def test_every_stage_has_a_placeholder_price_the_strong_one_dearer(
    cascade: Recommended, router: Recommended
) -> None:
    for recommended in (cascade, router):
        stages = read_composition(recommended.composition).stages
        prices = {n: s.price.per_call_usd for n, s in stages.items() if s.price is not None}
        assert set(prices) == set(stages)
        strong = prices.pop("strong")
        assert all(0 < price < strong for price in prices.values()), prices
        assert "# Prices are placeholders" in recommended.composition.read_text()


def test_the_next_commands_end_the_file_and_are_printed(cascade: Recommended) -> None:
    text = cascade.composition.read_text()
    tail = text[text.index("# Next") :]
    for command in (
        "tutti tune composition.yaml --data DEV --max-cost-share 0.25 --write",
        "tutti eval composition.yaml --data TEST",
        "tutti up composition.yaml",
    ):
        assert f"#   {command}\n" in tail
    path = cascade.composition
    for command in (
        f"tutti tune {path} --data DEV --max-cost-share 0.25 --write",
        f"tutti eval {path} --data TEST",
        f"tutti up {path}",
    ):
        assert f"  {command}\n" in cascade.stdout
    assert "# Endpoints: `tutti up` serves each stage on a port of its own" in text


# -- with departments: a triage and a specialist per department -----------------------


def test_departments_get_a_triage_a_specialist_each_and_the_strong_model_for_the_unsure(
    router: Recommended,
) -> None:
    draft = read_composition(router.composition)
    composition = compile_composition(draft)
    assert list(composition.stages) == ["triage", "logistics", "money", "support", "strong"]
    route = draft.document["flow"]["route"]
    assert dict(route["cases"]) == {
        "logistics": "logistics",
        "money": "money",
        "support": "support",
    }
    assert route["default"] == "strong"
    assert dict(route["escalate"]) == {"below": 0.5, "to": "strong"}
    assert card(router.composition, "triage")["labels"] == ["logistics", "money", "support"]
    assert card(router.composition, "money")["labels"] == ["billing", "loans"]
    assert card(router.composition, "support")["labels"] == ["account", "app", "cards"]
    assert card(router.composition, "logistics")["trivial"] is True
    assert card(router.composition, "strong")["labels"] == sorted(KEYWORDS)
    assert "recommendation: router" in router.stdout


def test_other_columns_are_read_when_named_and_the_budget_follows_the_flags(
    tmp_path: Path,
) -> None:
    data = write_labelled(tmp_path / "t.csv", labelled_rows(per_label=4), header="body,intent")
    out = tmp_path / "composition.yaml"

    result = tutti(
        "recommend", "--data", str(data), "--text-column", "body", "--label-column", "intent",
        "--latency", "interactive", "--cost", "high", "--strong", "cheap", "--out", str(out),
        timeout=TRAIN_TIMEOUT_S,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert card(out, "cheap")["labels"] == sorted(KEYWORDS)
    assert "\nbudget: {latency_ms: 800, cost_usd: 0.01}" in out.read_text()
