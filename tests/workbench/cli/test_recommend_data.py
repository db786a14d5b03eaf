"""`tutti recommend --data`: trained models, a composition that check passes, up serves and routes."""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from router_service import compile_composition, read_composition
from tests.workbench.cli.running import Up, free_port, tutti
from tutti.messages import CLASSIFICATION

TRAIN_TIMEOUT_S = 120.0
# Six categories a bag of words tells apart: each text holds two of its category's keywords.
KEYWORDS = {
    "billing": ("invoice", "bill", "charge", "refund"),
    "shipping": ("parcel", "delivery", "courier", "tracking"),
    "account": ("password", "login", "username", "locked"),
    "cards": ("card", "pin", "atm", "contactless"),
    "loans": ("loan", "mortgage", "interest", "repayment"),
    "app": ("app", "crash", "update", "screen"),
}
OPENINGS = (
    "please help with my",
    "I have a question about the",
    "there is a problem with my",
    "why is my",
    "can you check the",
)
# Shipping alone is a department of one label: its specialist is a constant model.
DEPARTMENTS = "money: [billing, loans]\nlogistics: [shipping]\nsupport: [account, cards, app]\n"


def labelled_rows(per_label: int = 12, seed: int = 0) -> list[tuple[str, str]]:
    draw = random.Random(seed)
    return [
        (f"{draw.choice(OPENINGS)} {draw.choice(words)} {draw.choice(words)}", label)
        for label, words in KEYWORDS.items()
        for _ in range(per_label)
    ]


def write_labelled(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    path.write_text("\n".join([header, *(f'"{text}",{label}' for text, label in rows)]) + "\n")
    return path


@dataclass(frozen=True)
class Recommended:
    composition: Path
    stdout: str


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


# -- the default: a cascade of a cheap and a strong model ------------------------------


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
        for spec in stages.values():
            assert spec.price is not None and spec.price.per_call_usd > 0, spec.name
        assert all(
            stages["strong"].price.per_call_usd > s.price.per_call_usd  # type: ignore[union-attr]
            for name, s in stages.items()
            if name != "strong"
        )
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


# -- what is refused ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "tickets.csv:1: the file is empty"),
        ("words,category\nhello,greeting\n", "tickets.csv:1: no column 'text', 'label'"),
        ("text,label\nhello,greeting\n,greeting\n", "tickets.csv:3: empty 'text' in this row"),
        ("text,label\nhello,greeting\nhi,greeting\n", "tickets.csv: one label only ('greeting')"),
        (None, "tickets.csv: cannot read"),
    ],
    ids=["empty", "no such columns", "empty text", "one label", "missing file"],
)
def test_a_bad_data_file_is_an_error_naming_it_and_nothing_is_written(
    content: str | None, error: str, tmp_path: Path
) -> None:
    data = tmp_path / "tickets.csv"
    if content is not None:
        data.write_text(content)
    out = tmp_path / "desk" / "composition.yaml"

    result = tutti("recommend", "--data", str(data), "--strong", "cheap", "--out", str(out))

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"tutti recommend: error: {tmp_path}/{error}" in result.stderr
    assert "nothing trained, nothing written" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "desk").exists()


def test_labels_in_no_department_are_named_before_anything_is_trained(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "tickets.csv", labelled_rows(per_label=3))
    departments = tmp_path / "departments.yaml"
    departments.write_text("money: [billing, loans]\nsupport: [account]\n")

    result = tutti(
        "recommend", "--data", str(data), "--departments", str(departments),
        "--strong", "cheap", "--out", str(tmp_path / "desk" / "composition.yaml"),
    )  # fmt: skip

    assert result.returncode == 2
    assert "labels in no department: app, cards, shipping" in result.stderr
    assert not (tmp_path / "desk").exists()


def test_other_columns_are_read_when_named(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "t.csv", labelled_rows(per_label=4), header="body,intent")
    out = tmp_path / "composition.yaml"

    result = tutti(
        "recommend", "--data", str(data), "--text-column", "body", "--label-column", "intent",
        "--strong", "cheap", "--out", str(out), timeout=TRAIN_TIMEOUT_S,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert card(out, "cheap")["labels"] == sorted(KEYWORDS)


def test_trained_models_are_not_overwritten_without_force(tmp_path: Path) -> None:
    data = write_labelled(tmp_path / "tickets.csv", labelled_rows(per_label=4))
    mine = tmp_path / "models" / "cheap" / "model.joblib"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"my own model")
    out = tmp_path / "composition.yaml"

    refused = tutti("recommend", "--data", str(data), "--strong", "cheap", "--out", str(out))
    assert refused.returncode == 1
    assert f"{mine} already exists; pass --force" in refused.stderr
    assert mine.read_bytes() == b"my own model" and not out.exists()

    forced = tutti(
        "recommend", "--data", str(data), "--strong", "cheap", "--out", str(out), "--force",
        timeout=TRAIN_TIMEOUT_S,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert mine.read_bytes() != b"my own model" and out.exists()


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (("--data", "t.csv", "--categories", "3"), "--categories: with --data the labelled texts"),
        (("--departments", "d.yaml"), "--departments only apply with --data FILE"),
        (("--strong", "cheap", "--seed", "1"), "--strong, --seed only apply with --data FILE"),
    ],
)
def test_flags_that_do_not_go_together_are_a_usage_error(
    flags: tuple[str, ...], error: str, tmp_path: Path
) -> None:
    result = tutti("recommend", *flags, "--out", str(tmp_path / "c.yaml"))
    assert result.returncode == 2
    assert f"tutti recommend: error: {error}" in result.stderr
    assert not (tmp_path / "c.yaml").exists()
