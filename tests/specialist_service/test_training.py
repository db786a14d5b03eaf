"""Training on known data: dev accuracy computed by hand, the one-label model, the served name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from specialist_service import SpecialistConfig, training
from tutti.errors import ConfigError
from tutti.messages import pack
from tutti.support.v1 import support_pb2
from tutti.v1 import payloads_pb2, stage_pb2

if TYPE_CHECKING:
    from tests.specialist_service.conftest import Serve

# Each label's texts hold its keyword, and only its keyword tells the labels apart:
# the fillers are shared. So a dev text with a keyword is answered with that keyword's label.
KEYWORDS = {"billing": "invoice", "technical": "crash", "account": "password"}
FILLERS = ["please help", "it happened again", "since monday", "on my phone", "urgent", "thanks"]
TRAINING = training.LabelledData(
    tuple(f"{keyword} {filler}" for keyword in KEYWORDS.values() for filler in FILLERS),
    tuple(label for label in KEYWORDS for _ in FILLERS),
    "train.csv",
)
DEPARTMENTS = {"money": ["billing"], "support": ["technical", "account", "shipping"]}


def dev(*rows: tuple[str, str]) -> training.LabelledData:
    return training.LabelledData(
        tuple(t for t, _ in rows), tuple(label for _, label in rows), "dev.csv"
    )


# Four rows labelled as their keyword says, one that is not, one label never trained on.
DEV = dev(
    ("invoice for last week", "billing"),
    ("crash at start", "technical"),
    ("password is lost", "account"),
    ("my invoice again", "billing"),
    ("crash when I pay", "billing"),  # the model answers technical: wrong
    ("where is my parcel", "shipping"),  # a label the model never saw
)


def card(folder: Path) -> dict[str, object]:
    return dict(json.loads((folder / training.CARD_FILE).read_text()))


def sklearn_config(folder: Path, name: str = "") -> SpecialistConfig:
    mapping = {"backend": "sklearn", "model": str(folder / training.MODEL_FILE)}
    return SpecialistConfig.from_mapping(
        {**mapping, "input": "tutti.support.v1.Ticket", **({"name": name} if name else {})},
        stage="intent",
    )


def test_dev_accuracy_counts_rows_of_known_labels_and_reports_unseen_ones(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    dev_set = training.select_dev(DEV, "cheap", None, None, False)
    artifact = training.train(TRAINING, "cheap", tmp_path / "m", log=lines.append, dev=dev_set)
    assert artifact.dev is not None
    assert (artifact.dev.correct, artifact.dev.examples) == (4, 5)
    assert card(tmp_path / "m")["dev"] == {
        "file": "dev.csv",
        "data_sha256": training.data_sha256(DEV),
        "examples": 5,
        "correct": 4,
        "accuracy": 0.8,
        "unseen": {"examples": 1, "labels": {"shipping": 1}},
    }
    printed = "\n".join(lines)
    assert "dev dev.csv: accuracy 0.800 (4 of 5 rows right)" in printed
    assert "1 row with a label the model never saw, not scored: shipping (1)" in printed
    assert "counting them as wrong, accuracy would be 0.667" in printed


def test_a_triage_is_scored_per_department_and_labels_of_no_department_are_unseen(
    tmp_path: Path,
) -> None:
    selected = training.select_for(TRAINING, "cheap", DEPARTMENTS, None, True, "train.csv")
    rows = dev(
        ("invoice for last week", "billing"),  # money, answered money
        ("password reset", "technical"),  # support, answered support: right at this level
        ("password reset", "billing"),  # money, answered support: wrong
        ("crash again", "technical"),  # support, answered support
        ("a gift for you", "gifts"),  # in no department
    )
    dev_set = training.select_dev(rows, "cheap", DEPARTMENTS, None, True)
    lines: list[str] = []
    training.train(selected, "cheap", tmp_path / "t", log=lines.append, dev=dev_set)
    scored = card(tmp_path / "t")["dev"]
    assert isinstance(scored, dict)
    assert (scored["examples"], scored["correct"], scored["accuracy"]) == (4, 3, 0.75)
    assert scored["departments"] == {
        "money": {"examples": 2, "correct": 1, "accuracy": 0.5},
        "support": {"examples": 2, "correct": 2, "accuracy": 1.0},
    }
    assert scored["unseen"] == {"examples": 1, "labels": {"gifts": 1}}
    assert any(line.split() == ["money", "0.500", "(1", "of", "2)"] for line in lines), lines


def test_a_specialist_is_scored_on_its_own_departments_dev_rows(tmp_path: Path) -> None:
    selected = training.select_for(TRAINING, "specialist", DEPARTMENTS, "support", False, "t")
    dev_set = training.select_dev(DEV, "specialist", DEPARTMENTS, "support", False)
    training.train(selected, "specialist", tmp_path / "s", log=lambda _: None, dev=dev_set)
    scored = card(tmp_path / "s")["dev"]
    assert isinstance(scored, dict)
    # crash and password rows are support's; the three billing rows are money's;
    # shipping is support's by the departments file, but no training row had it.
    assert (scored["examples"], scored["correct"]) == (2, 2)
    assert scored["outside_department"] == 3
    assert scored["unseen"] == {"examples": 1, "labels": {"shipping": 1}}


def test_a_dev_file_of_unseen_labels_only_has_no_accuracy_rather_than_a_crash(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    dev_set = training.select_dev(dev(("a parcel", "shipping")), "cheap", None, None, False)
    artifact = training.train(TRAINING, "cheap", tmp_path / "m", log=lines.append, dev=dev_set)
    assert artifact.dev is not None and artifact.dev.accuracy is None
    assert card(tmp_path / "m")["dev"]["accuracy"] is None  # type: ignore[index]
    assert "dev dev.csv: no row has a label the model knows; nothing to score" in lines


ONE_LABEL = training.select_for(TRAINING, "specialist", DEPARTMENTS, "money", False, "t")


async def test_a_one_label_department_is_served_as_that_label_with_confidence_one(
    tmp_path: Path, serve: Serve
) -> None:
    lines: list[str] = []
    artifact = training.train(ONE_LABEL, "specialist", tmp_path / "money", log=lines.append)
    assert artifact.trivial and artifact.labels == ("billing",)
    assert card(tmp_path / "money")["trivial"] is True
    assert any("a trivial model that always answers 'billing'" in line for line in lines)
    served = await serve(sklearn_config(tmp_path / "money"))
    ticket = support_pb2.Ticket(text="nothing about money at all")
    response = await served.stub.Invoke(stage_pb2.InvokeRequest(input=pack(ticket)))
    decision = payloads_pb2.Classification()
    assert response.output.Unpack(decision)
    assert (decision.label, decision.confidence) == ("billing", 1.0)
    assert dict(decision.scores) == {"billing": 1.0}
    assert (response.model.name, response.model.version) == ("money", artifact.version)


def test_the_one_label_model_has_the_same_bytes_for_the_same_data(tmp_path: Path) -> None:
    first = training.train(ONE_LABEL, "specialist", tmp_path / "a", log=lambda _: None)
    second = training.train(ONE_LABEL, "specialist", tmp_path / "b", log=lambda _: None)
    assert first.version == second.version
    assert first.model_file.read_bytes() == second.model_file.read_bytes()
    other = training.train(
        ONE_LABEL.relabel({"billing": "refunds"}), "specialist", tmp_path / "c", log=lambda _: None
    )
    assert other.version != first.version


@pytest.mark.parametrize("kind", ["cheap", "strong"])
def test_only_a_specialist_may_have_a_single_label(kind: str, tmp_path: Path) -> None:
    """A cheap or strong model of one label is a mistake in the data, not a department."""
    with pytest.raises(ConfigError, match=r"only one class \('billing'\)"):
        training.train(ONE_LABEL, kind, tmp_path / "m", log=lambda _: None)
    assert not (tmp_path / "m").exists()


async def test_a_served_model_is_named_by_its_card_else_by_its_folder(
    tmp_path: Path, serve: Serve
) -> None:
    named = training.train(TRAINING, "cheap", tmp_path / "a", log=lambda _: None, name="desk")
    unnamed = training.train(TRAINING, "cheap", tmp_path / "intents", log=lambda _: None)
    assert (named.name, unnamed.name) == ("desk", "intents")
    # A card that belongs to other bytes (a stale one) does not name this file.
    stale = tmp_path / "billing"
    stale.mkdir()
    stale.joinpath(training.MODEL_FILE).write_bytes(named.model_file.read_bytes())
    stale.joinpath(training.CARD_FILE).write_text('{"name": "old", "version": "0123456789ab"}')
    expected = [
        (sklearn_config(tmp_path / "a"), "desk"),
        (sklearn_config(tmp_path / "intents"), "intents"),
        (sklearn_config(stale), "billing"),
        (sklearn_config(tmp_path / "a", name="from-config"), "from-config"),
    ]
    for config, name in expected:
        served = await serve(config)
        described = await served.stub.Describe(stage_pb2.DescribeRequest())
        assert described.model_card.name == name
        response = await served.stub.Invoke(
            stage_pb2.InvokeRequest(input=pack(support_pb2.Ticket(text="invoice")))
        )
        assert (response.model.name, response.model.version) == (name, named.version)
