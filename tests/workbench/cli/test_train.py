"""`tutti train` on a user's own file: clear errors, deterministic versions, dev scores, names, a model the sklearn backend serves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from specialist_service import SpecialistConfig, build_backend
from tutti.support.v1 import support_pb2

ROOT = Path(__file__).resolve().parents[3]

ROWS = [
    ("I forgot my password", "passcode_forgotten"),
    ("cannot remember my passcode", "passcode_forgotten"),
    ("reset my pin code please", "passcode_forgotten"),
    ("where is my new card", "card_arrival"),
    ("my card has not arrived yet", "card_arrival"),
    ("card still not delivered", "card_arrival"),
    ("I was charged twice", "transaction_charged_twice"),
    ("double payment on my statement", "transaction_charged_twice"),
    ("the same purchase shows up two times", "transaction_charged_twice"),
]


def tutti(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_csv(path: Path, header: str, rows: list[tuple[str, str]]) -> Path:
    lines = [header] + [f'"{text}",{label}' for text, label in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_training_the_same_data_with_the_same_seed_gives_the_same_version(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    first = tutti("train", str(data), "--model", "cheap", "--out", str(tmp_path / "a"))
    second = tutti("train", str(data), "--model", "cheap", "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    card_a = json.loads((tmp_path / "a" / "model.json").read_text())
    card_b = json.loads((tmp_path / "b" / "model.json").read_text())
    assert card_a["version"] == card_b["version"]
    assert (tmp_path / "a" / "model.joblib").read_bytes() == (
        tmp_path / "b" / "model.joblib"
    ).read_bytes()
    assert card_a["labels"] == ["card_arrival", "passcode_forgotten", "transaction_charged_twice"]
    assert card_a["examples"] == len(ROWS)


def test_a_trained_model_is_served_by_the_sklearn_backend_with_its_content_hash_as_version(
    tmp_path: Path,
) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    assert (
        tutti("train", str(data), "--model", "cheap", "--out", str(tmp_path / "m")).returncode == 0
    )
    config = SpecialistConfig.from_mapping(
        {
            "backend": "sklearn",
            "model": str(tmp_path / "m" / "model.joblib"),
            "input": "tutti.support.v1.Ticket",
        },
        stage="triage",
    )
    backend = build_backend(config)
    assert backend.version == json.loads((tmp_path / "m" / "model.json").read_text())["version"]
    import asyncio

    prediction = asyncio.run(backend.predict(support_pb2.Ticket(text="my card never arrived")))
    assert prediction.output.label == "card_arrival"


def test_a_specialist_trains_on_its_departments_labels_only(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        "cards: [card_arrival, passcode_forgotten]\npayments: [transaction_charged_twice]\n"
    )
    result = tutti(
        "train", str(data), "--model", "specialist", "--departments", str(departments),
        "--department", "cards", "--out", str(tmp_path / "s"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s" / "model.json").read_text())["labels"] == [
        "card_arrival",
        "passcode_forgotten",
    ]


@pytest.mark.parametrize(
    ("case", "header", "rows", "message"),
    [
        ("bad_column", "body,label", ROWS, r"no column 'text' \(found: 'body', 'label'\)"),
        ("empty_file", "", [], r"the file is empty"),
        ("header_only", "text,label", [], r"a header but no rows"),
        ("one_class", "text,label", [("a", "x"), ("b", "x")], r"only one class \('x'\)"),
        ("empty_label", "text,label", [("a", "x"), ("b", "")], r":3: empty 'label' in this row"),
    ],
)
def test_bad_training_files_fail_with_a_clear_message(
    tmp_path: Path, case: str, header: str, rows, message: str
) -> None:
    path = tmp_path / f"{case}.csv"
    if header:
        write_csv(path, header, rows)
    else:
        path.write_text("")
    result = tutti("train", str(path), "--model", "cheap", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, result.stderr), result.stderr
    assert str(path) in result.stderr
    assert not (tmp_path / "out" / "model.joblib").exists()


DEV = [
    ("my card never came", "card_arrival"),
    ("I forgot my passcode", "passcode_forgotten"),
    ("charged twice for one purchase", "transaction_charged_twice"),
    ("please close my account", "account_closure"),  # a label the model never saw
]


def test_dev_accuracy_is_printed_and_kept_in_model_json_with_the_name(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    dev = write_csv(tmp_path / "dev.csv", "text,label", DEV)
    result = tutti(
        "train", str(data), "--model", "cheap", "--dev", str(dev), "--out", str(tmp_path / "m"),
        "--name", "desk-intents",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["name"] == "desk-intents"
    assert card["dev"]["file"] == "dev.csv"
    assert card["dev"]["examples"] == 3
    assert card["dev"]["unseen"] == {"examples": 1, "labels": {"account_closure": 1}}
    accuracy = card["dev"]["accuracy"]
    assert f"dev dev.csv: accuracy {accuracy:.3f}" in result.stdout
    assert "1 row with a label the model never saw, not scored: account_closure (1)" in (
        result.stdout
    )
    assert "name desk-intents" in result.stdout


def test_a_bad_dev_file_fails_before_training_and_names_itself(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    dev = write_csv(tmp_path / "dev.csv", "body,label", DEV)
    result = tutti(
        "train", str(data), "--model", "cheap", "--dev", str(dev), "--out", str(tmp_path / "m")
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{dev}:1: no column 'text'" in result.stderr
    assert "training a cheap model" not in result.stdout
    assert not (tmp_path / "m").exists()


def test_a_one_label_department_gets_the_same_trivial_model_in_every_process(
    tmp_path: Path,
) -> None:
    data = write_csv(tmp_path / "tickets.csv", "text,label", ROWS)
    departments = tmp_path / "departments.yaml"
    departments.write_text(
        "cards: [card_arrival, passcode_forgotten]\npayments: [transaction_charged_twice]\n"
    )
    payments = ["--departments", str(departments), "--department", "payments"]
    runs = [
        tutti("train", str(data), "--model", "specialist", *payments, "--out", str(tmp_path / out))
        for out in ("a", "payments")
    ]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    assert "a trivial model that always answers 'transaction_charged_twice'" in runs[0].stdout
    card_a = json.loads((tmp_path / "a" / "model.json").read_text())
    card_b = json.loads((tmp_path / "payments" / "model.json").read_text())
    assert card_a["trivial"] is True and card_a["labels"] == ["transaction_charged_twice"]
    assert (card_a["name"], card_b["name"]) == ("a", "payments")
    assert card_a["version"] == card_b["version"]
    assert (tmp_path / "a" / "model.joblib").read_bytes() == (
        tmp_path / "payments" / "model.joblib"
    ).read_bytes()


def test_train_help_shows_an_example_of_each_kind() -> None:
    result = tutti("train", "--help")
    assert result.returncode == 0, result.stderr
    examples = result.stdout.split("examples:", 1)[1]
    for kind in ("--model cheap", "--model strong", "--predict-department", "--model specialist"):
        assert kind in examples, kind
    assert "--dev FILE" in result.stdout and "--name NAME" in result.stdout
